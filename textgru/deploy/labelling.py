"""Labelling a file of texts of any size: read a chunk, predict it, write it,
so memory stays flat however long the file is.

    textgru predict RUN_OR_EXPORT --input reviews.csv --output labelled.csv

The input is CSV (a header row), JSON lines (one object per line) or Parquet,
by its extension; the texts are in one column (the run's text column unless
told). The output (CSV, JSON lines or Parquet, by its extension) has one row
per input row, in order: the text, then the columns of the model's head
(`textgru.heads`): a classifier's label, its probability and one
`p_<label>` column per label; a multi-label classifier's labels (joined by
the run's separator, "|" unless it had one) and `p_<label>` columns; a
regressor's `prediction`. A JSON-lines output holds each text's answer as
`predict --json` prints it. It is written under a temporary name and
renamed when complete, so a failure leaves no half-written file.
"""

import csv
import io
import json
import sys
import time
from pathlib import Path

from textgru._atomic import atomic_path
from textgru._status import say
from textgru.errors import DatasetError, InvalidArgumentError

FORMATS = {".csv": "csv", ".jsonl": "jsonl", ".json": "jsonl", ".parquet": "parquet"}
# Texts read, predicted and written at a time.
CHUNK = 4096


def label_file(
    model, source, target, *, text_column=None, overwrite=False, chunk=CHUNK
):
    """Label every text of the file `source` with `model` (a run or an
    export of a task with a head: anything with `head` and `outputs`) into
    the file `target`; returns `{"texts": N, "seconds": S, "texts_per_s":
    R}`."""
    source, target = Path(source), Path(target)
    read, write = _format(source, "--input"), _format(target, "--output")
    if not source.is_file():
        raise InvalidArgumentError(f"No such file: {source}")
    if target.resolve() == source.resolve():
        raise InvalidArgumentError(f"--output {target} is the input; name another file")
    if target.is_symlink():
        raise InvalidArgumentError(f"--output {target} is a symbolic link; name a file")
    if target.exists() and not overwrite:
        raise InvalidArgumentError(
            f"{target} already exists; pass --overwrite to replace it"
        )
    column = text_column or "text"
    head = model.head
    start, count = time.perf_counter(), 0
    with atomic_path(target, suffix=target.suffix) as tmp:
        with _WRITERS[write](tmp, head) as writer:
            for texts in _READERS[read](source, column, chunk):
                writer.write(texts, model.outputs(texts))
                count += len(texts)
                _progress(count, start)
    seconds = time.perf_counter() - start
    rate = count / seconds if seconds else 0.0
    _progress(None, start)
    say(
        f"labelled {count:,} texts in {seconds:.1f} s ({rate:,.0f} texts/s) to {target}"
    )
    return {"texts": count, "seconds": seconds, "texts_per_s": rate}


def checked_texts(texts, column, first_row=1):
    """`texts` as a list, each checked to be a string (a row without text is
    a `DatasetError` naming it: rows count from `first_row`)."""
    return [_checked(text, first_row + i, column) for i, text in enumerate(texts)]


def _format(path, flag):
    kind = FORMATS.get(path.suffix.lower())
    if kind is None:
        raise InvalidArgumentError(
            f"Expected {flag} to end in .csv, .jsonl or .parquet. Received: {path}"
        )
    return kind


def _progress(count, start):
    """A counter on stderr while it is a terminal (cleared at the end)."""
    if not getattr(sys.stderr, "isatty", lambda: False)():
        return
    if count is None:
        sys.stderr.write("\r\033[K")
    else:
        rate = count / max(time.perf_counter() - start, 1e-9)
        sys.stderr.write(f"\rtextgru: labelled {count:,} texts ({rate:,.0f}/s)")
    sys.stderr.flush()


def _checked(text, row, column):
    if not isinstance(text, str):
        raise DatasetError(
            f"Row {row} has no text in its {column!r} column (found "
            f"{type(text).__name__}); fill or drop it"
        )
    return text


def _chunks(rows, column, chunk):
    texts = []
    for row, text in rows:
        texts.append(_checked(text, row, column))
        if len(texts) == chunk:
            yield texts
            texts = []
    if texts:
        yield texts


