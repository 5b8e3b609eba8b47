"""A textgru classifier or regressor as an ONNX graph built from its weights: ONNX's own
`GRU` operator computes textgru's equations exactly.

ONNX's `GRU` (opset 7 and later) is the seed's cell: its gate blocks are in
Keras's order (z, r, h), `linear_before_reset=0` is `reset_after=False`
(the reset gate applied to the state before `U_h`) and
`linear_before_reset=1` is `reset_after=True` (after it, with the recurrent
bias inside, as cuDNN and PyTorch do). Keras's kernels are `(input, 3 *
units)`, ONNX's `(3 * units, input)`: the weights move over transposed.
Padding is handled as the Keras model handles its mask: `sequence_lens` (the
real tokens of each right-padded row) stops each direction at the last real
token, and the pooling reads only real steps.

    token_ids (batch, length) int32
      -> Gather (the embedding)
      -> GRU per layer (forward or bidirectional, sequence_lens from ids != 0)
      -> pooling: the last state, max and/or mean over the real steps
      -> MatMul + Add (the head) -> Sigmoid or Softmax (a regressor: the
         targets' scale and mean)
      -> probabilities (batch, 1 or classes), or values (batch, 1)

Anything the graph cannot compute exactly (your own cell or a subclass of
`GRUCell`, other activations, a stateful or unmasked-but-padded layout it
does not know, a float16/bfloat16 policy) is refused with a
`textgru.errors.ExportError` naming it; `tf_saved_model` exports those.
"""

import keras
import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from textgru.errors import ExportError
from textgru.layers import GRU, GRUCell
from textgru.models import GRUBackbone, GRULanguageModel, TextClassifier, TextRegressor

# 17: the last opset where ReduceMax takes its axes as an attribute and the
# first that every onnxruntime of the last three years runs.
OPSET = 17
INPUT = "token_ids"
OUTPUT = "probabilities"
# A regressor's output: the number, in the targets' units.
VALUES = "values"
# A language model's step graph: one token per stream and each layer's state
# in; the next token's logits and the new states out.
TOKEN, LOGITS = "token", "logits"
_TAIL = "; export it with --format tf_saved_model instead"


def text_graph(model):
    """The ONNX model (`onnx.ModelProto`) of a textgru model over a
    `GRUBackbone`, from token ids `(batch, length)` int32, right-padded with
    0, to its outputs `(batch, width)`:

    - a `TextClassifier`: probabilities, `(batch, 1)` (binary: of class 1)
      or `(batch, num_classes)`; a multi-label one, each label's sigmoid;
    - a `TextRegressor`: the number, in the targets' units.

    Refused with an `ExportError` where the graph would not compute what
    the model does."""
    if not isinstance(model, TextClassifier | TextRegressor):
        raise ExportError(
            "Expected a textgru TextClassifier or TextRegressor. Received: "
            f"{type(model).__name__}" + _TAIL
        )
    check_float32(model)
    graph = _Graph()
    sequence, last, mask = graph.backbone(model.backbone)
    pooled = []
    if model.pooling in ("last", "concat"):
        pooled.append(last)
    if model.pooling in ("max", "concat"):
        pooled.append(graph.pool("max", sequence, mask))
    if model.pooling in ("mean", "concat"):
        pooled.append(graph.pool("mean", sequence, mask))
    x = pooled[0] if len(pooled) == 1 else graph.node("Concat", pooled, axis=-1)
    if isinstance(model, TextRegressor):
        y = graph.dense(x, model.head)
        scaled = graph.node("Mul", [y, graph.constant(np.float32(model.target_scale))])
        offset = graph.constant(np.float32(model.target_mean))
        graph.node("Add", [scaled, offset], name=VALUES)
        name, width = VALUES, 1
    else:
        logits = graph.dense(x, model.head)
        width = int(model.head.units)
        if width == 1 or model.multi_label:
            graph.node("Sigmoid", [logits], name=OUTPUT)
        else:
            graph.node("Softmax", [logits], name=OUTPUT, axis=-1)
        name = OUTPUT
    return graph.model(
        inputs=[
            helper.make_tensor_value_info(INPUT, TensorProto.INT32, ["batch", "length"])
        ],
        outputs=[
            helper.make_tensor_value_info(name, TensorProto.FLOAT, ["batch", width])
        ],
        name=model.name,
    )


