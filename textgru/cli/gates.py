"""`textgru gates RUN_OR_EXPORT TEXT... --out IMAGE`: a heatmap of a GRU's
gates over texts, from a run (every gate) or an ONNX export (its update
gates, from gates.onnx, without TensorFlow)."""

from textgru.cli.flags import add_trust_flag, read_texts
from textgru.deploy import runtime
from textgru.errors import InvalidArgumentError


def add_to(commands, argv):
    """`textgru gates RUN TEXT... --out IMAGE`."""
    gates = commands.add_parser(
        "gates",
        help="draw a trained run's GRU gates over texts (a heatmap image)",
        description="Draw the gates of a trained run's GRU, token by token "
        "(textgru.interpret.gate_activations and plots.gate_heatmap). An ONNX "
        "export draws its update gates from its gates.onnx, without TensorFlow: "
        "the same values as its run's, to 1e-5.",
    )
    add_trust_flag(gates)
    gates.add_argument(
        "run_dir", help="a run directory from `textgru train`, or its ONNX export"
    )
    gates.add_argument("texts", nargs="*", help="texts (default: --file or stdin)")
    gates.add_argument("--file", help="a UTF-8 file with one text per line")
    gates.add_argument(
        "--out", required=True, help="the image to write (.png, .svg, .pdf, ...)"
    )
    gates.add_argument(
        "--gate",
        nargs="+",
        default=None,
        choices=["update", "reset", "candidate", "hidden"],
        help="what to draw, one panel each (default: the cell's first gate, "
        "update for a GRU)",
    )
    gates.add_argument(
        "--units",
        default="16",
        help="'mean', a count k (the k units that change most), or indices "
        "like 3,17,42 (default: 16)",
    )
    gates.add_argument(
        "--layer", default="0", help="the GRU: an index (default 0) or a layer name"
    )
    gates.add_argument(
        "--direction",
        default="forward",
        choices=["forward", "backward"],
        help="the half of a bidirectional GRU to draw (default: forward)",
    )


def needs_backend(args):
    return not runtime.is_export(args.run_dir)


def run(args):
    from textgru.deploy.loading import load
    from textgru.interpret import plots

    model = load(args.run_dir, trust_code=args.trust_code)
    texts = read_texts(args)
    activations = model.gate_activations(
        texts,
        layer=int(args.layer) if args.layer.lstrip("-").isdigit() else args.layer,
        direction=args.direction,
    )
    gates = args.gate or [activations[0].gates[0]]
    head = model.head
    answered = [""] * len(texts)
    if head is not None:
        answered = [f", predicted {head.summary(a)}" for a in model.answers(texts)]
    titles = [
        f"{_short(acts.text)!r}{guess}: {gate} gate of {acts.layer}"
        + (f" ({acts.direction})" if acts.direction == "backward" else "")
        for acts, guess in zip(activations, answered, strict=True)
        for gate in gates
    ]
    figure = plots.gate_heatmap(
        activations, gate=gates, units=_units(args.units), titles=titles
    )
    print(f"wrote {plots.save(figure, args.out)}")


def _short(text, limit=60):
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _units(text):
    if text == "mean":
        return text
    try:
        numbers = [int(part) for part in text.split(",")]
    except ValueError:
        raise InvalidArgumentError(
            f"Expected --units to be 'mean', a count or indices like 3,17,42. "
            f"Received: {text!r}"
        ) from None
    return numbers[0] if len(numbers) == 1 and "," not in text else numbers
