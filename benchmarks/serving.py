"""Predicting after training: a run (TensorFlow) against its ONNX export
(onnxruntime), measured in one process, same texts.

    python benchmarks/serving.py --run runs/sentiment
    python benchmarks/serving.py --run runs/sentiment --json serving.json

For the run at `--run` (a classifier; `make run` trains the default one at
runs/sentiment) this exports it to a temporary folder and measures:

- cold start: `textgru predict RUN "one text"` and the same on the export,
  each in a fresh process (median of `--runs`, after one warm-up); and
  `textgru serve` on the export, from its start to its first answer of
  `GET /health`;
- latency in process, one text per call: p50 and p99 over `--texts` texts
  of the run's test split;
- batched throughput in process: texts/s over the same texts at each
  `--batch` size;
- over HTTP (`textgru serve` on the export, 127.0.0.1, one text per
  request): p50 and p99 latency and texts/s at each `--clients` count of
  concurrent clients (`--requests` requests each), each client a thread of
  this process that keeps its connection open (as browsers and HTTP client
  libraries do). The clients share the machine with the server: for the
  server's own rate, load it from a program in C, such as `wrk` (the
  command is in docs/deploy.md).

In-process figures are warm: each is the second of two passes over the same
texts, so TensorFlow has compiled its loop for every shape they need (the
first pass of a new shape costs it a compilation: about 0.2 s).

Ratios are export over run (above 1: the export is faster).
"""

import argparse
import http.client
import json
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

COMMAND = str(Path(sys.executable).with_name("textgru"))