def _read_csv(path, column, chunk):
    with open(path, newline="", encoding="utf-8") as file:
        reader = csv.DictReader(file)
        try:
            header = reader.fieldnames or []
        except UnicodeDecodeError:
            raise DatasetError(f"{path} is not UTF-8 text") from None
        if column not in header:
            raise DatasetError(
                f"{path} has no {column!r} column (its columns: "
                f"{', '.join(header) or 'none'}); pass --text-column"
            )
        try:
            rows = ((i + 2, row[column]) for i, row in enumerate(reader))
            yield from _chunks(rows, column, chunk)
        except UnicodeDecodeError as error:
            raise DatasetError(f"{path} is not UTF-8 text ({error.reason})") from None


def _read_jsonl(path, column, chunk):
    def rows():
        with open(path, encoding="utf-8") as file:
            for number, line in enumerate(file, 1):
                if not line.strip():
                    continue
                try:
                    record = json.loads(line)
                except ValueError:
                    raise DatasetError(f"{path}, line {number}: not JSON") from None
                if not isinstance(record, dict) or column not in record:
                    raise DatasetError(
                        f"{path}, line {number}: no {column!r} field; pass "
                        "--text-column"
                    )
                yield number, record[column]

    try:
        yield from _chunks(rows(), column, chunk)
    except UnicodeDecodeError as error:
        raise DatasetError(f"{path} is not UTF-8 text ({error.reason})") from None


def _read_parquet(path, column, chunk):
    parquet = _pyarrow_parquet()
    try:
        file = parquet.ParquetFile(path)
    except Exception as error:  # pyarrow's ArrowInvalid and kin
        raise DatasetError(f"{path} is not a Parquet file ({error})") from None
    if column not in file.schema_arrow.names:
        raise DatasetError(
            f"{path} has no {column!r} column (its columns: "
            f"{', '.join(file.schema_arrow.names)}); pass --text-column"
        )
    row = 0
    for batch in file.iter_batches(batch_size=chunk, columns=[column]):
        texts = batch.column(0).to_pylist()
        yield checked_texts(texts, column, first_row=row + 1)
        row += len(texts)


class _Writer:
    def __init__(self, path, head):
        self.path, self.head = path, head

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class _CsvWriter(_Writer):
    def __enter__(self):
        self.file = open(self.path, "w", newline="", encoding="utf-8")  # noqa: SIM115
        self.csv = csv.writer(self.file)
        self.kinds = self.head.column_kinds
        self.csv.writerow(["text", *self.kinds])
        return self

    def write(self, texts, outputs):
        columns = self.head.columns(outputs)
        shown = [
            columns[name] if kind == "string" else [f"{v:.6g}" for v in columns[name]]
            for name, kind in self.kinds.items()
        ]
        self.csv.writerows(zip(texts, *shown, strict=True))

    def close(self):
        self.file.close()


class _JsonlWriter(_Writer):
    def __enter__(self):
        self.file = open(self.path, "w", encoding="utf-8")  # noqa: SIM115
        return self

    def write(self, texts, outputs):
        out = io.StringIO()
        for answer in self.head.answers(texts, outputs):
            out.write(json.dumps(answer, ensure_ascii=False) + "\n")
        self.file.write(out.getvalue())

    def close(self):
        self.file.close()


class _ParquetWriter(_Writer):
    def __enter__(self):
        import pyarrow as pa

        self.pa, parquet = pa, _pyarrow_parquet()
        types = {"string": pa.string(), "float": pa.float64()}
        fields = [("text", pa.string())]
        fields += [(name, types[kind]) for name, kind in self.head.column_kinds.items()]
        self.schema = pa.schema(fields)
        self.writer = parquet.ParquetWriter(self.path, self.schema)
        return self

    def write(self, texts, outputs):
        columns = {"text": texts, **self.head.columns(outputs)}
        self.writer.write_table(self.pa.table(columns, schema=self.schema))

    def close(self):
        self.writer.close()


def _pyarrow_parquet():
    try:
        import pyarrow.parquet as parquet
    except ImportError:
        raise InvalidArgumentError(
            "Parquet files need pyarrow: pip install pyarrow (or use .csv or .jsonl)"
        ) from None
    return parquet


_READERS = {"csv": _read_csv, "jsonl": _read_jsonl, "parquet": _read_parquet}
_WRITERS = {"csv": _CsvWriter, "jsonl": _JsonlWriter, "parquet": _ParquetWriter}
