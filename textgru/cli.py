"""The `textgru` command."""

import argparse
import json
import os
import sys


def _parser():
    from textgru import __version__

    parser = argparse.ArgumentParser(
        prog="textgru",
        description="Text classification and language modelling with a GRU "
        "written from its gate equations (Keras 3).",
    )
    parser.add_argument("--version", action="version", version=f"textgru {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    demo = commands.add_parser(
        "demo", help="train a tiny textgru.GRU model on a toy counting task"
    )
    demo.add_argument("--epochs", type=int, default=None, help="training epochs")
    demo.add_argument("--seed", type=int, default=None, help="random seed")
    listing = commands.add_parser(
        "datasets", help="list the built-in datasets (they load with no internet)"
    )
    listing.add_argument("--json", action="store_true", help="one JSON object per line")
    return parser


def _datasets(args):
    from textgru.data import data_home, list_datasets
    from textgru.data.builtin import is_cached

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
    from textgru.demo import DemoConfig, run_demo

    overrides = {
        k: v for k, v in (("epochs", args.epochs), ("seed", args.seed)) if v is not None
    }
    result = run_demo(DemoConfig(**overrides))
    print(json.dumps(result, indent=2))


def main(argv=None):
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    from textgru.errors import TextgruError

    try:
        {"demo": _demo, "datasets": _datasets}[args.command](args)
    except TextgruError as error:
        print(f"textgru: error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
