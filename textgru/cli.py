"""The `textgru` command.

    textgru train classify --dataset rotten_tomatoes --out runs/rt
    textgru evaluate runs/rt
    textgru predict runs/rt "A gem of a film." "A dull mess."
    textgru export runs/rt --out exports/rt
    textgru serve exports/rt --port 8000
    textgru train lm --dataset shakespeare --out runs/lm
    textgru train classify --from-lm runs/rt-lm --out runs/rt-transfer
    textgru generate runs/lm --prompt "ROMEO:" --temperature 0.8 --seed 1
    textgru gates runs/rt "not bad at all" --out gates.png
    textgru datasets
    textgru demo
    textgru launch --num-processes 2 -- train classify --distribute multi-host

The flags of `textgru train TASK` are generated from the task's config
dataclass (`textgru.tasks.ClassifierConfig`, `LanguageModelConfig`, and
`TransferConfig` with `--from-lm`); the tasks are those of `textgru.tasks.TASKS`.
A problem the user can fix prints one line, `textgru: error: ...`, and exits
with code 2.
"""

import argparse
import dataclasses
import json
import os
import re
import sys
import types
import typing

from textgru import _quiet, _status, _xla_cache
from textgru.data.catalog import data_home


class _Parser(argparse.ArgumentParser):
    """argparse that reports a usage error in one line (and exits 2), and
    takes no abbreviated flags (`--lr` is not `--lr-decay`)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)

    def error(self, message):
        self.exit(2, f"textgru: error: {message} (see `{self.prog} --help`)\n")


def _optional(kind):
    def parse(text):
        return None if text.lower() == "none" else kind(text)

    parse.__name__ = kind.__name__
    return parse


def _json_object(text):
    """A flag's value given as a JSON object (`--cell-args '{"alpha": 0.5}'`)."""
    try:
        value = json.loads(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"not JSON ({error})") from None
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError("expected a JSON object such as '{\"a\": 1}'")
    return value


def _flag(name):
    return "--" + name.replace("_", "-")


def add_config_flags(parser, config_class, variant=None):
    """One flag per field of the dataclass `config_class`, defaulting to unset.

    With `variant` (a task whose config subclasses `config_class`, picked by
    its `switch` field, such as transfer by `--from-lm`), its fields get
    flags too, and the help shows its defaults where they differ."""
    variant_class = variant.config_class if variant else config_class
    switch = _flag(variant.switch) if variant else None
    hints = typing.get_type_hints(variant_class)
    base = {field.name: field for field in dataclasses.fields(config_class)}
    for field in dataclasses.fields(variant_class):
        hint = hints[field.name]
        flag = _flag(field.name)
        own = base.get(field.name)
        if own is None and flag == switch:
            default = f"default: none; picks {variant.switch_help}"
        elif own is None:
            default = f"with {switch}; default: {field.metadata['shown']}"
        elif field.default != own.default:
            default = (
                f"default: {own.metadata['shown']}; with {switch}: "
                f"{field.metadata['shown']}"
            )
        else:
            default = f"default: {field.metadata['shown']}"
        help_text = f"{(own or field).metadata.get('help', '')} ({default})"
        if hint is bool:
            parser.add_argument(
                flag,
                dest=field.name,
                action=argparse.BooleanOptionalAction,
                default=None,
                help=help_text,
            )
            continue
        kinds = typing.get_args(hint) if isinstance(hint, types.UnionType) else (hint,)
        kind = next(k for k in kinds if k is not type(None))
        if kind is dict:
            kind = _json_object
        parse = _optional(kind) if type(None) in kinds else kind
        metavar = "JSON" if kind is _json_object else kind.__name__.upper()
        parser.add_argument(
            flag,
            dest=field.name,
            type=parse,
            default=None,
            metavar=metavar,
            help=help_text,
        )


def config_from_args(config_class, args, inherited=(), variant=None):
    """The config made of the flags given on the command line (others default).

    Flags of fields that `config_class` lacks (a `variant`'s own, without its
    switch), and with the switch the `inherited` fields (those the run it
    starts from decides), are refused."""
    from textgru.errors import InvalidArgumentError

    names = {field.name for field in dataclasses.fields(config_class)}
    given = {
        name: value
        for name, value in vars(args).items()
        if value is not None
        and name not in ("command", "task", "verbose", "quiet", "trust_code")
    }
    unknown = sorted(set(given) - names)
    if unknown:
        where = (
            f"with {_flag(variant.switch)} ({variant.switch_help})"
            if variant
            else "with another task"
        )
        raise InvalidArgumentError(f"{', '.join(map(_flag, unknown))}: only {where}")
    if variant and given.get(variant.switch):
        fixed = sorted(set(given) & set(inherited))
        if fixed:
            raise InvalidArgumentError(
                f"{', '.join(map(_flag, fixed))}: with {_flag(variant.switch)} the "
                "tokenizer and network sizes are those of the run it starts from; "
                "drop these flags"
            )
    return config_class.from_dict(given)