def gates_graph(model):
    """The ONNX model of a `text_graph` model's update gates, for one text:
    token ids `(1, length)` int32 in; for each GRU layer and direction, the
    update gate z_t after each token out, `(1, length, units)`, named as
    `gate_outputs(model)` lists them. These are the values
    `textgru.interpret.gate_activations` gives (the same weights, the
    states of ONNX's `GRU`): z_t = sigmoid(W_z x_t + U_z h_(t-1) + b_z),
    where h_(t-1) is the state before token t in the direction read (the
    state after token t + 1 for a backward direction, zeros at its start)."""
    text_graph(model)  # refuses what the export cannot compute
    graph = _Graph()
    graph.backbone(model.backbone)
    outputs = []
    names = iter(gate_outputs(model))
    for parts, x, y in graph.recurrent:
        for index, part in enumerate(parts):
            # (length, 1, units): this direction's state after each token
            states = graph.node("Gather", [y, graph.constant(np.int64(index))], axis=1)
            update = graph.update_gate(x, states, part.cell, backward=index == 1)
            name = next(names)["output"]
            graph.node("Transpose", [update], perm=[1, 0, 2], name=name)
            outputs.append(
                helper.make_tensor_value_info(
                    name, TensorProto.FLOAT, [1, "length", part.cell.units]
                )
            )
    return graph.model(
        inputs=[helper.make_tensor_value_info(INPUT, TensorProto.INT32, [1, "length"])],
        outputs=outputs,
        name=f"{model.name}_update_gates",
    )


def gate_outputs(model):
    """What `gates_graph` outputs, in order: one dict per GRU
    layer and direction, with its `layer` name (as
    `textgru.interpret.gate_activations` names it), `direction` and the
    graph's `output`."""
    found = []
    for number, layer in enumerate(model.backbone.recurrent_layers):
        parts = (
            [layer.forward_layer, layer.backward_layer]
            if hasattr(layer, "forward_layer")
            else [layer]
        )
        for part, direction in zip(parts, ("forward", "backward"), strict=False):
            found.append(
                {
                    "layer": part.name,
                    "direction": direction,
                    "output": f"update_{number}_{direction}",
                }
            )
    return found


