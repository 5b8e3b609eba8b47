"""What the commands share: flags made from config dataclasses, the trust
switch, and reading texts from arguments, a file or stdin."""

import argparse
import dataclasses
import json
import sys
import types
import typing

from textgru.errors import InvalidArgumentError


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


def command_of(argv):
    """The command word of `argv` (the first argument that is not a flag)."""
    return next((arg for arg in argv if not arg.startswith("-")), None)


def flag_of(name):
    return "--" + name.replace("_", "-")


def add_config_flags(parser, config_class, variant=None):
    """One flag per field of the dataclass `config_class`, defaulting to unset.

    With `variant` (a task whose config subclasses `config_class`, picked by
    its `switch` field, such as transfer by `--from-lm`), its fields get
    flags too, and the help shows its defaults where they differ."""
    variant_class = variant.config_class if variant else config_class
    switch = flag_of(variant.switch) if variant else None
    hints = typing.get_type_hints(variant_class)
    base = {field.name: field for field in dataclasses.fields(config_class)}
    for field in dataclasses.fields(variant_class):
        hint = hints[field.name]
        flag = flag_of(field.name)
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
            f"with {flag_of(variant.switch)} ({variant.switch_help})"
            if variant
            else "with another task"
        )
        raise InvalidArgumentError(f"{', '.join(map(flag_of, unknown))}: only {where}")
    if variant and given.get(variant.switch):
        fixed = sorted(set(given) & set(inherited))
        if fixed:
            raise InvalidArgumentError(
                f"{', '.join(map(flag_of, fixed))}: with {flag_of(variant.switch)} the "
                "tokenizer and network sizes are those of the run it starts from; "
                "drop these flags"
            )
    return config_class.from_dict(given)


def add_trust_flag(parser):
    parser.add_argument(
        "--trust-code",
        action="store_true",
        help="let a run made with a cell of your own import the cell's module, "
        "and load a tf_saved_model export (a TensorFlow program): only for "
        "folders you trust, since both run code",
    )


def add_threads_flag(parser):
    parser.add_argument(
        "--threads",
        type=int,
        metavar="N",
        help="onnxruntime's threads for an export's graph (default: every core; "
        "with several processes on one machine, cores / processes)",
    )


def read_texts(args, keep_blank=False):
    """The texts to read: arguments, `--file` or stdin lines. With
    `keep_blank`, blank lines stay, so output lines match input lines."""
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
