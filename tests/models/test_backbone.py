"""GRUBackbone: the embedding and GRU stack every model shares, reached by
attribute; its states, its mask, its config and its saving."""

import copy

import keras
import numpy as np
import pytest

import textgru
from textgru.layers import MGUCell
from textgru.models import GRUBackbone, TextClassifier, build_language_model

IDS = np.array([[3, 4, 5, 0, 0], [6, 7, 8, 9, 2]])


@pytest.mark.layers
@pytest.mark.parametrize("bidirectional", [False, True])
def test_states_and_mask(bidirectional):
    backbone = GRUBackbone(
        12, embed_dim=4, units=3, num_layers=2, bidirectional=bidirectional
    )
    sequence, last = backbone(IDS)
    width = 6 if bidirectional else 3
    assert tuple(sequence.shape) == (2, 5, width) and tuple(last.shape) == (2, width)
    mask = keras.ops.convert_to_numpy(backbone.compute_mask(IDS)[0])
    np.testing.assert_array_equal(mask, IDS != 0)
    # Padding changes nothing for the real tokens, and the final state is the
    # state at the last real token (forward half).
    alone = keras.ops.convert_to_numpy(backbone(IDS[:1, :3])[0])
    sequence = keras.ops.convert_to_numpy(sequence)
    np.testing.assert_allclose(sequence[:1, :3], alone, atol=1e-6)
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(last)[0, :3], sequence[0, 2, :3], atol=1e-6
    )


@pytest.mark.layers
def test_parts_by_attribute_and_config_round_trip():
    backbone = GRUBackbone(12, embed_dim=4, units=3, num_layers=2, cell=MGUCell)
    backbone(IDS)
    assert backbone.token_embedding.input_dim == 12
    assert [type(x.cell) for x in backbone.recurrent_layers] == [MGUCell, MGUCell]
    config = backbone.get_config()
    assert config["cell"] == "textgru>MGUCell" and config["gru_class"] == "textgru"
    clone = GRUBackbone.from_config(copy.deepcopy(config))
    assert clone.get_config() == config
    clone(IDS)
    clone.set_weights(backbone.get_weights())
    for mine, theirs in zip(clone(IDS), backbone(IDS), strict=True):
        np.testing.assert_allclose(
            keras.ops.convert_to_numpy(mine), keras.ops.convert_to_numpy(theirs)
        )


def test_a_model_over_a_backbone_saves_and_reloads(tmp_path):
    backbone = GRUBackbone(12, embed_dim=4, units=3, cell=MGUCell)
    model = TextClassifier(backbone, num_classes=3, pooling="concat")
    model.save(tmp_path / "m.keras")
    again = keras.saving.load_model(tmp_path / "m.keras")
    assert isinstance(again, TextClassifier) and isinstance(again.backbone, GRUBackbone)
    assert type(again.backbone.recurrent_layers[0].cell) is MGUCell
    np.testing.assert_array_equal(
        again.predict(IDS, verbose=0), model.predict(IDS, verbose=0)
    )


def test_language_model_reset_states_and_tied_head():
    model = build_language_model(
        12, embed_dim=4, units=6, tie_embeddings=True, stateful=True, batch_size=2
    )
    assert model.logits is None and model.projection.units == 4
    first = model.predict_on_batch(IDS)
    assert not np.allclose(model.predict_on_batch(IDS), first)
    model.reset_states()
    np.testing.assert_allclose(model.predict_on_batch(IDS), first, rtol=1e-6)


def test_bad_arguments_are_one_line_errors():
    with pytest.raises(textgru.InvalidArgumentError, match="gru_class"):
        GRUBackbone(12, gru_class="torch")
    with pytest.raises(textgru.InvalidArgumentError, match="embedding_dropout_mode"):
        GRUBackbone(12, embedding_dropout_mode="words")
    with pytest.raises(textgru.InvalidArgumentError, match="GRUBackbone"):
        TextClassifier(keras.layers.Dense(3), num_classes=2)