def language_model_step_graph(model):
    """The ONNX model of one step of a `GRULanguageModel` (what
    `textgru.models.generation` runs per new token): `token` `(batch,)`
    int32 and `state_<i>` `(batch, units)` of each layer in; `logits`
    `(batch, vocab_size)` and `new_state_<i>` out."""
    if not isinstance(model, GRULanguageModel):
        raise ExportError(
            f"Expected a textgru GRULanguageModel. Received: {type(model).__name__}"
            + _TAIL
        )
    check_float32(model)
    graph = _Graph()
    backbone = model.backbone
    embedding = np.asarray(backbone.token_embedding.embeddings, np.float32)
    embedded = graph.node(
        "Gather", [graph.constant(embedding, "embedding"), TOKEN], axis=0
    )
    x = graph.node("Unsqueeze", [embedded, graph.constant(np.array([0], np.int64))])
    inputs = [helper.make_tensor_value_info(TOKEN, TensorProto.INT32, ["batch"])]
    outputs = []
    for index, layer in enumerate(backbone.recurrent_layers):
        check_cell(layer, stateful=True)
        w, r, b = (
            graph.constant(weights[None], hint)
            for weights, hint in zip(
                gru_weights(layer.cell), ("W", "R", "B"), strict=True
            )
        )
        units = layer.cell.units
        state = f"state_{index}"
        inputs.append(
            helper.make_tensor_value_info(state, TensorProto.FLOAT, ["batch", units])
        )
        start = graph.node(
            "Unsqueeze", [state, graph.constant(np.array([0], np.int64))]
        )
        y, y_h = graph.node(
            "GRU",
            [x, w, r, b, "", start],
            outputs=2,
            hidden_size=units,
            direction="forward",
            linear_before_reset=int(layer.cell.reset_after),
        )
        new = graph.node(
            "Squeeze",
            [y_h, graph.constant(np.array([0], np.int64))],
            name=f"new_{state}",
        )
        outputs.append(
            helper.make_tensor_value_info(new, TensorProto.FLOAT, ["batch", units])
        )
        x = graph.node(
            "Squeeze", [y, graph.constant(np.array([1], np.int64))]
        )  # (1, batch, units)
    x = graph.node("Squeeze", [x, graph.constant(np.array([0], np.int64))])
    for layer in (model.projection, model.logits):
        if layer is not None and layer.activation is not keras.activations.linear:
            raise ExportError(
                f"The layer {layer.name!r} has an activation of its own, which a "
                "language model's head never has" + _TAIL
            )
    if model.projection is not None:
        x = graph.dense(x, model.projection)
    if model.logits is None:  # tied to the embedding
        graph.node(
            "MatMul", [x, graph.constant(embedding.T.copy(), "tied")], name=LOGITS
        )
    else:
        graph.dense(x, model.logits, name=LOGITS)
    vocab = backbone.vocab_size
    outputs.insert(
        0, helper.make_tensor_value_info(LOGITS, TensorProto.FLOAT, ["batch", vocab])
    )
    return graph.model(inputs=inputs, outputs=outputs, name=model.name)


def check_float32(model):
    """Refuse a model that computes in another precision than float32 (the
    graph computes in float32: it would not give the same numbers)."""
    for layer in model._flatten_layers(include_self=True):
        dtype = getattr(layer, "compute_dtype", "float32")
        if dtype not in ("float32", None):
            raise ExportError(
                f"The layer {layer.name!r} computes in {dtype}, and the ONNX export "
                "computes in float32, so its numbers would differ" + _TAIL
            )


def gru_weights(cell):
    """`(W, R, B)` of one direction in ONNX's layout, from a `GRUCell` or
    `keras.layers.GRUCell`: W `(3 units, input)`, R `(3 units, units)`, B
    `(6 units,)` (the input bias, then the recurrent one: zero unless
    `reset_after`)."""
    units = cell.units
    kernel = np.asarray(cell.kernel, np.float32)
    recurrent = np.asarray(cell.recurrent_kernel, np.float32)
    bias = np.zeros((2, 3 * units), np.float32)
    if cell.use_bias:
        value = np.asarray(cell.bias, np.float32)
        if value.ndim == 1:
            bias[0] = value
        else:
            bias[:] = value
    return kernel.T, recurrent.T, bias.reshape(-1)


def check_cell(layer, backward=False, stateful=False):
    """Refuse a GRU layer the ONNX operator does not compute exactly
    (`backward`: the backward half of a `Bidirectional`, which reads
    backwards; `stateful`: a step graph, which takes the states as inputs)."""
    cell = layer.cell
    if type(layer) not in (GRU, keras.layers.GRU) or type(cell) not in (
        GRUCell,
        keras.layers.GRUCell,
    ):
        raise ExportError(
            f"The layer {layer.name!r} runs the cell {type(cell).__name__}, which "
            "ONNX's GRU operator does not compute (it computes textgru.GRUCell "
            "only)" + _TAIL
        )
    if (
        cell.activation is not keras.activations.tanh
        or cell.recurrent_activation is not keras.activations.sigmoid
    ):
        raise ExportError(
            f"The layer {layer.name!r} uses other activations than tanh and sigmoid, "
            "which the ONNX export does not write" + _TAIL
        )
    if (
        (layer.stateful and not stateful)
        or layer.go_backwards != backward
        or not layer.return_sequences
    ):
        raise ExportError(
            f"The layer {layer.name!r} is stateful, reads backwards or returns one "
            "state, which a backbone's layers never do" + _TAIL
        )


