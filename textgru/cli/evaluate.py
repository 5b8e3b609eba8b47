"""`textgru evaluate RUN`: a run's report on its test split or another
labelled file, over the task's own `evaluate` and `report_text`."""

import json

from textgru.cli.flags import add_trust_flag, command_of, flag_of
from textgru.errors import InvalidArgumentError


def task_flags():
    """Every task's `evaluate_flags`: name -> (the tasks that have it, help)."""
    from textgru.tasks import TASKS

    found = {}
    for task in TASKS.values():
        for name, help_text in task.evaluate_flags.items():
            tasks, _ = found.setdefault(name, ([], help_text))
            tasks.append(repr(task.name))
    return found


def add_to(commands, argv):
    """`textgru evaluate RUN`."""
    evaluate = commands.add_parser(
        "evaluate",
        help="metrics of a trained run on labelled texts",
        description="Score a trained run on its own test split, or on every row of "
        "another labelled file. Prints a short table (of a classifier: the number "
        "of texts, accuracy, macro-F1, ROC-AUC and PR-AUC (two labels), the "
        "expected calibration error, precision, recall and F1 per class, and the "
        "confusion matrix, rows: true label, columns: predicted; of a multi-label "
        "run: micro- and macro-F1 and each label's scores; of a regression run: "
        "MAE, RMSE, Pearson and Spearman); --json prints the full report as one "
        "JSON object instead; --errors FILE writes the texts it gets wrong.",
    )
    add_trust_flag(evaluate)
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
    if argv is None or command_of(argv) == "evaluate":
        # Each task's own flags (--label-column, --target-column, ...).
        for name, (tasks, help_text) in task_flags().items():
            evaluate.add_argument(
                flag_of(name), help=f"of a {' or '.join(tasks)} run: {help_text}"
            )


def needs_backend(args):
    return True


def run(args):
    from textgru.tasks import load_run

    run = load_run(args.run_dir)
    if run.head is None:
        raise InvalidArgumentError(
            f"{args.run_dir} is a {run.task.name!r} run, which answers no texts to "
            "score (its measures are in its metrics.json)"
        )
    own = run.task.evaluate_flags
    options = {}
    for name, (tasks, _) in task_flags().items():
        value = getattr(args, name, None)
        if value is None:
            continue
        if name not in own:
            raise InvalidArgumentError(
                f"{args.run_dir} is a {run.task.name!r} run: {flag_of(name)} is for "
                f"{' and '.join(tasks)} runs"
            )
        options[name] = value
    report = run.evaluate(
        args.dataset,
        args.split,
        text_column=args.text_column,
        errors=args.errors,
        **options,
    )
    print(json.dumps(report, indent=2) if args.json else run.task.report_text(report))
