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
  libraries do), at each `--threads` count of onnxruntime threads. The
  clients share the machine with the server: for the server's own rate,
  load it from a program in C, such as `wrk` (the command is in
  docs/deploy.md);
- slow clients (`--slow`, 200 by default): that many connections that
  send their headers a byte a second and never finish them (slowloris)
  are opened first; then the largest `--clients` count of honest clients
  is measured while they hang on, and the time until the server has cut
  every slow one (`--header-timeout`, 10 s by default, as `textgru
  serve`'s).

In-process figures are warm: each is the second of two passes over the same
texts, so TensorFlow has compiled its loop for every shape they need (the
first pass of a new shape costs it a compilation: about 0.2 s).

Ratios are export over run (above 1: the export is faster).
"""

import argparse
import http.client
import json
import selectors
import socket
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


def _serve(folder, *flags):
    return subprocess.Popen(
        [COMMAND, "serve", str(folder), "--port", "0", *flags],
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


def over_http(folder, texts, clients, requests, flags=(), slow=0):
    """{clients: (p50 ms, p99 ms, texts/s)} of one-text requests to
    `textgru serve folder FLAGS` (started here on a free port, stopped
    after); with `slow`, also `"slow"`: the honest clients' figures at the
    largest count while `slow` slowloris connections hang on, and the
    seconds until the server cut the last of them."""
    server = _serve(folder, *flags)
    try:
        where = _where(server)
        result = _honest(where, texts, clients, requests)
        if slow:
            loris = Slowloris(where, slow)
            try:
                honest = _honest(where, texts, [clients[-1]], requests)
                cut = loris.wait_until_cut(timeout=120)
            finally:
                loris.close()
            result["slow"] = {
                "connections": slow,
                "clients": clients[-1],
                "honest": honest[clients[-1]],
                "cut": loris.cut,
                "last_cut_s": cut,
            }
        return result
    finally:
        server.terminate()
        server.wait(timeout=30)


class Slowloris:
    """`count` connections to `where` that send a request's headers a byte a
    second (from one thread) and never finish them; `cut` counts those the
    server closed."""

    def __init__(self, where, count):
        self.start, self.cut = time.perf_counter(), 0
        self.selector = selectors.DefaultSelector()
        self.open = []
        for _ in range(count):
            sock = socket.create_connection(where, timeout=30)
            sock.sendall(b"POST /predict HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
            sock.setblocking(False)
            self.selector.register(sock, selectors.EVENT_READ)
            self.open.append(sock)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._drip, daemon=True)
        self.thread.start()

    def _drip(self):
        while not self.stop.wait(1.0):
            for sock in list(self.open):
                try:
                    sock.send(b"x")
                except OSError:
                    pass

    def wait_until_cut(self, timeout):
        """Seconds from the first connection until the server closed the
        last one (None: some were still open after `timeout`)."""
        deadline = time.perf_counter() + timeout
        while self.open and time.perf_counter() < deadline:
            for key, _ in self.selector.select(timeout=0.5):
                try:
                    data = key.fileobj.recv(4096)
                except (BlockingIOError, InterruptedError):
                    continue
                except OSError:
                    data = b""
                if not data or data.startswith(b"HTTP/1.1 408"):
                    self._closed(key.fileobj)
        return None if self.open else time.perf_counter() - self.start

    def _closed(self, sock):
        self.selector.unregister(sock)
        self.open.remove(sock)
        sock.close()
        self.cut += 1

    def close(self):
        self.stop.set()
        self.thread.join(5)
        for sock in list(self.open):
            self.selector.unregister(sock)
            sock.close()
        self.open.clear()


def _honest(where, texts, clients, requests):
    """{clients: (p50 ms, p99 ms, texts/s)} of one-text requests to `where`,
    each client keeping its connection."""
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
    parser.add_argument(
        "--threads",
        type=int,
        nargs="+",
        default=[2],
        help="onnxruntime threads of the server, each measured (default: 2)",
    )
    parser.add_argument(
        "--slow", type=int, default=200, help="slowloris connections (0: none)"
    )
    parser.add_argument(
        "--header-timeout",
        type=int,
        default=10,
        help="the server's --header-timeout in the slow-client run",
    )
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
            "http": {
                threads: over_http(
                    export.path,
                    texts,
                    args.clients,
                    args.requests,
                    flags=(
                        "--threads",
                        str(threads),
                        "--header-timeout",
                        str(args.header_timeout),
                    ),
                    slow=args.slow if threads == args.threads[-1] else 0,
                )  # fmt: skip
                for threads in args.threads
            }
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
        print("| --threads | clients | p50 ms | p99 ms | texts/s |")
        print("|---|---|---|---|---|")
        for threads, counts in result["http"].items():
            for count, figures in counts.items():
                if count == "slow":
                    continue
                p50, p99, rate = figures
                print(f"| {threads} | {count} | {p50:.2f} | {p99:.2f} | {rate:,.0f} |")
        for threads, counts in result["http"].items():
            slow = counts.get("slow")
            if slow:
                p50, p99, rate = slow["honest"]
                last = slow["last_cut_s"]
                cut = f"{last:.1f} s" if last is not None else "not within 120 s"
                print(
                    f"\nWith {slow['connections']} slow clients hanging on "
                    f"(--threads {threads}): {slow['clients']} honest clients "
                    f"p50 {p50:.2f} ms, p99 {p99:.2f} ms, {rate:,.0f} texts/s; "
                    f"{slow['cut']} of {slow['connections']} slow ones cut, the last "
                    f"after {cut}"
                )


if __name__ == "__main__":
    main()
