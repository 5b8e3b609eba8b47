"""`textgru predict RUN_OR_EXPORT TEXT...`: each text's answer, through the
model's head (`textgru.heads`): printed a line each, as JSON, or a whole
file labelled (`--input`/`--output`)."""

import json

from textgru import _status
from textgru.cli.flags import add_threads_flag, add_trust_flag, read_texts
from textgru.deploy import runtime
from textgru.errors import InvalidArgumentError


def add_to(commands, argv):
    """`textgru predict RUN TEXT...`."""
    predict = commands.add_parser(
        "predict",
        help="answer texts with a trained run or its export",
        description="Answer texts with a trained run or its export. Prints one "
        "line per input text, in order, separated by tabs: of a classifier, the "
        "label, its probability and the text (--json: one JSON object per text "
        "with every class's probability); of a multi-label run, the labels that "
        "reach their thresholds, joined by |, and the text (--json: labels and "
        "every probability); of a regression run, the number and the text "
        "(--json: text and prediction). A blank input line gets the answer for "
        "the empty text, so output line N is always input line N.",
    )
    add_trust_flag(predict)
    add_threads_flag(predict)
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
        help="answer a file of any size instead: CSV, JSON lines or Parquet (by "
        "its extension), the texts in --text-column; needs --output",
    )
    predict.add_argument(
        "--output",
        help="where --input's answers go: .csv, .jsonl or .parquet (the input's "
        "columns, then a classifier's label, probability and p_<label> for each "
        "label; a multi-label run's labels and p_<label>; a regression run's "
        "prediction), written whole or not at all",
    )
    predict.add_argument(
        "--text-column", help="--input's text column (default: the run's, or text)"
    )
    predict.add_argument(
        "--columns",
        metavar="A,B,...",
        help="--input's columns to keep in --output, before the answers "
        "(default: all of them, so the answers join back by an id)",
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


def needs_backend(args):
    return not runtime.is_export(args.run_dir)


def run(args):
    from textgru.deploy.labelling import label_file
    from textgru.deploy.loading import load

    model = answering(
        load(
            args.run_dir,
            allow_partial=args.allow_partial,
            trust_code=args.trust_code,
            threads=args.threads,
        )
    )
    if args.top_k is not None and not args.json:
        raise InvalidArgumentError(
            "--top-k adds the likeliest labels to the JSON output; add --json"
        )
    if args.input or args.output:
        if not (args.input and args.output) or args.texts or args.file:
            raise InvalidArgumentError(
                "--input and --output go together, without texts or --file"
            )
        if args.top_k is not None:
            raise InvalidArgumentError("--top-k is for texts, not --input files")
    elif args.columns is not None:
        raise InvalidArgumentError("--columns chooses --input's columns; add --input")
    if args.input or args.output:
        column = args.text_column or model.text_column
        label_file(
            model,
            args.input,
            args.output,
            text_column=column,
            columns=_columns(args.columns),
            overwrite=args.overwrite,
        )
        return
    texts = read_texts(args, keep_blank=True)
    _status.say(f"answering {len(texts):,} text(s)")
    head = model.head
    for answer in model.answers(texts, top_k=args.top_k):
        if args.json:
            print(json.dumps(answer, ensure_ascii=False, allow_nan=False))
        else:
            print(head.line(answer))


def _columns(text):
    if text is None:
        return None
    names = [name.strip() for name in text.split(",")]
    if not all(names):
        raise InvalidArgumentError(
            f"Expected --columns to be column names joined by commas, like id,text. "
            f"Received: {text!r}"
        )
    return names


def answering(model):
    """`model` (a run or an export), refused in one line if it answers no
    texts (a language model generates)."""
    if model.head is None:
        raise InvalidArgumentError(
            f"{model.path} is a {model.task_name!r} model, which generates text "
            "rather than answering it: textgru generate"
        )
    return model
