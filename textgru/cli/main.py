"""The `textgru` command line: the parser made of each command's module,
and the one place where an error becomes a line and an exit code."""

import argparse
import dataclasses
import os
import re
import sys

from textgru import _quiet, _status, _xla_cache
from textgru.cli import (
    datasets,
    demo,
    evaluate,
    export,
    gates,
    generate,
    launch,
    predict,
    serve,
    train,
)
from textgru.cli.flags import command_of
from textgru.data.catalog import data_home

# Each command by its word, in the order `textgru --help` lists them: a
# module with `add_to(commands, argv)`, `needs_backend(args)` and `run(args)`.
COMMANDS = {
    "train": train,
    "evaluate": evaluate,
    "predict": predict,
    "export": export,
    "serve": serve,
    "generate": generate,
    "gates": gates,
    "datasets": datasets,
    "launch": launch,
    "demo": demo,
}


class Parser(argparse.ArgumentParser):
    """argparse that reports a usage error in one line (and exits 2), and
    takes no abbreviated flags (`--lr` is not `--lr-decay`)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)

    def error(self, message):
        self.exit(2, f"textgru: error: {message} (see `{self.prog} --help`)\n")


def build_parser(argv=None):
    """The command line for `argv`. The flags of `textgru train TASK` come
    from the task configs, so they are added (importing the tasks and the
    backend) only when the command is `train`, or for the whole parser
    (`argv=None`)."""
    from textgru._version import __version__

    parser = Parser(
        prog="textgru",
        description="Text classification, regression and language modelling "
        "with a GRU written from its gate equations (Keras 3).",
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
    for command in COMMANDS.values():
        command.add_to(commands, argv)
    return parser


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    saved = {name: os.environ.get(name) for name in (_quiet.VERBOSE, _status.QUIET)}
    command = command_of(argv)
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


def _run(argv):
    parser = build_parser(argv)
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

    command = COMMANDS[args.command]
    try:
        # Refusals that need no backend, made before it loads (a command's
        # optional `check`).
        getattr(command, "check", _nothing_to_check)(args)
        if not command.needs_backend(args):
            code = command.run(args)
        else:
            _quiet.import_backend()
            from textgru.layers.cell_path import trusting_code

            with trusting_code(getattr(args, "trust_code", False)):
                code = command.run(args)
    except TextgruError as error:
        message = _in_flags(message_of(error), args)
        print(f"textgru: error: {message}", file=sys.stderr)
        return 2
    except OSError as error:
        # A place the user named that cannot be used is theirs to fix (2); a
        # full disk or another failure of the system is an I/O error (1).
        print(f"textgru: error: {_os_message(error, args.command)}", file=sys.stderr)
        user = isinstance(error, _USER_OS_ERRORS) or error.errno == _EROFS
        return 2 if user else 1
    except KeyboardInterrupt:
        print("textgru: interrupted", file=sys.stderr)
        return 130
    return code or 0


def _nothing_to_check(args):
    return None


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
    # The tasks' config fields, if a task was loaded: a message about one comes
    # from a task, and an export's command must not import the training stack
    # (an install of the export's runtime alone has none) to print its error.
    tasks = sys.modules.get("textgru.tasks")
    fields = {
        field.name
        for task in ((*tasks.TASKS.values(), *tasks.VARIANTS.values()) if tasks else ())
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


def _os_message(error, command=None):
    import errno

    what = error.strerror or str(error) or type(error).__name__
    where = f": {error.filename}" if error.filename else ""
    hint = ""
    if error.errno == errno.ENOSPC:
        # Only training resumes; elsewhere nothing half-written was kept.
        again = "--resume the run" if command == "train" else "run it again"
        hint = f"; free some space, then {again}"
    elif error.errno == errno.EROFS:
        hint = "; the disk is read-only: choose a place on a writable one (--out)"
    elif isinstance(error, PermissionError):
        hint = "; choose a place you can write to (--out, or TEXTGRU_HOME for data)"
    return f"{what}{where}{hint}"
