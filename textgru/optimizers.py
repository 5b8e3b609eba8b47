"""Optimizers beyond Keras's own: AdamW with a learning rate per layer."""

import keras

from textgru.errors import InvalidArgumentError


@keras.saving.register_keras_serializable(package="textgru")
class DiscriminativeAdamW(keras.optimizers.AdamW):
    """`keras.optimizers.AdamW` whose learning rate is scaled per layer.

    Discriminative fine-tuning (Howard & Ruder, 2018): when a pretrained
    network is fine-tuned, its lower layers, which hold the most general
    features, should change more slowly than the layers near the new head.
    Each variable whose path starts with a key of `layer_factors` (a
    top-level layer name, such as `"gru_0"` or `"embedding"`) takes that
    factor times the learning rate (the schedule's current value); every
    other variable takes the learning rate itself. Weight decay is applied as
    in `AdamW`, unscaled.

    Args:
        learning_rate: a float or a `keras.optimizers.schedules` schedule.
        layer_factors: dict of layer name -> factor (> 0) on its learning rate.
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
        """The factor on the learning rate of `variable` (a Keras variable)."""
        layer = variable.path.split("/", 1)[0]
        return self.layer_factors.get(layer, 1.0)

    def update_step(self, gradient, variable, learning_rate):
        factor = self._factors[self._get_variable_index(variable)]
        if factor != 1.0:
            learning_rate = learning_rate * factor
        super().update_step(gradient, variable, learning_rate)

    def get_config(self):
        return {**super().get_config(), "layer_factors": dict(self.layer_factors)}
