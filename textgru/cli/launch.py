"""`textgru launch --num-processes N -- COMMAND`: a multi-host command as N
processes on this machine."""

import argparse


def add_to(commands, argv):
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


def needs_backend(args):
    return False


def run(args):
    from textgru.training.launch import launch

    return launch(args.command_line, args.num_processes, timeout=args.timeout)
