"""The checks every textgru layer goes through (after keras's
`testing/test_case.py::run_layer_test`)."""

import copy

import keras
import numpy as np


def _model_around(layer, input_shape, input_dtype):
    inputs = keras.Input(batch_shape=input_shape, dtype=input_dtype)
    outputs = layer(inputs)
    return keras.Model(inputs, outputs)


def run_layer_test(
    make_layer, input_data, *, expected_output_shape, expected_num_weights, tmp_path
):
    """Builds the layer, then checks output shape, weight count, config round
    trip, one training step and a `.keras` save and reload."""
    input_data = np.asarray(input_data)
    layer = make_layer()
    output = np.asarray(layer(input_data))
    assert output.shape == expected_output_shape
    assert np.isfinite(output).all()
    assert len(layer.weights) == expected_num_weights
    assert len(layer.trainable_weights) == expected_num_weights

    # get_config / from_config round trip: same config, same outputs.
    config = layer.get_config()
    # from_config may consume its argument (keras.layers.RNN pops "cell").
    clone = layer.__class__.from_config(copy.deepcopy(config))
    assert clone.get_config() == config
    clone(input_data)
    clone.set_weights(layer.get_weights())
    np.testing.assert_allclose(np.asarray(clone(input_data)), output, atol=1e-6)

    # One training step changes every weight and gives a finite loss.
    model = _model_around(make_layer(), input_data.shape, input_data.dtype)
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    before = [np.array(w) for w in model.get_weights()]
    target = np.ones(model.output_shape, "float32")
    loss = model.train_on_batch(input_data, target)
    assert np.isfinite(loss)
    after = model.get_weights()
    assert all(not np.allclose(b, a) for b, a in zip(before, after, strict=True))

    # .keras save and reload gives identical outputs.
    path = tmp_path / "layer.keras"
    model.save(path)
    reloaded = keras.saving.load_model(path)
    np.testing.assert_array_equal(
        np.asarray(reloaded.predict(input_data, verbose=0)),
        np.asarray(model.predict(input_data, verbose=0)),
    )
    return layer


def gradients(layer, inputs, reduce, **call_kwargs):
    """Returns d reduce(layer(inputs)) / d (inputs, *layer.trainable_variables)
    as NumPy arrays, on whichever backend Keras runs."""
    backend = keras.backend.backend()
    inputs = np.asarray(inputs)
    if backend == "tensorflow":
        import tensorflow as tf

        x = tf.convert_to_tensor(inputs)
        with tf.GradientTape() as tape:
            tape.watch(x)
            loss = reduce(layer(x, **call_kwargs))
        grads = tape.gradient(loss, [x] + list(layer.trainable_variables))
        return [np.asarray(g) for g in grads]
    if backend == "jax":
        import jax

        frozen = [v.value for v in layer.non_trainable_variables]

        def loss(x, trainable):
            y, _ = layer.stateless_call(trainable, frozen, x, **call_kwargs)
            return reduce(y)

        trainable = [v.value for v in layer.trainable_variables]
        gx, gv = jax.grad(loss, argnums=(0, 1))(inputs, trainable)
        return [np.asarray(gx)] + [np.asarray(g) for g in gv]
    raise NotImplementedError(f"no gradient helper for backend {backend}")


def assert_reloads_in_a_new_process(model, inputs, tmp_path, checks=""):
    """Saves `model` to `.keras`, reloads it in a new Python process (after
    `import textgru`, which registers the layers) and checks it predicts
    exactly what it predicts here; `checks` are more lines of Python run
    there on the reloaded `model`."""
    import subprocess
    import sys
    import textwrap

    path = tmp_path / "model.keras"
    model.save(path)
    np.save(tmp_path / "inputs.npy", inputs)
    np.save(tmp_path / "expected.npy", np.asarray(model.predict(inputs, verbose=0)))
    script = (
        textwrap.dedent(f"""
        import numpy as np, keras
        import textgru
        model = keras.saving.load_model({str(path)!r})
        inputs = np.load({str(tmp_path / "inputs.npy")!r})
        expected = np.load({str(tmp_path / "expected.npy")!r})
        np.testing.assert_array_equal(model.predict(inputs, verbose=0), expected)
    """)
        + textwrap.dedent(checks)
        + '\nprint("reloaded ok")\n'
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "reloaded ok" in result.stdout
