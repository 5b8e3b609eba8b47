"""`textgru generate RUN_OR_EXPORT`: a language model's text (a run, or its
export's step graph without TensorFlow)."""

from textgru import _status
from textgru.cli.flags import add_trust_flag
from textgru.deploy import runtime


def add_to(commands, argv):
    """`textgru generate RUN`."""
    gen = commands.add_parser("generate", help="generate text with a trained LM run")
    add_trust_flag(gen)
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


def needs_backend(args):
    return not runtime.is_export(args.run_dir)


def run(args):
    model = generating(args.run_dir)
    _status.say(f"generating {args.num_samples} x {args.max_new_tokens} tokens")
    texts = model.generate(
        args.prompt,
        max_new_tokens=args.max_new_tokens,
        temperature=args.temperature,
        top_k=args.top_k,
        top_p=args.top_p,
        seed=args.seed,
        num_samples=args.num_samples,
    )
    for text in [texts] if args.num_samples == 1 else texts:
        print(args.prompt + text)


def generating(path):
    """The language model (run or export) at `path`, or a one-line error."""
    if runtime.is_export(path):
        return runtime.load_export(path, graph="steps")
    from textgru.tasks import TASKS

    # The task whose runs generate (its loader refuses a run of another).
    (generator,) = [task for task in TASKS.values() if task.graph == "steps"]
    return generator.run_class.load(path)
