"""`textgru demo`: a tiny `textgru.GRU` model on a toy counting task."""

import json


def add_to(commands, argv):
    """`textgru demo`."""
    demo = commands.add_parser(
        "demo", help="train a tiny textgru.GRU model on a toy counting task"
    )
    demo.add_argument("--epochs", type=int, default=None, help="training epochs")
    demo.add_argument("--seed", type=int, default=None, help="random seed")


def needs_backend(args):
    return True


def run(args):
    from textgru.tasks.demo import DemoConfig, run_demo

    overrides = {
        k: v for k, v in (("epochs", args.epochs), ("seed", args.seed)) if v is not None
    }
    result = run_demo(DemoConfig(**overrides))
    print(json.dumps(result, indent=2))
