"""`textgru train TASK`: each task's flags, made from its config dataclass
(`textgru.tasks.TASKS`, and a variant such as transfer by its switch,
`--from-lm`)."""

import sys

from textgru import _status
from textgru.cli.flags import (
    add_config_flags,
    add_trust_flag,
    command_of,
    config_from_args,
)


def add_to(commands, argv):
    """`textgru train TASK`: each task's flags (added only when needed)."""
    train = commands.add_parser("train", help="train a model and write a run directory")
    tasks = train.add_subparsers(dest="task", metavar="TASK", required=True)
    if argv is None or command_of(argv) == "train":
        _add_tasks(tasks)


def _add_tasks(tasks):
    from textgru.tasks import TASKS, VARIANTS

    for name, task in TASKS.items():
        variant = VARIANTS.get(name)
        parser = tasks.add_parser(name, help=task.help, description=task.description)
        add_config_flags(parser, task.config_class, variant)
        add_trust_flag(parser)  # for the run --from-lm names


def needs_backend(args):
    return True


def run(args):
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
