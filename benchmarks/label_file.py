"""Labelling a large file with an export: memory stays flat, and the rate is
that of predicting in process.

    python benchmarks/label_file.py --export exports/sentiment
    python benchmarks/label_file.py --export exports/sentiment --texts 1000000

Generates a CSV of `--texts` texts (the export's own vocabulary, 4 to 40
words each, seeded), then in a fresh process each: `textgru predict EXPORT
--input texts.csv --output labels.csv` on the first tenth of the rows and
on all of them (wall time, texts/s, peak resident memory of the process);
all of them again with each `--threads` count of onnxruntime threads, and
split in two halves labelled by two processes at once (`--threads 1`
each: the machine's two cores spent one per process); and the in-process
rate of `predict_proba` on a list of 20,000 of the same texts (batch
1024, warm). With `--ray-workers 1 2`, all the texts are also
labelled by `recipes/label_with_ray.py` (Ray Data on this machine, its
start included) with 1 and with 2 workers.
"""

import argparse
import csv
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

COMMAND = str(Path(sys.executable).with_name("textgru"))


def write_texts(path, count, words, seed=0):
    rng = np.random.default_rng(seed)
    with open(path, "w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow(["text"])
        for start in range(0, count, 10_000):
            rows = min(10_000, count - start)
            lengths = rng.integers(4, 41, rows)
            picks = rng.integers(0, len(words), lengths.sum())
            offsets = np.concatenate([[0], np.cumsum(lengths)])
            writer.writerows(
                [" ".join(words[j] for j in picks[offsets[i] : offsets[i + 1]])]
                for i in range(rows)
            )


# Runs a command and prints its peak resident memory (KiB), so that each
# measurement has a process of its own.
_PEAK = (
    "import resource, subprocess, sys\n"
    "subprocess.run(sys.argv[1:], check=True)\n"
    "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
)


def _command(export, source, target, threads=None):
    flags = ["--threads", str(threads)] if threads else []
    return [sys.executable, "-c", _PEAK, COMMAND, "--quiet", "predict", str(export),
            "--input", str(source), "--output", str(target), "--overwrite",
            *flags]  # fmt: skip


def label(export, source, target, threads=None):
    """(seconds, peak RSS MiB) of `textgru predict --input` in a new process."""
    start = time.perf_counter()
    done = subprocess.run(
        _command(export, source, target, threads),
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    seconds = time.perf_counter() - start
    return seconds, int(done.stdout.split()[-1]) / 1024


def label_in_processes(export, sources, folder, threads=1):
    """Seconds for one `textgru predict --input` process per file of
    `sources`, all started at once (`threads` onnxruntime threads each)."""
    start = time.perf_counter()
    processes = [
        subprocess.Popen(
            _command(export, source, folder / f"out{i}.csv", threads),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )  # fmt: skip
        for i, source in enumerate(sources)
    ]
    for process in processes:
        if process.wait() != 0:
            raise RuntimeError(process.stderr.read()[-2000:])
    return time.perf_counter() - start


def halves(source, folder):
    """`source` (a CSV with a header) split into two CSVs of half its rows."""
    with open(source, newline="", encoding="utf-8") as file:
        rows = list(csv.reader(file))
    header, rows = rows[0], rows[1:]
    paths = []
    for i, part in enumerate((rows[: len(rows) // 2], rows[len(rows) // 2 :])):
        path = folder / f"half{i}.csv"
        with open(path, "w", newline="", encoding="utf-8") as file:
            csv.writer(file).writerows([header, *part])
        paths.append(path)
    return paths


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--export", required=True, help="an export folder")
    parser.add_argument("--texts", type=int, default=1_000_000)
    parser.add_argument(
        "--ray-workers",
        type=int,
        nargs="*",
        default=[],
        help="also label all the texts with recipes/label_with_ray.py, with each "
        "of these numbers of workers (needs textgru[ray])",
    )
    parser.add_argument(
        "--threads",
        type=int,
        nargs="*",
        default=[1, 2],
        help="label all the texts again with each of these --threads counts",
    )
    parser.add_argument(
        "--processes",
        type=int,
        default=2,
        help="label all the texts split among this many processes at once, "
        "--threads 1 each (0 or 1: not measured)",
    )
    parser.add_argument("--json", help="also write the results to this file")
    args = parser.parse_args(argv)

    import textgru

    model = textgru.load(args.export)
    tokenizer = model.tokenizer
    words = [
        t
        for t in (tokenizer.id_to_token(i) for i in range(tokenizer.vocab_size))
        if t and t.isalpha()
    ]
    result = {"texts": args.texts}
    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        write_texts(scratch / "small.csv", args.texts // 10, words)
        write_texts(scratch / "all.csv", args.texts, words)
        for name in ("small", "all"):
            seconds, peak = label(
                args.export, scratch / f"{name}.csv", scratch / "out.csv"
            )
            rows = args.texts // 10 if name == "small" else args.texts
            result[name] = {
                "texts": rows,
                "seconds": seconds,
                "texts_per_s": rows / seconds,
                "peak_rss_mib": peak,
            }
        for threads in args.threads:
            seconds, peak = label(
                args.export, scratch / "all.csv", scratch / "out.csv", threads
            )
            result[f"threads_{threads}"] = {
                "texts": args.texts,
                "seconds": seconds,
                "texts_per_s": args.texts / seconds,
                "peak_rss_mib": peak,
            }
        if args.processes > 1:
            if args.processes != 2:
                raise SystemExit("--processes: 2 (halves) is what is measured")
            seconds = label_in_processes(
                args.export, halves(scratch / "all.csv", scratch), scratch
            )
            result["processes_2"] = {
                "texts": args.texts,
                "seconds": seconds,
                "texts_per_s": args.texts / seconds,
            }
        for workers in args.ray_workers:
            recipe = _recipe("label_with_ray")
            done = recipe.label(
                args.export, [str(scratch / "all.csv")], scratch / f"ray{workers}",
                workers=workers,
            )  # fmt: skip
            result[f"ray_{workers}"] = {**done, "workers": workers}
        with open(scratch / "small.csv", encoding="utf-8") as file:
            rows = zip(csv.DictReader(file), range(20_000), strict=False)
            sample = [row["text"] for row, _ in rows]
    model.predict_proba(sample, batch_size=1024)  # warm-up
    start = time.perf_counter()
    model.predict_proba(sample, batch_size=1024)
    result["in_process_texts_per_s"] = len(sample) / (time.perf_counter() - start)

    print(f"{args.export}: labelling a CSV with `textgru predict --input`\n")
    print("| texts | wall time | texts/s | peak memory of the process |")
    print("|---|---|---|---|")
    for name in ("small", "all"):
        r = result[name]
        print(
            f"| {r['texts']:,} | {r['seconds']:.1f} s | {r['texts_per_s']:,.0f} | "
            f"{r['peak_rss_mib']:.0f} MiB |"
        )
    for threads in args.threads:
        r = result[f"threads_{threads}"]
        print(
            f"| {r['texts']:,}, --threads {threads} | {r['seconds']:.1f} s | "
            f"{r['texts_per_s']:,.0f} | {r['peak_rss_mib']:.0f} MiB |"
        )
    if "processes_2" in result:
        r = result["processes_2"]
        print(
            f"| {r['texts']:,} in 2 processes at once, --threads 1 each | "
            f"{r['seconds']:.1f} s | {r['texts_per_s']:,.0f} | |"
        )
    for workers in args.ray_workers:
        r = result[f"ray_{workers}"]
        print(
            f"| {r['texts']:,}, Ray Data with {workers} worker(s) | "
            f"{r['seconds']:.1f} s | {r['texts_per_s']:,.0f} | |"
        )
    rate = result["in_process_texts_per_s"]
    print(f"\nin process, predict_proba on a list: {rate:,.0f} texts/s")
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2))
    return result


def _recipe(name):
    import importlib.util

    path = Path(__file__).resolve().parents[1] / "recipes" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


if __name__ == "__main__":
    main()
