"""Optimizers beyond Keras's own: AdamW fused on TensorFlow, and AdamW with a
learning rate per layer."""

import keras

from textgru.errors import InvalidArgumentError
from textgru.training.schedules import learning_rate_schedule


@keras.saving.register_keras_serializable(package="textgru")
class FusedAdamW(keras.optimizers.AdamW):
    """`keras.optimizers.AdamW`, its whole update one XLA computation.

    Same arguments and same arithmetic as `keras.optimizers.AdamW`. On
    TensorFlow, Keras updates each variable in about a dozen separate
    operations (clip, decay, two moments, the step), each a pass over the
    variable; this optimizer runs the update of every variable as one
    XLA-compiled function (`textgru/training/adamw_tensorflow.py`), which
    fuses the passes and updates in place. For the sentiment recipe's
    20,000-word embedding that is most of the optimizer's time. Results agree
    with Keras's to float rounding: XLA adds the terms of a sum in its own
    order.

    Where it cannot apply, it is `keras.optimizers.AdamW` itself: on JAX and
    torch (JAX compiles the whole training step already), with
    `amsgrad=True`, and under a `tf.distribute` strategy (which updates each
    device's copy of a variable in turn).

    Example:

    >>> optimizer = FusedAdamW(1e-3, weight_decay=1e-4, clipnorm=1.0)
    >>> optimizer.get_config()["weight_decay"]
    0.0001
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._fused_update = None

    def _fuses(self):
        if keras.backend.backend() != "tensorflow" or self.amsgrad:
            return False
        import tensorflow as tf

        return not tf.distribute.has_strategy()

    def learning_rate_of(self, variable, learning_rate):
        """The learning rate `variable` takes when the optimizer's is
        `learning_rate`: that one, here."""
        return learning_rate

    # Keras's AdamW clips the gradients, decays the weights, then calls
    # `_backend_update_step`; fused, the last does all three (the clipping
    # when it is `clipnorm`, each gradient's own).
    def _clip_gradients(self, grads):
        if self.clipnorm and self._fuses():
            return grads
        return super()._clip_gradients(grads)

    def _apply_weight_decay(self, variables):
        if not self._fuses():
            super()._apply_weight_decay(variables)

    def _backend_update_step(self, grads, trainable_variables, learning_rate):
        if not self._fuses():
            return super()._backend_update_step(
                grads, trainable_variables, learning_rate
            )
        from textgru.training.adamw_tensorflow import FusedUpdate

        if self._fused_update is None:
            self._fused_update = FusedUpdate()
        indices = [self._get_variable_index(v) for v in trainable_variables]
        decays = self.weight_decay is not None
        self._fused_update(
            [_tf_variable(v) for v in trainable_variables],
            [_tf_variable(self._momentums[i]) for i in indices],
            [_tf_variable(self._velocities[i]) for i in indices],
            grads,
            iterations=self.iterations,
            learning_rates=[
                self.learning_rate_of(v, learning_rate) for v in trainable_variables
            ],
            weight_decays=[
                self.weight_decay if decays and self._use_weight_decay(v) else None
                for v in trainable_variables
            ],
            decay_learning_rate=self.learning_rate,
            beta_1=self.beta_1,
            beta_2=self.beta_2,
            epsilon=self.epsilon,
            clipnorm=self.clipnorm or None,
        )


def _tf_variable(variable):
    """The `tf.Variable` of a Keras variable on TensorFlow."""
    return variable.value if isinstance(variable, keras.Variable) else variable


@keras.saving.register_keras_serializable(package="textgru")
class DiscriminativeAdamW(FusedAdamW):
    """`FusedAdamW` whose learning rate is scaled per layer.

    Discriminative fine-tuning (Howard & Ruder, 2018): when a pretrained
    network is fine-tuned, its lower layers, which hold the most general
    features, should change more slowly than the layers near the new head.
    Each variable whose path starts with a key of `layer_factors` (a layer's
    path, such as `"backbone/gru_0"` or `"backbone/embedding"`: its
    `layer.path`) takes that factor times the learning rate (the schedule's
    current value); every other variable takes the learning rate itself.
    Weight decay is applied as in `AdamW`, unscaled.

    Args:
        learning_rate: a float or a `keras.optimizers.schedules` schedule.
        layer_factors: dict of layer path -> factor (> 0) on its learning rate.
        **kwargs: `FusedAdamW` (`keras.optimizers.AdamW`) arguments (`weight_decay`,
            `clipnorm`, ...).

    Example:

    >>> optimizer = DiscriminativeAdamW(1e-3, layer_factors={"embedding": 0.1})
    >>> optimizer.layer_factors
    {'embedding': 0.1}
    """

    def __init__(self, learning_rate=0.001, layer_factors=None, **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)
        layer_factors = dict(layer_factors or {})
        for name, factor in layer_factors.items():
            if not isinstance(name, str) or not float(factor) > 0:
                raise InvalidArgumentError(
                    "Expected `layer_factors` to map layer names to factors > 0. "
                    f"Received: {name!r}: {factor!r}"
                )
        self.layer_factors = {name: float(f) for name, f in layer_factors.items()}
        self._factors = []

    def build(self, var_list):
        super().build(var_list)
        self._factors = [self.factor_of(variable) for variable in var_list]

    def factor_of(self, variable):
        """The factor on the learning rate of `variable` (a Keras variable):
        that of the longest key that is its path or a folder of it."""
        path = variable.path
        keys = [k for k in self.layer_factors if path == k or path.startswith(k + "/")]
        return self.layer_factors[max(keys, key=len)] if keys else 1.0

    def learning_rate_of(self, variable, learning_rate):
        factor = self._factors[self._get_variable_index(variable)]
        return learning_rate * factor if factor != 1.0 else learning_rate

    def update_step(self, gradient, variable, learning_rate):
        learning_rate = self.learning_rate_of(variable, learning_rate)
        super().update_step(gradient, variable, learning_rate)

    def get_config(self):
        return {**super().get_config(), "layer_factors": dict(self.layer_factors)}


def make_optimizer(config, steps, layer_factors=None):
    """A `FusedAdamW` with `config`'s rate schedule over `steps` steps, weight
    decay and clipping; with `layer_factors` (layer path -> factor on the
    rate), a `DiscriminativeAdamW`."""
    options = {
        "learning_rate": learning_rate_schedule(config, steps),
        "weight_decay": config.weight_decay,
        "clipnorm": config.clipnorm,
    }
    if layer_factors:
        return DiscriminativeAdamW(layer_factors=layer_factors, **options)
    return FusedAdamW(**options)
