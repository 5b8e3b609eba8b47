"""textgru.models.build_classifier: shapes, heads, padding, saving, arguments."""

import keras
import numpy as np
import pytest

import textgru
from textgru.errors import InvalidArgumentError
from textgru.models import build_classifier

IDS = np.array([[5, 6, 7, 8, 0, 0], [1, 2, 0, 0, 0, 0], [9, 0, 0, 0, 0, 0]])


@pytest.mark.parametrize("pooling", ["last", "max", "mean", "concat"])
@pytest.mark.parametrize("bidirectional", [True, False])
def test_poolings_ignore_padding(pooling, bidirectional):
    model = build_classifier(
        20, 2, embed_dim=4, units=3, num_layers=2, pooling=pooling,
        bidirectional=bidirectional,
    )  # fmt: skip
    out = model.predict(IDS, verbose=0)
    assert out.shape == (3, 1)
    assert ((out > 0) & (out < 1)).all()
    # More padding changes nothing: the mask reaches every layer.
    wider = np.pad(IDS, [(0, 0), (0, 5)])
    np.testing.assert_allclose(model.predict(wider, verbose=0), out, atol=1e-6)


def test_multiclass_head_is_a_softmax():
    model = build_classifier(20, 4, embed_dim=4, units=3)
    out = model.predict(IDS, verbose=0)
    assert out.shape == (3, 4)
    np.testing.assert_allclose(out.sum(axis=1), 1.0, rtol=1e-5)
    assert model.head.activation.__name__ == "softmax"


def test_uses_textgru_gru_or_the_given_class():
    ours = build_classifier(20, 2, embed_dim=4, units=3)
    assert isinstance(ours.backbone.recurrent_layers[0].forward_layer, textgru.GRU)
    theirs = build_classifier(20, 2, embed_dim=4, units=3, gru_class=keras.layers.GRU)
    layer = theirs.backbone.recurrent_layers[0].forward_layer
    assert type(layer) is keras.layers.GRU and not layer.reset_after
    assert ours.count_params() == theirs.count_params()


def test_saves_and_reloads(tmp_path):
    model = build_classifier(20, 3, embed_dim=4, units=3, embedding_dropout=0.1)
    model.save(tmp_path / "model.keras")
    again = keras.saving.load_model(tmp_path / "model.keras")
    np.testing.assert_array_equal(
        again.predict(IDS, verbose=0), model.predict(IDS, verbose=0)
    )


def test_trains():
    model = build_classifier(20, 2, embed_dim=4, units=3)
    model.compile("adam", "binary_crossentropy")
    loss = model.train_on_batch(IDS, np.array([1, 0, 1]))
    assert np.isfinite(loss)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"num_classes": 1}, "at least 2 classes"),
        ({"pooling": "sum"}, "pooling"),
        ({"dropout": 1.0}, "dropout"),
        ({"num_layers": 0}, "num_layers"),
        ({"vocab_size": 0}, "vocab_size"),
    ],
)
def test_bad_arguments(kwargs, match):
    arguments = {"vocab_size": 20, "num_classes": 2, **kwargs}
    with pytest.raises(InvalidArgumentError, match=match):
        build_classifier(**arguments)
