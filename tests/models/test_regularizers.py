"""The classifier's regularizers, by their mechanics: adversarial training on
the embeddings (the regressor's too), word dropout and label smoothing."""

import keras
import numpy as np
import pytest

from textgru.errors import InvalidArgumentError
from textgru.models import GRUBackbone, build_classifier
from textgru.models import adversarial as adversarial_training
from textgru.models.regressor import TextRegressor, build_regressor
from textgru.tasks import ClassifierConfig
from textgru.tasks.classification import CLASSIFY
from textgru.training.losses import SmoothedSparseCrossentropy, classification_loss

IDS = np.array([[3, 4, 5, 6, 0, 0], [7, 8, 9, 2, 3, 4], [5, 5, 6, 0, 0, 0]])
LABELS = np.array([[1.0], [0.0], [1.0]], dtype="float32")


# Each model with adversarial training: its builder and loss (by name).
KINDS = {
    "classifier": (lambda **kw: build_classifier(12, 2, **kw), "binary_crossentropy"),
    "regressor": (lambda **kw: build_regressor(12, target_mean=0.5, **kw), "mse"),
}


def _model(adversarial=0.0, dropout=0.0, kind="classifier"):
    keras.utils.set_random_seed(3)
    build, _ = KINDS[kind]
    return build(embed_dim=5, units=4, dropout=dropout, adversarial=adversarial)


def _loss(model, perturbation=None, weights=None):
    """The mean loss on IDS, with `weights` in place of the trainable ones."""
    weights = weights or [v.value for v in model.trainable_variables]
    predicted, _ = model.stateless_call(
        weights,
        [v.value for v in model.non_trainable_variables],
        IDS,
        training=True,  # no dropout in these models: the same as inference
        embedding_perturbation=perturbation,
    )
    loss = keras.losses.get(KINDS[_kind(model)][1])
    return keras.ops.mean(loss(LABELS, predicted))


def _kind(model):
    return "regressor" if isinstance(model, TextRegressor) else "classifier"


def _gradients(loss, *args):
    """The gradients of the scalar `loss(*args)` with respect to each argument
    (a tensor or a list of them), by the backend's own autodiff."""
    if keras.backend.backend() == "jax":
        import jax

        return jax.grad(loss, argnums=tuple(range(len(args))))(*args)
    import tensorflow as tf

    args = [tf.nest.map_structure(tf.convert_to_tensor, a) for a in args]
    with tf.GradientTape() as tape:
        tape.watch(args)
        value = loss(*args)
    return tape.gradient(value, args)


def _numpy(x):
    return keras.ops.convert_to_numpy(x)


def _gradient_to_embeddings(model):
    zeros = np.zeros((*IDS.shape, 5), "float32")
    (gradient,) = _gradients(lambda p: _loss(model, p), zeros)
    return _numpy(gradient)


def _embeddings(model):
    looked_up = _numpy(model.backbone.token_embedding(IDS))
    return looked_up * (IDS != 0)[..., None]


@pytest.mark.layers
def test_adversarial_perturbation_has_the_requested_norm_along_the_gradient():
    rng = np.random.default_rng(0)
    gradient = rng.normal(size=(3, 6, 5)).astype("float32")
    gradient[2] = 0.0  # a text whose loss does not move
    embeddings = rng.normal(size=(3, 6, 5)).astype("float32")
    r = _numpy(adversarial_training.adversarial_perturbation(gradient, embeddings, 0.1))
    norms = np.linalg.norm(r.reshape(3, -1), axis=1)
    wanted = 0.1 * np.linalg.norm(embeddings.reshape(3, -1), axis=1)
    np.testing.assert_allclose(norms[:2], wanted[:2], rtol=1e-5)
    assert norms[2] == 0.0
    for i in range(2):  # parallel to the gradient, same way round
        cosine = (r[i] * gradient[i]).sum() / (norms[i] * np.linalg.norm(gradient[i]))
        assert cosine == pytest.approx(1.0, abs=1e-5)


@pytest.mark.layers
def test_adversarial_perturbation_raises_the_loss_more_than_random_ones():
    model = _model()
    gradient = _gradient_to_embeddings(model)
    embeddings = _embeddings(model)
    r = _numpy(adversarial_training.adversarial_perturbation(gradient, embeddings, 0.5))
    clean, adversarial = float(_loss(model)), float(_loss(model, r))
    assert adversarial > clean
    rng = np.random.default_rng(1)
    for _ in range(5):
        noise = rng.normal(size=r.shape).astype("float32") * (IDS != 0)[..., None]
        scale = np.linalg.norm(r.reshape(3, -1), axis=1) / np.linalg.norm(
            noise.reshape(3, -1), axis=1
        )
        assert float(_loss(model, noise * scale[:, None, None])) < adversarial