def cold_start(folder, runs):
    argv = [COMMAND, "predict", str(folder), "a quiet, moving film"]
    subprocess.run(argv, capture_output=True, check=True)  # warm-up: file caches
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(argv, capture_output=True, check=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def cold_serve(folder, runs):
    """Median seconds from starting `textgru serve folder` to its first
    answer of `GET /health` (the server is stopped after each)."""
    times = []
    for _ in range(runs + 1):  # the first: a warm-up of the file caches
        start = time.perf_counter()
        server = _serve(folder)
        try:
            where = _where(server)
            while True:
                try:
                    connection = http.client.HTTPConnection(*where, timeout=30)
                    connection.request("GET", "/health")
                    if connection.getresponse().status == 200:
                        break
                except OSError:
                    time.sleep(0.005)
            times.append(time.perf_counter() - start)
        finally:
            server.terminate()
            server.wait(timeout=30)
    return statistics.median(times[1:])


def _serve(folder):
    return subprocess.Popen(
        [COMMAND, "serve", str(folder), "--port", "0"],
        stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True,
    )  # fmt: skip


def _where(server):
    """`(host, port)` from the server's status line."""
    line = next(line for line in server.stderr if " at http://" in line)
    where = urllib.parse.urlsplit(line.split(" at ")[1].split()[0])
    return where.hostname, where.port


def latencies(model, texts):
    """p50 and p99 ms of one text per call, warm: a first pass over the
    same texts traces and compiles every length they have (TensorFlow
    compiles its loop once per shape), the second is timed."""
    for _ in range(2):
        times = []
        for text in texts:
            start = time.perf_counter()
            model.predict_proba([text])
            times.append(time.perf_counter() - start)
    return np.percentile(times, 50) * 1e3, np.percentile(times, 99) * 1e3


def throughput(model, texts, batch_size):
    """Texts/s over `texts` `batch_size` at a time, warm (the second pass)."""
    for _ in range(2):
        start = time.perf_counter()
        model.predict_proba(texts, batch_size=batch_size)
    return len(texts) / (time.perf_counter() - start)


def over_http(folder, texts, clients, requests):
    """{clients: (p50 ms, p99 ms, texts/s)} of one-text requests to
    `textgru serve folder` (started here on a free port, stopped after)."""
    server = _serve(folder)
    try:
        where = _where(server)
        connections = threading.local()  # each client keeps its connection

        def ask(text):
            if not hasattr(connections, "http"):
                connections.http = http.client.HTTPConnection(*where, timeout=60)
            body = json.dumps({"texts": [text]})
            start = time.perf_counter()
            connections.http.request(
                "POST", "/predict", body, {"Content-Type": "application/json"}
            )
            response = connections.http.getresponse()
            response.read()
            assert response.status == 200, response.status
            return time.perf_counter() - start

        result = {}
        for count in clients:
            work = [texts[i % len(texts)] for i in range(count * requests)]
            with ThreadPoolExecutor(count) as pool:
                list(pool.map(ask, work[: 2 * count]))  # warm-up
                start = time.perf_counter()
                times = list(pool.map(ask, work))
                wall = time.perf_counter() - start
            result[count] = (
                float(np.percentile(times, 50) * 1e3),
                float(np.percentile(times, 99) * 1e3),
                len(work) / wall,
            )
        return result
    finally:
        server.terminate()
        server.wait(timeout=30)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", required=True, help="a classifier run folder")
    parser.add_argument(
        "--runs", type=int, default=5, help="cold starts each (0: not measured)"
    )
    parser.add_argument(
        "--serve-runs",
        type=int,
        default=5,
        help="starts of `textgru serve` on the export (0: not measured)",
    )
    parser.add_argument("--texts", type=int, default=500)
    parser.add_argument("--batch", type=int, nargs="+", default=[1, 8, 64, 256])
    parser.add_argument("--clients", type=int, nargs="*", default=[1, 8, 32])
    parser.add_argument("--requests", type=int, default=100, help="per client")
    parser.add_argument("--json", help="also write the results to this file")
    args = parser.parse_args(argv)

    import textgru
    from textgru.deploy import exporter
    from textgru.tasks import CLASSIFY

    run = textgru.load(args.run)
    texts = list(CLASSIFY.load_data(run.config)["test"]["text"])
    texts = (texts * (1 + args.texts // max(1, len(texts))))[: args.texts]
    with tempfile.TemporaryDirectory() as scratch:
        export = exporter.export(run, Path(scratch) / "export")
        models = {"run (TensorFlow)": run, "export (onnxruntime)": export}
        result = {
            "run": str(args.run),
            "texts": len(texts),
            "cold_start_s": {
                "run (TensorFlow)": args.runs and cold_start(run.path, args.runs),
                "export (onnxruntime)": args.runs
                and cold_start(export.path, args.runs),
            },
            "serve_cold_start_s": args.serve_runs
            and cold_serve(export.path, args.serve_runs),
            "latency_ms": {name: latencies(m, texts) for name, m in models.items()},
            "texts_per_s": {
                name: {b: throughput(m, texts, b) for b in args.batch}
                for name, m in models.items()
            },
            "http": over_http(export.path, texts, args.clients, args.requests)
            if args.clients
            else {},
        }
    _print(result, args.batch)
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2))
    return result


def _print(result, batches):
    names = list(result["cold_start_s"])
    print(f"{result['run']}: {result['texts']} test texts\n")
    header = ["", *names, "export / run"]
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    cold = result["cold_start_s"]
    run, export = (cold[n] for n in names)
    if run and export:
        print(
            f"| cold `textgru predict`, s | {run:.2f} | {export:.2f} | "
            f"{run / export:.1f}x |"
        )
    (r50, r99), (e50, e99) = (result["latency_ms"][n] for n in names)
    print(f"| one text, p50 ms | {r50:.2f} | {e50:.2f} | {r50 / e50:.1f}x |")
    print(f"| one text, p99 ms | {r99:.2f} | {e99:.2f} | {r99 / e99:.1f}x |")
    for batch in batches:
        r, e = (result["texts_per_s"][n][batch] for n in names)
        print(f"| batch {batch}, texts/s | {r:,.0f} | {e:,.0f} | {e / r:.2f}x |")
    if result["serve_cold_start_s"]:
        print(
            "\n`textgru serve` on the export: its first answer "
            f"{result['serve_cold_start_s']:.2f} s after it starts (median)"
        )
    if result["http"]:
        print("\n`textgru serve` on the export, one text per request:\n")
        print("| clients | p50 ms | p99 ms | texts/s |")
        print("|---|---|---|---|")
        for count, (p50, p99, rate) in result["http"].items():
            print(f"| {count} | {p50:.2f} | {p99:.2f} | {rate:,.0f} |")


if __name__ == "__main__":
    main()
