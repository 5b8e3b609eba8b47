"""A classifier that starts from a trained language model (ULMFiT-style transfer)."""

import keras

from textgru.errors import InvalidArgumentError
from textgru.layers import GRU, GRUCell
from textgru.models.classifier import build_classifier
from textgru.models.recurrent_layer import cell_options


def language_model_parts(language_model):
    """The embedding and the stacked recurrent layers of a model made by
    `build_language_model`: `(embedding, [gru_0, gru_1, ...])`."""
    embedding = next(
        (x for x in language_model.layers if isinstance(x, keras.layers.Embedding)),
        None,
    )
    recurrent = [x for x in language_model.layers if isinstance(x, keras.layers.RNN)]
    if embedding is None or not recurrent:
        raise InvalidArgumentError(
            f"Expected a language model with an Embedding and GRU layers (as "
            f"build_language_model makes). Received: {language_model.name!r} with "
            f"layers {', '.join(x.name for x in language_model.layers)}"
        )
    for layer in recurrent:
        is_gru = isinstance(layer, keras.layers.GRU) or hasattr(
            layer.cell, "gate_values"
        )
        if not (layer.return_sequences and is_gru):
            raise InvalidArgumentError(
                f"Expected GRU layers that return sequences. Received: {layer.name!r} "
                f"({type(layer).__name__})"
            )
    return embedding, recurrent


def classifier_from_lm(
    language_model,
    num_classes,
    *,
    pooling="concat",
    dropout=0.4,
    embedding_dropout=0.1,
    name="textgru_classifier",
):
    """A text classifier whose embedding and GRU stack are the language model's.

    The classifier is `build_classifier` with the language model's sizes, one
    direction (the language model reads left to right), and a new head over
    the pooled states: by default the concatenation of the last state and
    the max and mean over the real tokens, as in ULMFiT. The embedding and
    GRU weights are copied from `language_model` (the two models share no
    variables, so fine-tuning the classifier leaves the language model as it
    was). Token ids mean the same in both, so the classifier takes the
    language model's tokenizer, and its GRUs the language model's cell
    (class and arguments).

    Args:
        language_model: a model made by `build_language_model` (for example
            `LanguageModelRun.load(path).model`).
        num_classes: number of classes (at least 2).
        pooling: `"concat"` (last, max and mean), `"last"`, `"max"` or `"mean"`.
        dropout: dropout rate between GRU layers and before the head.
        embedding_dropout: rate of whole embedding channels dropped.
        name: the model's name.

    Returns:
        An uncompiled `keras.Model`, as `build_classifier` returns.

    Example:

    >>> lm = build_language_model(60, embed_dim=8, units=16, num_layers=2)
    >>> model = classifier_from_lm(lm, num_classes=3)
    >>> model.predict(np.array([[4, 5, 6, 0]]), verbose=0).shape
    (1, 3)
    """
    embedding, recurrent = language_model_parts(language_model)
    gru = recurrent[0]
    cell, cell_kwargs = GRUCell, None
    if isinstance(gru, GRU) and type(gru.cell) is not GRUCell:
        cell, cell_kwargs = cell_options(gru.cell)  # the language model's own
    classifier = build_classifier(
        embedding.input_dim,
        num_classes,
        embed_dim=embedding.output_dim,
        units=gru.units,
        num_layers=len(recurrent),
        bidirectional=False,
        pooling=pooling,
        dropout=dropout,
        embedding_dropout=embedding_dropout,
        recurrent_dropout=getattr(gru, "recurrent_dropout", 0.0),
        reset_after=getattr(gru, "reset_after", False),
        gru_class=type(gru),
        cell=cell,
        cell_kwargs=cell_kwargs,
        name=name,
    )
    classifier.get_layer("embedding").set_weights(embedding.get_weights())
    for index, layer in enumerate(recurrent):
        classifier.get_layer(f"gru_{index}").set_weights(layer.get_weights())
    return classifier


def layer_groups(classifier):
    """The classifier's weighted layers in groups for fine-tuning, top first:
    `[[head layers], [gru_{n-1}], ..., [gru_0], [embedding]]` (layer names)."""
    recurrent = [x.name for x in classifier.layers if isinstance(x, keras.layers.RNN)]
    body = {"embedding", *recurrent}
    head = [x.name for x in classifier.layers if x.weights and x.name not in body]
    return [head, *([name] for name in reversed(recurrent)), ["embedding"]]
