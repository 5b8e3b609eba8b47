"""How long the everyday commands take to start: `textgru --help`,
`textgru datasets` and `import textgru`, each in a fresh process.

    python benchmarks/startup.py            # median of 5 runs each
    python benchmarks/startup.py --runs 9 --json startup.json

Each row is the median wall time of `--runs` fresh processes (the first run
of each is a warm-up, not counted), and which heavy modules the process had
imported (TensorFlow, Keras, datasets).
"""

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

COMMAND = str(Path(sys.executable).with_name("textgru"))
HEAVY = (
    "import sys; print(sorted({'tensorflow', 'keras', 'datasets'} & set(sys.modules)))"
)
CASES = {
    "textgru --help": [COMMAND, "--help"],
    "textgru datasets": [COMMAND, "datasets"],
    "import textgru": [sys.executable, "-c", "import textgru"],
}
# The same, run in-process to list what each imported.
PROBES = {
    "textgru --help": "import textgru_cli\ntry:\n    textgru_cli.main(['--help'])\n"
    "except SystemExit:\n    pass\n",
    "textgru datasets": "import textgru_cli\ntextgru_cli.main(['datasets'])\n",
    "import textgru": "import textgru\n",
}


def seconds(argv):
    start = time.perf_counter()
    subprocess.run(argv, capture_output=True, check=True)
    return time.perf_counter() - start


def imported(name):
    code = PROBES[name] + HEAVY
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    return out.strip().splitlines()[-1]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--json", help="also write the results to this file")
    args = parser.parse_args(argv)
    rows = []
    for name, command in CASES.items():
        seconds(command)  # warm-up: file caches
        times = [seconds(command) for _ in range(args.runs)]
        rows.append(
            {
                "command": name,
                "median_s": round(statistics.median(times), 3),
                "heavy_modules_imported": imported(name),
            }
        )
    print("| command | median wall time | heavy modules imported |")
    print("|---|---|---|")
    for row in rows:
        print(
            f"| `{row['command']}` | {row['median_s']:.2f} s | "
            f"{row['heavy_modules_imported']} |"
        )
    if args.json:
        Path(args.json).write_text(json.dumps({"rows": rows}, indent=2))
    return rows


if __name__ == "__main__":
    main()
