"""Optimizers beyond Keras's own: AdamW with a learning rate per layer."""

import keras

from textgru.errors import InvalidArgumentError
from textgru.training.schedules import learning_rate_schedule


@keras.saving.register_keras_serializable(package="textgru")
class DiscriminativeAdamW(keras.optimizers.AdamW):
    """`keras.optimizers.AdamW` whose learning rate is scaled per layer.

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
        **kwargs: `keras.optimizers.AdamW` arguments (`weight_decay`,
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

    def update_step(self, gradient, variable, learning_rate):
        factor = self._factors[self._get_variable_index(variable)]
        if factor != 1.0:
            learning_rate = learning_rate * factor
        super().update_step(gradient, variable, learning_rate)

    def get_config(self):
        return {**super().get_config(), "layer_factors": dict(self.layer_factors)}


def make_optimizer(config, steps, layer_factors=None):
    """AdamW with `config`'s rate schedule over `steps` steps, weight decay and
    clipping; with `layer_factors` (layer path -> factor on the rate), a
    `DiscriminativeAdamW`."""
    options = {
        "learning_rate": learning_rate_schedule(config, steps),
        "weight_decay": config.weight_decay,
        "clipnorm": config.clipnorm,
    }
    if layer_factors:
        return DiscriminativeAdamW(layer_factors=layer_factors, **options)
    return keras.optimizers.AdamW(**options)
