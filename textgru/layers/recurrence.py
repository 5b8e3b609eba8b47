"""A faster GRU loop, on CPU, for TensorFlow and JAX: the stock GRU's
equations with a hand-written backward pass.

`textgru.GRU` takes this path where `why_not(...)` finds nothing against it
(and its `fast_path` is not False) and otherwise runs the cell's
`gate_values` in Keras's generic loop (the plain path, which autodiff
differentiates). What makes it faster:

- The input products `x_t W + b` of all steps are one large product before
  the loop (done by the caller, with ordinary autodiff).
- The backward pass is written out, as cuDNN does it
  (`textgru.layers.recurrence_steps`): a reverse loop carries dh back
  through the gate math and the recurrent products, and the recurrent
  kernel's gradient comes after it as one large product (dU = H^T dG)
  rather than a sum of small per-step ones.
- Out of training the loop keeps only the states, not what a backward pass
  would need (TensorFlow with `reset_after=False`; JAX keeps them only when
  it differentiates).
- Each backend's loop is compiled by XLA, which fuses a step's elementwise
  work: on TensorFlow, `textgru.layers.recurrence_tensorflow` (two halves
  of the batch at once, one per core; run-time lengths padded to a few
  lengths), on JAX `textgru.layers.recurrence_jax` (`lax.scan` with a
  `jax.custom_vjp`).

The equations are those of `GRUCell.gate_values`; the tests compare this
path with the plain one and with `keras.layers.GRU`, values and gradients,
with and without masks, on both backends.

Shapes are time-major: `projected` (T, B, 3u) is `x_t W + b` (the input bias
included); `h0` (B, u); `recurrent_kernel` (u, 3u); `recurrent_bias` (3u,)
(b'; zeros, and unused, for `reset_after=False`); `mask` (T, B, 1), 1.0 for
a real step and 0.0 for padding, where the state is kept; or None.
"""

import keras

from textgru.layers.gru_cell import is_stock_gru

BACKENDS = ("tensorflow", "jax")
# Where `fast_path="auto"` takes it. On JAX the plain loop measures faster on
# 2 CPU cores (benchmarks/README.md, "JAX"), so there it runs when asked for
# (`fast_path=True`).
AUTO_BACKENDS = ("tensorflow",)


def why_not(cell, training=None, unroll=False, requested=False):
    """Why `recurrence` cannot run `cell`, or None if it can.

    It runs only the stock GRU equations (`GRUCell` itself, or a subclass
    that opts in: `textgru.layers.gru_cell.is_stock_gru`) with the tanh and
    sigmoid activations, in float32, on TensorFlow or JAX on CPU, with no
    unrolling and no recurrent dropout while training; on JAX only when
    `requested` (`fast_path=True`). With `training` None, what it decides
    is not checked (a layer checks the rest when it is made).
    """
    backend = keras.backend.backend()
    if backend not in BACKENDS:
        return f"it runs on the TensorFlow and JAX backends only (this is {backend})"
    if backend not in AUTO_BACKENDS and not requested:
        return (
            f"on {backend} the plain loop measures faster, so it runs only with "
            "fast_path=True"
        )
    if not is_stock_gru(cell):
        return (
            f"the cell {type(cell).__name__} may compute other equations than "
            "GRUCell (a GRUCell subclass that computes exactly the same ones "
            "can say so with `computes_stock_gru = True` in its class body)"
        )
    if not (
        cell.activation is keras.activations.tanh
        and cell.recurrent_activation is keras.activations.sigmoid
    ):
        return "it computes activation='tanh' and recurrent_activation='sigmoid' only"
    if cell.compute_dtype != "float32":
        return f"it computes in float32 only (this layer in {cell.compute_dtype})"
    if unroll:
        return "it does not unroll (unroll=True)"
    if cell.recurrent_dropout > 0 and training is not False:
        return "recurrent dropout while training needs the plain loop"
    if backend == "jax":
        import jax

        if jax.default_backend() != "cpu":
            return f"it runs on CPU only, and JAX runs on {jax.default_backend()}"
        return None
    import tensorflow as tf

    if tf.config.list_logical_devices("GPU"):
        return "it runs on CPU only, and TensorFlow sees a GPU"
    return None


def cudnn_may_run(cell, training):
    """Whether `keras.layers.GRU`'s cuDNN kernel may run `cell`: the stock
    GRU with `reset_after=True` (the form cuDNN computes), biases, the tanh
    and sigmoid activations, no recurrent dropout while training, on a GPU
    the backend uses. Keras's `backend.gru` checks the rest per batch (a
    mask must be right-padded) and raises `NotImplementedError` where
    cuDNN cannot run, as `keras.layers.GRU` relies on."""
    if not (
        is_stock_gru(cell)
        and cell.reset_after
        and cell.use_bias
        and cell.activation is keras.activations.tanh
        and cell.recurrent_activation is keras.activations.sigmoid
        and not (training and cell.recurrent_dropout > 0)
    ):
        return False
    return _backend_sees_a_gpu()


def _backend_sees_a_gpu():
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        return bool(tf.config.list_logical_devices("GPU"))
    if backend == "jax":
        import jax

        return jax.default_backend() == "gpu"
    return False


def recurrence(
    projected, h0, recurrent_kernel, recurrent_bias, mask, reset_after, training=True
):
    """Returns the states after every step (T, B, u) and the last one (B, u).

    With `training` False the loop keeps nothing for a backward pass (a
    gradient is still right, at the cost of running the loop again)."""
    if keras.backend.backend() == "jax":
        from textgru.layers import recurrence_jax as backend_loop
    else:
        from textgru.layers import recurrence_tensorflow as backend_loop
    return backend_loop.recurrence(
        projected, h0, recurrent_kernel, recurrent_bias, mask, reset_after, training
    )