def _add_trust_flag(parser):
    parser.add_argument(
        "--trust-code",
        action="store_true",
        help="let a run made with a cell of your own import the cell's module "
        "(only for runs you trust: importing a module runs its code)",
    )


def _parser(argv=None):
    """The command line for `argv`. The flags of `textgru train TASK` come
    from the task configs, so they are added (importing the tasks and the
    backend) only when the command is `train`, or for the whole parser
    (`argv=None`)."""
    from textgru._version import __version__

    parser = _Parser(
        prog="textgru",
        description="Text classification and language modelling with a GRU "
        "written from its gate equations (Keras 3).",
    )
    parser.add_argument("--version", action="version", version=f"textgru {__version__}")
    parser.add_argument(
        "--quiet",
        action="store_true",
        help="no status lines and no progress bars, only results and errors; the "
        "same as TEXTGRU_QUIET=1",
    )
    parser.add_argument(
        "--verbose",
        action="store_true",
        help="also show the backend's own log lines (TensorFlow, XLA); the same as "
        "TEXTGRU_VERBOSE=1",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    _add_train(commands, argv)
    _add_evaluate(commands)
    _add_predict(commands)
    _add_export(commands)
    _add_serve(commands)
    _add_generate(commands)
    _add_gates(commands)
    _add_datasets(commands)
    _add_launch(commands)
    _add_demo(commands)
    return parser


def _add_train(commands, argv):
    """`textgru train TASK`: each task's flags (added only when needed)."""
    train = commands.add_parser("train", help="train a model and write a run directory")
    tasks = train.add_subparsers(dest="task", metavar="TASK", required=True)
    if argv is None or _command(argv) == "train":
        _add_tasks(tasks)


def _add_evaluate(commands):
    """`textgru evaluate RUN`."""
    evaluate = commands.add_parser(
        "evaluate",
        help="metrics of a trained run on labelled texts",
        description="Score a trained classifier on its own test split, or on every "
        "row of another labelled file. Prints a short table: the number of texts, "
        "accuracy, macro-F1, ROC-AUC and PR-AUC (two labels), the expected "
        "calibration error, precision, recall and F1 per class, and the confusion "
        "matrix (rows: true label, columns: predicted); --json prints the full "
        "report as one JSON object instead; --errors FILE writes the texts it "
        "gets wrong.",
    )
    _add_trust_flag(evaluate)
    evaluate.add_argument("run_dir", help="a run directory from `textgru train`")
    evaluate.add_argument(
        "--dataset",
        help="a labelled file or dataset to score (default: the run's own dataset)",
    )
    evaluate.add_argument(
        "--text-column",
        help="the column with the texts (default: the run's own, usually text)",
    )
    evaluate.add_argument(
        "--label-column",
        help="the column with the labels (default: the run's own, usually label)",
    )
    evaluate.add_argument(
        "--label-separator",
        help="of a multi-label run: what separates the labels in a string of "
        "another --dataset (default: the run's own)",
    )
    evaluate.add_argument(
        "--target-column",
        help="of a regression run: the column with the numbers (default: the "
        "run's own, usually target)",
    )
    evaluate.add_argument(
        "--split",
        default=None,
        choices=["train", "validation", "test", "all"],
        help="which rows to score (default: test of the run's own dataset; all "
        "rows of another --dataset)",
    )
    evaluate.add_argument(
        "--json", action="store_true", help="print the full report as JSON"
    )
    evaluate.add_argument(
        "--errors",
        metavar="FILE",
        help="also write the texts the run gets wrong to FILE (.csv or .jsonl, a "
        "new file), the most confidently wrong first: text, label, predicted, "
        "probability, p_true and each label's probability (of a multi-label run: "
        "the texts whose set of labels is wrong, with the missed and extra "
        "labels; of a regression run: every text, the largest error first: "
        "text, target, predicted, error)",
    )


def _add_predict(commands):
    """`textgru predict RUN TEXT...`."""
    predict = commands.add_parser(
        "predict",
        help="label texts with a trained run",
        description="Label texts with a trained classifier. Prints one line per "
        "input text, in order: the label, its probability and the text, separated "
        "by tabs (--json: one JSON object per text with every class's "
        "probability). A blank input line gets the prediction for the empty text, "
        "so output line N is always input line N. Of a multi-label run: the "
        "labels that reach their thresholds, joined by |, and the text (--json: "
        "labels and every probability). Of a regression run: the number and the "
        "text (--json: text and value).",
    )
    _add_trust_flag(predict)
    predict.add_argument(
        "run_dir",
        help="a run directory from `textgru train`, or an export from `textgru "
        "export` (read without TensorFlow)",
    )
    predict.add_argument(
        "texts", nargs="*", help="texts (default: the lines of --file, or of stdin)"
    )
    predict.add_argument("--file", help="a UTF-8 file with one text per line")
    predict.add_argument(
        "--input",
        help="label a file of any size instead: CSV, JSON lines or Parquet (by its "
        "extension), the texts in --text-column; needs --output",
    )
    predict.add_argument(
        "--output",
        help="where --input's labels go: .csv, .jsonl or .parquet (text, label, "
        "probability, p_<label> for each label), written whole or not at all",
    )
    predict.add_argument(
        "--text-column", help="--input's text column (default: the run's, or text)"
    )
    predict.add_argument(
        "--overwrite", action="store_true", help="replace an --output file"
    )
    predict.add_argument(
        "--json", action="store_true", help="print one JSON object per text"
    )
    predict.add_argument(
        "--top-k",
        type=int,
        metavar="K",
        help="with --json: also give the K likeliest labels with their "
        "probabilities, as top (of a multi-label run: whatever their thresholds)",
    )
    predict.add_argument(
        "--allow-partial",
        action="store_true",
        help="also use an unfinished <out>.partial run, unchecked",
    )


def _add_export(commands):
    """`textgru export RUN --out DIR`."""
    export = commands.add_parser(
        "export",
        help="export a trained classifier or language model to use without TensorFlow",
        description="Write a trained classifier as a folder that predicts texts "
        "without TensorFlow: onnx (default; the network as an ONNX graph, with "
        "the tokenizer and labels, run by onnxruntime: `textgru predict DIR`, "
        "`textgru.load(DIR)`), or tf_saved_model (Keras's own TensorFlow "
        "SavedModel from token ids, for TF Serving; any cell). A language model "
        "exports its one-step graph as onnx (`textgru generate DIR`). The export "
        "is checked against the run on probe inputs before it is finished.",
    )
    _add_trust_flag(export)
    export.add_argument(
        "run_dir", help="a classifier or language-model run from `textgru train`"
    )
    export.add_argument("--out", required=True, help="the export folder to write")
    export.add_argument(
        "--format",
        choices=("onnx", "tf_saved_model"),
        default="onnx",
        help="onnx (default) or tf_saved_model",
    )
    export.add_argument(
        "--overwrite", action="store_true", help="replace an export already at --out"
    )


def _add_serve(commands):
    """`textgru serve RUN_OR_EXPORT`."""
    serve = commands.add_parser(
        "serve",
        help="serve a classifier (a run or its export) over HTTP",
        description="Serve a classifier over HTTP (FastAPI on uvicorn): POST "
        '/predict with {"texts": [...]} answers each text\'s label and '
        'probabilities; POST /gates with {"text": ...} each token\'s update '
        "gate; GET / a page that shows both; GET /health; GET /openapi.json. "
        "An export is served "
        "without TensorFlow. Listens on 127.0.0.1 unless --host says otherwise; "
        "stops on Ctrl-C or SIGTERM once the requests in flight are answered.",
    )
    _add_trust_flag(serve)
    serve.add_argument("run_dir", help="a classifier run, or its export")
    serve.add_argument(
        "--host", default="127.0.0.1", help="the address to listen on (127.0.0.1)"
    )
    serve.add_argument(
        "--port", type=int, default=8000, help="the port (8000; 0 picks a free one)"
    )
    serve.add_argument(
        "--api-key",
        help="answer /predict only with this key (Authorization: Bearer KEY or "
        "X-API-Key: KEY); TEXTGRU_API_KEY sets it without showing it in the "
        "process list",
    )
    serve.add_argument(
        "--max-texts", type=int, default=256, help="texts per request (256)"
    )
    serve.add_argument(
        "--max-chars", type=int, default=10_000, help="characters per text (10000)"
    )
    serve.add_argument(
        "--max-bytes",
        type=int,
        default=1 << 20,
        help="bytes per request body (1048576)",
    )


def _add_generate(commands):
    """`textgru generate RUN`."""
    gen = commands.add_parser("generate", help="generate text with a trained LM run")
    _add_trust_flag(gen)
    gen.add_argument(
        "run_dir",
        help="a run directory from `textgru train lm`, or its export from `textgru "
        "export` (read without TensorFlow)",
    )
    gen.add_argument(
        "--prompt", default="", help="text to continue (default: a new text)"
    )
    gen.add_argument(
        "--max-new-tokens",
        type=int,
        default=300,
        help="the most tokens to add; fewer if [EOS] comes (default: 300)",
    )
    gen.add_argument(
        "--temperature",
        type=float,
        default=0.8,
        help="0 is greedy; higher is more random (default: 0.8)",
    )
    gen.add_argument(
        "--top-k",
        type=int,
        default=None,
        help="sample among the k most likely tokens only (default: all tokens)",
    )
    gen.add_argument(
        "--top-p",
        type=float,
        default=None,
        help="sample among the most likely tokens whose probabilities add up to p "
        "(nucleus sampling; default: all tokens)",
    )
    gen.add_argument(
        "--seed",
        type=int,
        default=None,
        help="the same seed gives the same text (default: a new text each time)",
    )
    gen.add_argument(
        "--num-samples",
        type=int,
        default=1,
        help="how many continuations, one after the other (default: 1)",
    )


def _add_gates(commands):
    """`textgru gates RUN TEXT... --out IMAGE`."""
    gates = commands.add_parser(
        "gates",
        help="draw a trained run's GRU gates over texts (a heatmap image)",
        description="Draw the gates of a trained run's GRU, token by token "
        "(textgru.interpret.gate_activations and plots.gate_heatmap).",
    )
    _add_trust_flag(gates)
    gates.add_argument("run_dir", help="a run directory from `textgru train`")
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


def _add_datasets(commands):
    """`textgru datasets`."""
    listing = commands.add_parser(
        "datasets", help="list the built-in datasets (they load with no internet)"
    )
    listing.add_argument(
        "--json", action="store_true", help="print one JSON object per dataset"
    )


def _add_launch(commands):
    """`textgru launch --num-processes N -- COMMAND`."""
    launcher = commands.add_parser(
        "launch",
        help="run a multi-host training command as N processes on this machine",
        description="Start N processes of `textgru ...` on this machine, as a "
        "cluster of N hosts would run them (each with --distribute multi-host, "
        "on the JAX backend): it picks a free loopback port for process 0, sets "
        "KERAS_DISTRIBUTION_JOB_ADDRESSES, _NUM_PROCESSES and _PROCESS_ID for "
        "each, and stops them all if one fails or the time runs out. Example: "
        "textgru launch --num-processes 2 -- train classify --distribute "
        "multi-host --out runs/rt-2p",
    )
    launcher.add_argument(
        "--num-processes", type=int, required=True, help="processes to start"
    )
    launcher.add_argument(
        "--timeout",
        type=float,
        default=None,
        help="stop every process after this many seconds (default: no limit)",
    )
    launcher.add_argument(
        "command_line",
        nargs=argparse.REMAINDER,
        metavar="-- COMMAND",
        help="the textgru command each process runs",
    )


def _add_demo(commands):
    """`textgru demo`."""
    demo = commands.add_parser(
        "demo", help="train a tiny textgru.GRU model on a toy counting task"
    )
    demo.add_argument("--epochs", type=int, default=None, help="training epochs")
    demo.add_argument("--seed", type=int, default=None, help="random seed")


def _command(argv):
    """The command word of `argv` (the first argument that is not a flag)."""
    return next((arg for arg in argv if not arg.startswith("-")), None)


def _add_tasks(tasks):
    from textgru.tasks import TASKS, VARIANTS

    for name, task in TASKS.items():
        variant = VARIANTS.get(name)
        parser = tasks.add_parser(name, help=task.help, description=task.description)
        add_config_flags(parser, task.config_class, variant)
        _add_trust_flag(parser)  # for the run --from-lm names


def _train(args):
    from textgru.tasks import TASKS, VARIANTS
    from textgru.tasks.transfer import resolve_from_lm

    task, variant = TASKS[args.task], VARIANTS.get(args.task)
    if variant and getattr(args, variant.switch, None):
        task = variant
    config = config_from_args(
        task.config_class, args, task.config_class.architecture(), variant
    )
    if getattr(config, "from_lm", None):
        # The one place a run may be trained first: `--from-lm pretrained`.
        config = config.replace(from_lm=resolve_from_lm(config.from_lm))
    run = task.train(config, verbose=_fit_verbosity())
    if run is None:
        return _trained_elsewhere(config)
    print(task.summary(run))


def _fit_verbosity():
    """Keras's progress bar on a terminal; one line per epoch when the output
    goes to a file or a pipe (the bar's carriage returns would fill it);
    nothing with --quiet."""
    if _status.quiet():
        return 0
    return "auto" if sys.stdout is not None and sys.stdout.isatty() else 2


def _trained_elsewhere(config):
    print(f"training done; process 0 wrote the run to {config.out}")


def _launch(args):
    from textgru.training.launch import launch

    return launch(args.command_line, args.num_processes, timeout=args.timeout)


def _generate(args):
    from textgru.deploy import runtime

    if runtime.is_export(args.run_dir):
        run = runtime.load_export(args.run_dir, task="lm")
    else:
        from textgru.tasks import LanguageModelRun

        run = LanguageModelRun.load(args.run_dir)
    _status.say(f"generating {args.num_samples} x {args.max_new_tokens} tokens")
    texts = run.generate(
        args.prompt,
        max_new_tokens=args.max_new_tokens,
        temperature=args.temperature,
        top_k=args.top_k,
        top_p=args.top_p,
        seed=args.seed,
        num_samples=args.num_samples,
    )
    for text in [texts] if isinstance(texts, str) else texts:
        print(args.prompt + text)


def _scoring_run(path, allow_partial=False):
    """The classifier, multi-label classifier or regressor run at `path`
    (any other run is refused as not a classifier's, in one line)."""
    from textgru.tasks import ClassifierRun, MultiLabelRun, RegressorRun
    from textgru.training import run_directory

    task = run_directory.read_config(path, allow_partial=allow_partial).get("task")
    kinds = {kind.task.name: kind for kind in (RegressorRun, MultiLabelRun)}
    return kinds.get(task, ClassifierRun).load(path, allow_partial=allow_partial)


def _evaluate(args):
    from textgru.errors import InvalidArgumentError
    from textgru.tasks import MultiLabelRun, RegressorRun

    run = _scoring_run(args.run_dir)
    if args.label_separator and not isinstance(run, MultiLabelRun):
        raise InvalidArgumentError(
            f"{args.run_dir} has one label per text: --label-separator is for "
            "multi-label runs"
        )
    # Each kind of run: the column flag it reads, the one it refuses (with
    # why), and how its report is printed.
    if isinstance(run, RegressorRun):
        column, refused, table = "target_column", "label_column", _regression_line
        why = "is a regression run: --label-column is for classifiers (its column "
        why += "of numbers is --target-column)"
    else:
        column, refused = "label_column", "target_column"
        kind = (
            "multi-label classifier" if isinstance(run, MultiLabelRun) else "classifier"
        )
        why = f"is a {kind}: its labels are --label-column"
        table = _multi_label_table if isinstance(run, MultiLabelRun) else _report_table
    if getattr(args, refused):
        raise InvalidArgumentError(f"{args.run_dir} {why}")
    options = {column: getattr(args, column)}
    if isinstance(run, MultiLabelRun):
        options["label_separator"] = args.label_separator
    report = run.evaluate(
        args.dataset,
        args.split,
        text_column=args.text_column,
        errors=args.errors,
        **options,
    )
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(table(report))


def _regression_line(report):
    """A regression report in one line."""

    def shown(value):
        return "undefined" if value is None else f"{value:.4f}"

    return (
        f"{report['num_examples']} texts: MAE {report['mae']:.4f}, RMSE "
        f"{report['rmse']:.4f}, Pearson r {shown(report['pearson'])}, Spearman "
        f"{shown(report['spearman'])}"
    )


def _report_table(report):
    """A classification report as a few lines of text."""
    names = report["label_names"]
    width = max(10, *map(len, map(str, names)))
    threshold = report.get("threshold")
    decided = (
        f" ({names[1]} where its probability >= {threshold:.3f})"
        if threshold is not None
        else ""
    )
    lines = [
        f"{report['num_examples']} texts: accuracy {report['accuracy']:.4f}, "
        f"macro-F1 {report['macro_f1']:.4f}{decided}",
        _probability_line(report),
        "",
        f"{'label':<{width}}  precision  recall      f1  support",
    ]
    for name in names:
        row = report["per_class"][str(name)]
        lines.append(
            f"{name!s:<{width}}  {row['precision']:>9.4f}  {row['recall']:>6.4f}  "
            f"{row['f1']:>6.4f}  {row['support']:>7}"
        )
    lines += ["", "confusion matrix (rows: true label, columns: predicted)"]
    lines.append(" " * width + "  " + "  ".join(f"{n!s:>8}" for n in names))
    for name, counts in zip(names, report["confusion_matrix"], strict=True):
        lines.append(
            f"{name!s:<{width}}  " + "  ".join(f"{count:>8}" for count in counts)
        )
    return "\n".join(lines)


def _multi_label_table(report):
    """A multi-label report as a few lines of text."""
    names = report["label_names"]
    width = max(10, *map(len, names))
    auc = report.get("macro_roc_auc")
    lines = [
        f"{report['num_examples']} texts: micro-F1 {report['micro_f1']:.4f}, "
        f"macro-F1 {report['macro_f1']:.4f}, subset accuracy "
        f"{report['subset_accuracy']:.4f}, Hamming loss {report['hamming_loss']:.4f}"
        + ("" if auc is None else f", macro ROC-AUC {auc:.4f}"),
        "",
        f"{'label':<{width}}  threshold  precision  recall      f1  support",
    ]
    for name in names:
        row = report["per_label"][name]
        lines.append(
            f"{name:<{width}}  {row['threshold']:>9.3f}  {row['precision']:>9.4f}  "
            f"{row['recall']:>6.4f}  {row['f1']:>6.4f}  {row['support']:>7}"
        )
    return "\n".join(lines)


def _probability_line(report):
    """The probabilities' measures of a report, in one line."""
    parts = []
    if report.get("roc_auc") is not None:
        parts.append(f"ROC-AUC {report['roc_auc']:.4f}")
    if report.get("pr_auc") is not None:
        parts.append(f"PR-AUC {report['pr_auc']:.4f} ({report['positive_label']})")
    parts.append(f"expected calibration error {report['ece']:.4f}")
    if report.get("temperature") is not None:
        parts.append(f"temperature {report['temperature']:.3f}")
    return ", ".join(parts)


def _read_texts(args, keep_blank=False):
    """The texts to read: arguments, `--file` or stdin lines. With
    `keep_blank`, blank lines stay, so output lines match input lines."""
    from textgru.errors import InvalidArgumentError

    if args.texts:
        texts = args.texts
    elif args.file:
        try:
            with open(args.file, encoding="utf-8") as file:
                texts = file.read().splitlines()
        except FileNotFoundError:
            raise InvalidArgumentError(f"No such file: {args.file}") from None
        except IsADirectoryError:
            raise InvalidArgumentError(
                f"--file {args.file} is a folder; give a text file"
            ) from None
        except UnicodeDecodeError:
            raise InvalidArgumentError(f"{args.file} is not UTF-8 text") from None
    else:
        if sys.stdin is not None and sys.stdin.isatty():
            print(
                "textgru: reading texts from stdin, one per line; end with Ctrl-D "
                "(or give texts as arguments, or --file)",
                file=sys.stderr,
            )
        try:  # bytes, so that text that is not UTF-8 is named, not a traceback
            stream = getattr(sys.stdin, "buffer", sys.stdin)
            data = stream.read()
        except (AttributeError, OSError, ValueError):  # no stdin, or closed
            data = b""
        try:
            text = data.decode("utf-8") if isinstance(data, bytes) else data
            texts = text.splitlines()
        except UnicodeDecodeError as error:
            line = data[: error.start].count(b"\n") + 1
            raise InvalidArgumentError(
                f"The text on stdin is not UTF-8 (line {line}, byte "
                f"{error.start + 1}); convert it first, e.g. with iconv -t UTF-8"
            ) from None
    if not keep_blank or not any(t.strip() for t in texts):
        texts = [t for t in texts if t.strip()]
    if not texts:
        raise InvalidArgumentError(
            "No text given: give texts as arguments, --file, or lines on stdin"
        )
    return texts


def _predict(args):
    from textgru.deploy import runtime

    if runtime.is_export(args.run_dir):
        run = runtime.load_export(args.run_dir, task="classify")
    else:
        run = _scoring_run(args.run_dir, allow_partial=args.allow_partial)
    if not hasattr(run, "label_names"):  # a regressor: one number per text
        return _predict_numbers(run, args)
    # A multi-label run has a threshold per label (checked by attribute: an
    # export is read without importing the tasks).
    multi_label = hasattr(run, "thresholds")
    if args.top_k is not None and not args.json:
        from textgru.errors import InvalidArgumentError

        raise InvalidArgumentError(
            "--top-k adds the likeliest labels to the JSON output; add --json"
        )
    if args.input or args.output:
        if multi_label:
            from textgru.errors import InvalidArgumentError

            raise InvalidArgumentError(
                f"{args.run_dir} is a multi-label run; --input/--output label files "
                "with a one-label classifier (pass texts, --file or stdin, with "
                "--json for every probability)"
            )
        return _label_file(run, args)
    texts = _read_texts(args, keep_blank=True)
    _status.say(f"labelling {len(texts):,} text(s)")
    for result in run.predict(texts, top_k=args.top_k):
        if args.json:
            print(json.dumps(result, ensure_ascii=False, allow_nan=False))
        elif multi_label:
            print(f"{'|'.join(map(str, result['labels']))}\t{result['text']}")
        else:
            print(f"{result['label']}\t{result['probability']:.4f}\t{result['text']}")


def _predict_numbers(run, args):
    from textgru.errors import InvalidArgumentError

    if args.input or args.output:
        raise InvalidArgumentError(
            f"{args.run_dir} is a regression run; --input/--output label files "
            "with a classifier (pass texts, --file or stdin for its numbers)"
        )
    if args.top_k is not None:
        raise InvalidArgumentError(
            f"{args.run_dir} is a regression run: it predicts one number per "
            "text, with no labels for --top-k"
        )
    texts = _read_texts(args, keep_blank=True)
    _status.say(f"predicting {len(texts):,} text(s)")
    for text, value in zip(texts, run.predict(texts), strict=True):
        if args.json:
            print(json.dumps({"text": text, "value": float(value)}, ensure_ascii=False))
        else:
            print(f"{value:.4f}\t{text}")


def _label_file(run, args):
    from textgru.deploy.labelling import label_file
    from textgru.errors import InvalidArgumentError

    if not (args.input and args.output) or args.texts or args.file:
        raise InvalidArgumentError(
            "--input and --output go together, without texts or --file"
        )
    column = args.text_column or getattr(
        getattr(run, "config", None), "text_column", None
    )
    column = column or getattr(run, "spec", {}).get("text_column")
    label_file(
        run, args.input, args.output, text_column=column, overwrite=args.overwrite
    )


def _export(args):
    from textgru.deploy.exporter import export

    export(
        args.run_dir,
        args.out,
        format=args.format,
        overwrite=args.overwrite,
        trust_code=args.trust_code,
    )


def _serve(args):
    from textgru.deploy.server import serve

    serve(
        args.run_dir,
        host=args.host,
        port=args.port,
        api_key=args.api_key,
        trust_code=args.trust_code,
        max_texts=args.max_texts,
        max_chars=args.max_chars,
        max_bytes=args.max_bytes,
    )


def _gates(args):
    from textgru.interpret import gate_activations, plots
    from textgru.tasks import ClassifierRun, load_run

    run = load_run(args.run_dir)
    texts = _read_texts(args)
    activations = gate_activations(
        run,
        texts,
        layer=int(args.layer) if args.layer.lstrip("-").isdigit() else args.layer,
        direction=args.direction,
    )
    gates = args.gate or [activations[0].gates[0]]
    predicted = [""] * len(texts)
    if isinstance(run, ClassifierRun):
        predicted = [
            f", predicted {result['label']} ({result['probability']:.2f})"
            for result in run.predict(texts)
        ]
    titles = [
        f"{_short(acts.text)!r}{guess}: {gate} gate of {acts.layer}"
        + (f" ({acts.direction})" if acts.direction == "backward" else "")
        for acts, guess in zip(activations, predicted, strict=True)
        for gate in gates
    ]
    figure = plots.gate_heatmap(
        activations, gate=gates, units=_units(args.units), titles=titles
    )
    print(f"wrote {plots.save(figure, args.out)}")


def _short(text, limit=60):
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _units(text):
    from textgru.errors import InvalidArgumentError

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


def _datasets(args):
    from textgru.data.catalog import data_home, is_cached, list_datasets

    rows = [
        {
            "name": spec.name,
            "task": spec.task,
            "texts": spec.num_texts,
            "labels": list(spec.labels),
            "cached": is_cached(spec.name),
            "source": spec.source,
            "description": spec.description,
        }
        for spec in list_datasets()
    ]
    if args.json:
        for row in rows:
            print(json.dumps(row))
        return
    print(f"{'name':<16} {'task':<18} {'texts':>6}  {'cached':<6}  description")
    for row in rows:
        cached = "yes" if row["cached"] else "no"
        print(
            f"{row['name']:<16} {row['task']:<18} {row['texts']:>6}  {cached:<6}  "
            f"{row['description']} [{row['source']}]"
        )
    print(f"\ndata home: {data_home()} (set TEXTGRU_HOME to move it)")


def _demo(args):
    from textgru.tasks.demo import DemoConfig, run_demo

    overrides = {
        k: v for k, v in (("epochs", args.epochs), ("seed", args.seed)) if v is not None
    }
    result = run_demo(DemoConfig(**overrides))
    print(json.dumps(result, indent=2))


_EROFS = 30  # errno.EROFS: a read-only file system is the user's to choose around
_USER_OS_ERRORS = (
    PermissionError,
    FileExistsError,
    FileNotFoundError,
    IsADirectoryError,
    NotADirectoryError,
)


def _in_flags(message, args=None):
    """A library message in the command line's words: a config field written
    as Python (`text_column=...`, `label_column='stars'`, `epochs=0`,
    `` `learning_rate` ``) becomes its flag (`--text-column ...`,
    `--label-column stars`, `--epochs 0`, `--learning-rate`)."""
    from textgru.tasks import TASKS, VARIANTS

    fields = {
        field.name
        for task in (*TASKS.values(), *VARIANTS.values())
        for field in dataclasses.fields(task.config_class)
    }
    if args is not None:  # the command's own options (--temperature, ...)
        fields |= set(vars(args)) - {"command", "task", "run_dir", "texts"}

    def assignment(match):
        name, value = match.group(1), match.group(2)
        if name not in fields:
            return match.group(0)
        if value == "True":  # a switch
            return f"--{name.replace('_', '-')}"
        return f"--{name.replace('_', '-')} {value.strip(chr(39))}"

    def quoted(match):
        name = match.group(1)
        return f"--{name.replace('_', '-')}" if name in fields else match.group(0)

    message = re.sub(
        r"\b([a-z][a-z_]*)=(\.\.\.|'[^']*'|[^\s,;)]+)", assignment, message
    )
    return re.sub(r"`([a-z][a-z_]*)`", quoted, message)


def _os_message(error):
    import errno

    what = error.strerror or str(error) or type(error).__name__
    where = f": {error.filename}" if error.filename else ""
    hint = ""
    if error.errno == errno.ENOSPC:
        hint = "; free some space, then --resume the run"
    elif error.errno == errno.EROFS:
        hint = "; the disk is read-only: choose a place on a writable one (--out)"
    elif isinstance(error, PermissionError):
        hint = "; choose a place you can write to (--out, or TEXTGRU_HOME for data)"
    return f"{what}{where}{hint}"


# Commands that never need the backend (the others import it quietly first).
LIGHT_COMMANDS = ("datasets", "launch")
COMMANDS = {
    "train": _train,
    "launch": _launch,
    "evaluate": _evaluate,
    "predict": _predict,
    "export": _export,
    "serve": _serve,
    "generate": _generate,
    "gates": _gates,
    "datasets": _datasets,
    "demo": _demo,
}


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    saved = {name: os.environ.get(name) for name in (_quiet.VERBOSE, _status.QUIET)}
    command = _command(argv)
    leading = argv[: argv.index(command)] if command else argv
    for flag, name in (("--verbose", _quiet.VERBOSE), ("--quiet", _status.QUIET)):
        if flag in leading:
            os.environ[name] = "1"
    try:
        _quiet.configure()  # before the backend is first imported
        _xla_cache.configure(data_home())
        with _quiet.filtered_stderr():
            return _run(argv)
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _reads_an_export(args):
    """Whether the command predicts with an export (onnxruntime: no backend)."""
    from textgru.deploy import runtime

    return args.command in ("predict", "generate", "serve") and runtime.is_export(
        args.run_dir
    )


def _run(argv):
    parser = _parser(argv)
    # Texts may come after flags (`predict RUN --json "a text"`): argparse
    # gives the texts' list up at the first flag, so what is left over is
    # taken as more texts where the command reads texts.
    args, extra = parser.parse_known_args(argv)
    if extra:
        texts = getattr(args, "texts", None)
        if texts is None or any(arg.startswith("-") for arg in extra):
            parser.error(f"unrecognized arguments: {' '.join(extra)}")
        args.texts = [*texts, *extra]
    if args.command is None:
        parser.print_help()
        return 0
    from textgru.errors import TextgruError, message_of

    try:
        if args.command in LIGHT_COMMANDS or _reads_an_export(args):
            code = COMMANDS[args.command](args)
        else:
            _quiet.import_backend()
            from textgru.layers.cell_path import trusting_code

            with trusting_code(getattr(args, "trust_code", False)):
                code = COMMANDS[args.command](args)
    except TextgruError as error:
        message = _in_flags(message_of(error), args)
        print(f"textgru: error: {message}", file=sys.stderr)
        return 2
    except OSError as error:
        # A place the user named that cannot be used is theirs to fix (2); a
        # full disk or another failure of the system is an I/O error (1).
        print(f"textgru: error: {_os_message(error)}", file=sys.stderr)
        user = isinstance(error, _USER_OS_ERRORS) or error.errno == _EROFS
        return 2 if user else 1
    except KeyboardInterrupt:
        print("textgru: interrupted", file=sys.stderr)
        return 130
    return code or 0


if __name__ == "__main__":
    sys.exit(main())