@pytest.mark.layers
@pytest.mark.parametrize("kind", KINDS)
def test_adversarial_step_descends_the_clean_plus_the_adversarial_loss(kind):
    """One SGD step (rate 1) of `fit` moves every weight by minus the sum of
    the gradients of the clean and the perturbed loss, computed here by the
    backend's autodiff (the train step of each backend is its own code)."""
    model = _model(adversarial=0.3, kind=kind)
    before = [_numpy(v) for v in model.trainable_variables]
    r = adversarial_training.adversarial_perturbation(
        _gradient_to_embeddings(model), _embeddings(model), 0.3
    )
    (gradients,) = _gradients(
        lambda w: _loss(model, None, w) + _loss(model, r, w), list(before)
    )
    expected = [w - _numpy(g) for w, g in zip(before, gradients, strict=True)]
    clean = float(_loss(model))
    model.compile(keras.optimizers.SGD(1.0), KINDS[kind][1])
    history = model.fit(IDS, LABELS, batch_size=3, epochs=1, shuffle=False, verbose=0)
    for got, want in zip(model.trainable_variables, expected, strict=True):
        np.testing.assert_allclose(_numpy(got), want, atol=1e-5)
    assert history.history["loss"][0] == pytest.approx(
        clean, abs=1e-5
    )  # the clean loss


@pytest.mark.parametrize("kind", KINDS)
def test_adversarial_changes_training_only_and_round_trips(tmp_path, kind):
    plain, adversarial = _model(kind=kind), _model(adversarial=0.2, kind=kind)
    np.testing.assert_allclose(
        plain.predict(IDS, verbose=0), adversarial.predict(IDS, verbose=0)
    )
    path = tmp_path / "m.keras"
    adversarial.save(path)
    loaded = keras.saving.load_model(path)
    model_class = type(plain)
    assert isinstance(loaded, model_class) and loaded.adversarial == 0.2
    # A model saved before the argument existed loads with it off.
    config = plain.get_config()
    del config["adversarial"]
    assert model_class.from_config(config).adversarial == 0.0


def test_adversarial_is_refused_where_it_cannot_run(monkeypatch):
    with pytest.raises(InvalidArgumentError, match="adversarial"):
        _model(adversarial=-0.1)
    with pytest.raises(InvalidArgumentError, match="adversarial"):
        ClassifierConfig(adversarial=float("inf"))
    # Training on another backend is refused before it starts; a trained
    # model still loads and predicts there.
    model = _model(adversarial=0.1)
    config = ClassifierConfig(adversarial=0.1)
    monkeypatch.setattr(keras.backend, "backend", lambda: "torch")
    with pytest.raises(InvalidArgumentError, match="TensorFlow and JAX backends"):
        CLASSIFY.compile(model, config, steps=10)
    assert ClassifierConfig(adversarial=0.1).adversarial == 0.1


@pytest.mark.layers
def test_word_dropout_drops_whole_tokens_in_training_only():
    backbone = GRUBackbone(50, embed_dim=16, units=2, word_dropout=0.3)
    backbone.build((None, None))
    ids = np.random.default_rng(0).integers(1, 50, size=(64, 40))
    layer = backbone.word_dropout_layer
    vectors = backbone.token_embedding(ids)
    dropped = keras.ops.convert_to_numpy(layer(vectors, training=True))
    zero = np.all(dropped == 0.0, axis=-1)
    some = np.any(dropped == 0.0, axis=-1)
    np.testing.assert_array_equal(zero, some)  # all of a token's channels, or none
    assert 0.25 < zero.mean() < 0.35
    kept = ~zero
    np.testing.assert_allclose(
        dropped[kept], keras.ops.convert_to_numpy(vectors)[kept] / 0.7, rtol=1e-5
    )
    np.testing.assert_array_equal(
        keras.ops.convert_to_numpy(layer(vectors, training=False)),
        keras.ops.convert_to_numpy(vectors),
    )
    assert GRUBackbone.from_config(backbone.get_config()).word_dropout == 0.3


@pytest.mark.layers
def test_label_smoothing_of_either_head():
    probabilities = np.array([[0.7, 0.2, 0.1], [0.1, 0.1, 0.8]], dtype="float32")
    labels = np.array([0, 2])
    one_hot = np.eye(3, dtype="float32")[labels]
    smoothed = SmoothedSparseCrossentropy(0.1)(labels, probabilities)
    reference = keras.losses.CategoricalCrossentropy(label_smoothing=0.1)(
        one_hot, probabilities
    )
    # By hand: targets 0.9 + 0.1/3 on the class, 0.1/3 elsewhere.
    targets = one_hot * 0.9 + 0.1 / 3
    by_hand = -(targets * np.log(probabilities)).sum(1).mean()
    assert float(smoothed) == pytest.approx(float(reference), rel=1e-5)
    assert float(smoothed) == pytest.approx(by_hand, rel=1e-4)
    unsmoothed = keras.losses.SparseCategoricalCrossentropy()(labels, probabilities)
    assert float(SmoothedSparseCrossentropy(0.0)(labels, probabilities)) == (
        pytest.approx(float(unsmoothed), rel=1e-5)
    )
    assert classification_loss(2, 0.1).label_smoothing == 0.1
    loss = classification_loss(3, 0.1)
    assert type(loss).from_config(loss.get_config()).label_smoothing == 0.1
