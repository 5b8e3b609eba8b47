"""`textgru export RUN --out DIR`: a run as a folder that answers without
TensorFlow (`textgru.deploy.export`)."""

from textgru.cli.flags import add_trust_flag
from textgru.deploy.formats import FORMATS


def add_to(commands, argv):
    """`textgru export RUN --out DIR`."""
    export = commands.add_parser(
        "export",
        help="export a trained run of any task to use without TensorFlow",
        description="Write a trained run as a folder that answers texts without "
        "TensorFlow: onnx (default; the network as an ONNX graph, with the "
        "tokenizer and the run's head: its labels and thresholds, run by "
        "onnxruntime: `textgru predict DIR`, `textgru serve DIR`, `textgru gates "
        "DIR`, `textgru.load(DIR)`), or tf_saved_model (Keras's own TensorFlow "
        "SavedModel from token ids, for TF Serving; any cell). A classifier, a "
        "multi-label classifier and a regressor export alike; a language model "
        "exports its one-step graph as onnx (`textgru generate DIR`, `textgru "
        "serve DIR`). The export is checked against the run on probe inputs "
        "before it is finished.",
    )
    add_trust_flag(export)
    export.add_argument("run_dir", help="a run from `textgru train`")
    export.add_argument("--out", required=True, help="the export folder to write")
    export.add_argument(
        "--format",
        choices=tuple(FORMATS),
        default=next(iter(FORMATS)),
        help=f"{' or '.join(FORMATS)} (default: {next(iter(FORMATS))})",
    )
    export.add_argument(
        "--overwrite", action="store_true", help="replace an export already at --out"
    )


def needs_backend(args):
    return True


def check(args):
    """What can be refused before the backend loads (seconds of TensorFlow)."""
    from textgru.deploy.exporter import check_out

    check_out(args.out, args.overwrite)


def run(args):
    from textgru.deploy.exporter import export

    export(
        args.run_dir,
        args.out,
        format=args.format,
        overwrite=args.overwrite,
        trust_code=args.trust_code,
    )