class _Graph:
    """The nodes and constants of the graph as it is built."""

    def __init__(self):
        self.nodes, self.initializers, self._count = [], [], 0
        # Each GRU layer of the backbone as built: `(parts, x, y)`, its
        # directions' layers, its input (length, batch, features) and its
        # states (length, directions, batch, units).
        self.recurrent = []

    def name(self, hint):
        self._count += 1
        return f"{hint}_{self._count}"

    def constant(self, value, hint="const"):
        name = self.name(hint)
        self.initializers.append(numpy_helper.from_array(np.asarray(value), name))
        return name

    def node(self, op, inputs, *, name=None, outputs=1, **attributes):
        names = [name or self.name(op.lower())] + [
            self.name(op.lower()) for _ in range(outputs - 1)
        ]
        self.nodes.append(helper.make_node(op, inputs, names, **attributes))
        return names[0] if outputs == 1 else names

    def update_gate(self, x, states, cell, backward):
        """z_t `(length, 1, units)` of `cell` from its input `x` `(length,
        1, features)` and its `states` after each token: the state it read
        token t with is the one after the token before (after, reading
        backward), zeros at the start."""
        units = cell.units
        kernel, recurrent, bias = gru_weights(cell)
        axis, zero, one, last, end = (
            self.constant(np.array([n], np.int64))
            for n in (0, 0, 1, -1, np.iinfo(np.int64).max)
        )
        zeros = self.node(
            "Mul",
            [
                self.node("Slice", [states, zero, one, axis]),
                self.constant(np.float32(0)),
            ],
        )  # (1, 1, units)
        if backward:
            before = [self.node("Slice", [states, one, end, axis]), zeros]
        else:
            before = [zeros, self.node("Slice", [states, zero, last, axis])]
        before = self.node("Concat", before, axis=0)
        # The z block of each weight: rows [0, units) in ONNX's layout.
        w_z = self.constant(kernel[:units].T.copy())
        u_z = self.constant(recurrent[:units].T.copy())
        b_z = self.constant(bias.reshape(2, 3 * units)[:, :units].sum(axis=0))
        inputs = self.node("MatMul", [x, w_z])
        state = self.node("MatMul", [before, u_z])
        total = self.node("Add", [self.node("Add", [inputs, state]), b_z])
        return self.node("Sigmoid", [total])

    def dense(self, x, layer, name=None):
        """`x @ kernel + bias` of a `Dense` layer without an activation of
        its own (a classifier's head: the activation follows)."""
        kernel, *bias = (np.asarray(w, np.float32) for w in layer.get_weights())
        y = self.node("MatMul", [x, self.constant(kernel)], name=None if bias else name)
        if bias:
            y = self.node("Add", [y, self.constant(bias[0])], name=name)
        return y

    def backbone(self, backbone):
        """`(sequence (length, batch, width), last (batch, width), mask)`: the
        top layer's states and the real steps `(length, batch, 1)` (None
        when the backbone masks nothing)."""
        if not isinstance(backbone, GRUBackbone):
            raise ExportError(
                f"Expected a GRUBackbone. Received: {type(backbone).__name__}" + _TAIL
            )
        embedding = np.asarray(backbone.token_embedding.embeddings, np.float32)
        x = self.node("Gather", [self.constant(embedding, "embedding"), INPUT], axis=0)
        x = self.node("Transpose", [x], perm=[1, 0, 2])  # time first
        lengths = mask = ""
        if backbone.mask_zero:
            real = self.node(
                "Not", [self.node("Equal", [INPUT, self.constant(np.int32(0))])]
            )
            counted = self.node("Cast", [real], to=TensorProto.INT32)
            lengths = self.node(
                "ReduceSum",
                [counted, self.constant(np.array([1], np.int64))],
                keepdims=0,
            )
            mask = self.node(
                "Unsqueeze",
                [
                    self.node("Transpose", [real], perm=[1, 0]),
                    self.constant(np.array([2], np.int64)),
                ],
            )
        flat = self.constant(np.array([0, 0, -1], np.int64))
        for layer in backbone.recurrent_layers:
            if backbone.bidirectional:
                if layer.merge_mode != "concat":
                    raise ExportError(
                        f"The layer {layer.name!r} merges its directions by "
                        f"{layer.merge_mode!r}, not concatenation" + _TAIL
                    )
                parts = [layer.forward_layer, layer.backward_layer]
            else:
                parts = [layer]
            for index, part in enumerate(parts):
                check_cell(part, backward=index == 1)
            weights = [gru_weights(part.cell) for part in parts]
            w, r, b = (
                self.constant(np.stack([each[i] for each in weights]), hint)
                for i, hint in enumerate(("W", "R", "B"))
            )
            cell = parts[0].cell
            y, y_h = self.node(
                "GRU",
                [x, w, r, b, lengths],
                outputs=2,
                hidden_size=cell.units,
                direction="bidirectional" if backbone.bidirectional else "forward",
                linear_before_reset=int(cell.reset_after),
            )
            self.recurrent.append((parts, x, y))
            # (length, directions, batch, units) -> (length, batch, directions * units)
            x = self.node(
                "Reshape", [self.node("Transpose", [y], perm=[0, 2, 1, 3]), flat]
            )
        last = self.node(
            "Reshape",
            [
                self.node("Transpose", [y_h], perm=[1, 0, 2]),
                self.constant(np.array([0, -1], np.int64)),
            ],
        )
        return x, last, mask or None

    def pool(self, mode, sequence, mask):
        """Max or mean over the real steps (`SequencePooling`): a row with no
        real step pools to zeros."""
        if mask is None:
            op = "ReduceMax" if mode == "max" else "ReduceMean"
            return self.node(op, [sequence], axes=[0], keepdims=0)
        count = self.node(
            "ReduceSum",
            [
                self.node("Cast", [mask], to=TensorProto.FLOAT),
                self.constant(np.array([0], np.int64)),
            ],
            keepdims=0,
        )
        zero = self.constant(np.float32(0.0))
        if mode == "mean":
            total = self.node(
                "ReduceSum",
                [
                    self.node("Where", [mask, sequence, zero]),
                    self.constant(np.array([0], np.int64)),
                ],
                keepdims=0,
            )
            return self.node(
                "Div",
                [total, self.node("Max", [count, self.constant(np.float32(1.0))])],
            )
        lowest = self.constant(np.float32(-np.inf))
        highest = self.node(
            "ReduceMax",
            [self.node("Where", [mask, sequence, lowest])],
            axes=[0],
            keepdims=0,
        )
        return self.node("Where", [self.node("Greater", [count, zero]), highest, zero])

    def model(self, *, inputs, outputs, name):
        nodes, initializers = self._needed([output.name for output in outputs])
        graph = helper.make_graph(
            nodes, name, inputs, outputs, initializer=initializers
        )
        model = helper.make_model(
            graph,
            opset_imports=[helper.make_opsetid("", OPSET)],
            producer_name="textgru",
        )
        model.ir_version = min(model.ir_version, 8)  # what opset 17 runtimes read
        onnx.checker.check_model(model, full_check=True)
        return model

    def _needed(self, outputs):
        """The nodes and constants that `outputs` are computed from (a graph
        built for some outputs of the backbone leaves others unused)."""
        wanted, nodes = set(outputs), []
        for node in reversed(self.nodes):
            if wanted.intersection(node.output):
                nodes.append(node)
                wanted.update(node.input)
        constants = [c for c in self.initializers if c.name in wanted]
        return nodes[::-1], constants
