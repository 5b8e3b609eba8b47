"""Label files too large for one machine: an export inside Ray Data.

    pip install 'textgru[ray]'
    textgru export runs/sentiment --out exports/sentiment
    python recipes/label_with_ray.py exports/sentiment 'reviews/*.parquet' \\
        --output labelled/ --workers 2

Reads the input files (Parquet, CSV or JSON lines, by extension; a glob or
a folder), labels them with `textgru.deploy.BatchPredictor` in `--workers`
Ray actors (each loads the export once: onnxruntime, no TensorFlow) and
writes Parquet files to `--output`, each input row with `label`,
`probability` and `p_<label>` added. Without `--address` it starts Ray on
this machine (local mode, `--workers` + 1 CPUs); with one (`auto`, or
`ray://HEAD:10001`) it runs on that cluster, whose workers need textgru and
the export's path (a shared disk).

Ray's own processes listen on every interface, not only 127.0.0.1 (its
servers have no setting for the address they bind), guarded by Ray's token
authentication: run it where the network is trusted, as any Ray cluster.
An input with a column named `label`, `probability` or `p_<label>` is
refused (rename it first): it would be overwritten.
"""

import argparse
import glob
import os
import sys
import time
from pathlib import Path

from textgru.deploy import BatchPredictor
from textgru.errors import InvalidArgumentError, TextgruError

READERS = {
    ".parquet": "read_parquet",
    ".csv": "read_csv",
    ".jsonl": "read_json",
    ".json": "read_json",
}


def label(export, inputs, output, *, workers=2, batch_size=4096, address=None,
          text_column=None):  # fmt: skip
    """Label the files `inputs` with the export into Parquet files under
    `output` (a new folder); returns `{"texts", "seconds", "texts_per_s"}`."""
    # Ray Data's own INFO lines off unless asked for (it reads this when it
    # configures its logging, at import).
    os.environ.setdefault("RAY_DATA_LOG_LEVEL", "WARNING")
    import ray

    files = _files(inputs)
    output = Path(output)
    if output.exists():
        raise InvalidArgumentError(
            f"--output {output} already exists; name a new folder"
        )
    BatchPredictor(export, text_column)  # refuses a bad export here, not per worker
    started = not ray.is_initialized()
    if started:
        # One CPU per worker and one more for reading and writing (with only
        # `workers`, the workers held every CPU and the reads waited forever).
        ray.init(
            address=address, num_cpus=None if address else workers + 1,
            include_dashboard=False, log_to_driver=False, configure_logging=False,
        )  # fmt: skip
    try:
        context = ray.data.DataContext.get_current()
        context.enable_progress_bars = False
        context.print_on_execution_start = False
        start = time.perf_counter()
        read = getattr(ray.data, READERS[files[0].suffix.lower()])
        labelled = read([str(f) for f in files]).map_batches(
            BatchPredictor,
            fn_constructor_args=(str(export),),
            fn_constructor_kwargs={"text_column": text_column},
            batch_format="pandas",
            batch_size=batch_size,
            compute=ray.data.ActorPoolStrategy(size=workers),
        )
        labelled.write_parquet(str(output))
        texts = ray.data.read_parquet(str(output)).count()
    finally:
        if started:
            ray.shutdown()
    seconds = time.perf_counter() - start
    return {"texts": texts, "seconds": seconds, "texts_per_s": texts / seconds}


def _files(inputs):
    """The input files: each of `inputs` a file, a folder (its files) or a
    glob; all of one format."""
    found = []
    for pattern in inputs:
        path = Path(pattern)
        matches = (
            sorted(path.iterdir())
            if path.is_dir()
            else sorted(Path(p) for p in glob.glob(pattern))
        )
        found += [m for m in matches if m.is_file()]
    if not found:
        raise InvalidArgumentError(f"No input files in {' '.join(inputs)}")
    kinds = {READERS.get(f.suffix.lower()) for f in found}
    if None in kinds or len(kinds) > 1:
        raise InvalidArgumentError(
            "Expected input files all .parquet, all .csv or all .jsonl. Received: "
            + ", ".join(sorted({f.suffix or f.name for f in found}))
        )
    return found


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("export", help="a classifier's export (textgru export)")
    parser.add_argument("inputs", nargs="+", help="files, folders or globs")
    parser.add_argument("--output", required=True, help="a new folder for Parquet")
    parser.add_argument("--workers", type=int, default=2, help="Ray actors (2)")
    parser.add_argument("--batch-size", type=int, default=4096)
    parser.add_argument("--text-column", help="default: the run's text column")
    parser.add_argument("--address", help="a Ray cluster (default: start one here)")
    args = parser.parse_args(argv)
    try:
        result = label(
            args.export, args.inputs, args.output, workers=args.workers,
            batch_size=args.batch_size, address=args.address,
            text_column=args.text_column,
        )  # fmt: skip
    except TextgruError as error:
        print(f"label_with_ray: error: {error}", file=sys.stderr)
        return 2
    print(
        f"labelled {result['texts']:,} texts in {result['seconds']:.1f} s "
        f"({result['texts_per_s']:,.0f} texts/s) to {args.output}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
