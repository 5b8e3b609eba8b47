"""Labelling a file of texts of any size: read a chunk, predict it, write it,
so memory stays flat however long the file is.

    textgru predict RUN_OR_EXPORT --input reviews.csv --output labelled.csv

The input is CSV (a header row; a UTF-8 byte-order mark is read past), JSON
lines (one object per line) or Parquet, by its extension; the texts are in
one column (the run's text column unless told). The output (CSV, JSON lines
or Parquet, by its extension) has one row per input row, in order: the
input's own columns (every one, or those `columns` names, so the answers
join back by an id), then the columns of the model's head
(`textgru.heads`): a classifier's label, its probability and one
`p_<label>` column per label; a multi-label classifier's labels (joined by
the run's separator, "|" unless it had one) and `p_<label>` columns; a
regressor's `prediction`. A JSON-lines output holds each row's fields and
its answer's as `predict --json` prints them. A JSON-lines input's columns
are its first record's fields. It is written under a temporary name and
renamed when complete, so a failure (or SIGTERM, or Ctrl-C) leaves no
half-written file. On a terminal, a progress bar (tqdm) shows the rows
done, their rate and the time left.
"""

import contextlib
import csv
import io
import json
import signal
import threading
import time
from pathlib import Path

from textgru import _quiet
from textgru._atomic import atomic_path
from textgru._status import quiet, say
from textgru._unicode import LONE_SURROGATE, all_text, is_text
from textgru.errors import DatasetError, InvalidArgumentError

FORMATS = {".csv": "csv", ".jsonl": "jsonl", ".json": "jsonl", ".parquet": "parquet"}
# Texts read, predicted and written at a time.
CHUNK = 4096
# The longest CSV field read (characters): Python's csv module refuses a
# field over 128 KiB by default, where a JSON-lines file of the same text
# is read; a field past this one is a DatasetError naming its row.
FIELD_LIMIT = 1 << 30


def label_file(
    model,
    source,
    target,
    *,
    text_column=None,
    columns=None,
    overwrite=False,
    chunk=CHUNK,
):
    """Label every text of the file `source` with `model` (a run or an
    export of a task with a head: anything with `head` and `outputs`) into
    the file `target`, keeping the input's `columns` (None: all of them);
    returns `{"texts": N, "seconds": S, "texts_per_s": R}`."""
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
    with (
        _READERS[read](source, column, columns, chunk) as rows,
        _cleaned_up_on_sigterm(),
        atomic_path(target, suffix=target.suffix) as tmp,
        _WRITERS[write](tmp, head, rows) as writer,
        _progress(rows) as progress,
    ):
        for kept, texts, done in rows:
            writer.write(kept, texts, model.outputs(texts))
            count += len(texts)
            progress(count, done)
    seconds = time.perf_counter() - start
    rate = count / seconds if seconds else 0.0
    say(
        f"labelled {count:,} texts in {seconds:.1f} s ({rate:,.0f} texts/s) to {target}"
    )
    return {"texts": count, "seconds": seconds, "texts_per_s": rate}


def checked_texts(texts, column, first_row=1):
    """`texts` as a list, each checked to be a string of text (a row without
    text, or with a lone surrogate, is a `DatasetError` naming it: rows
    count from `first_row`)."""
    return [_checked(text, first_row + i, column) for i, text in enumerate(texts)]


def _format(path, flag):
    kind = FORMATS.get(path.suffix.lower())
    if kind is None:
        raise InvalidArgumentError(
            f"Expected {flag} to end in .csv, .jsonl or .parquet. Received: {path}"
        )
    return kind


@contextlib.contextmanager
def _cleaned_up_on_sigterm():
    """SIGTERM within the block ends the process as Ctrl-C would (the
    temporary output removed, exit 143 instead of 130): Python's default
    ends it at once, leaving the `.tmp` file."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum, frame):
        raise SystemExit(128 + signum)

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextlib.contextmanager
def _progress(rows):
    """A function of (texts done, input done) that draws a tqdm bar on the
    terminal (nothing when stderr is not one, or quiet, or tqdm is absent):
    the texts and their rate, and the time left from the input's size."""
    stream = _quiet.terminal()
    try:
        from tqdm import tqdm
    except ImportError:
        stream = None
    if stream is None or quiet():
        yield lambda count, done: None
        return
    bytes_ = rows.unit == "B"
    bar = tqdm(
        total=rows.total, unit=rows.unit, unit_scale=bytes_, unit_divisor=1024,
        desc="textgru: labelling", file=stream, leave=False, dynamic_ncols=True,
        mininterval=0.5, smoothing=0.1,
    )  # fmt: skip
    start = time.perf_counter()

    def show(count, done):
        rate = count / max(time.perf_counter() - start, 1e-9)
        bar.set_postfix_str(f"{count:,} texts, {rate:,.0f} texts/s", refresh=False)
        bar.update(min(done, rows.total) - bar.n)

    try:
        yield show
    finally:
        bar.close()


def _checked(text, row, column):
    if not isinstance(text, str):
        raise DatasetError(
            f"Row {row} has no text in its {column!r} column (found "
            f"{type(text).__name__}); fill or drop it"
        )
    if not is_text(text):
        raise DatasetError(
            f"Row {row}'s {column!r} holds {LONE_SURROGATE}; fix or drop it"
        )
    return text


class _Rows:
    """An input file's rows, a chunk at a time: iterating gives `(kept,
    texts, done)`: the kept columns `{name: values}`, the checked texts, and
    how much of the input is read (`unit`s of `total`). `names` are the
    kept columns, `types` their Arrow types where the input has them."""

    unit, total, types = "B", 0, None
    file = None  # the open input, once `open` has opened it

    def __init__(self, path, column, columns, chunk):
        self.path, self.column, self.chunk = path, column, chunk
        self.wanted = columns

    def keep(self, names):
        """Choose the kept columns among the input's `names`."""
        if self.column not in names:
            flag = "column" if isinstance(self, _CsvRows | _ParquetRows) else "field"
            raise DatasetError(
                f"{self.path} has no {self.column!r} {flag} (its columns: "
                f"{', '.join(map(str, names)) or 'none'}); pass --text-column"
            )
        if self.wanted is None:
            self.names = list(dict.fromkeys(names))
            return
        missing = [name for name in self.wanted if name not in names]
        if missing:
            raise DatasetError(
                f"{self.path} has no column {', '.join(map(repr, missing))} to keep "
                f"(its columns: {', '.join(map(str, names))}); fix --columns"
            )
        self.names = list(dict.fromkeys(self.wanted))

    def __enter__(self):
        try:
            self.open()
        except BaseException:
            self.close()  # what was opened before the refusal
            raise
        return self

    def open(self):
        """Open the file and choose the kept columns (`keep`)."""
        raise NotImplementedError

    def __exit__(self, *exc):
        self.close()

    def close(self):
        if self.file is not None:
            self.file.close()

    def chunks(self, rows):
        """`(kept, texts, done)` chunks of `(row number, text, kept values,
        done)` rows."""
        texts, kept, done = [], [], 0
        for number, text, values, done in rows:
            texts.append(_checked(text, number, self.column))
            kept.append(values)
            if len(texts) == self.chunk:
                yield self._columns(kept), texts, done
                texts, kept = [], []
        if texts:
            yield self._columns(kept), texts, done

    def _columns(self, kept):
        return {name: [row[i] for row in kept] for i, name in enumerate(self.names)}


class _CsvRows(_Rows):
    def open(self):
        csv.field_size_limit(max(csv.field_size_limit(), FIELD_LIMIT))
        self.file = open(self.path, newline="", encoding="utf-8-sig")  # noqa: SIM115
        self.total = Path(self.path).stat().st_size
        self.reader = csv.reader(self.file)
        with self._read():
            header = next(self.reader, None) or []
        self.keep(header)
        self.at = [header.index(name) for name in (self.column, *self.names)]

    @contextlib.contextmanager
    def _read(self):
        try:
            yield
        except UnicodeDecodeError as error:
            raise DatasetError(
                f"{self.path} is not UTF-8 text ({error.reason})"
            ) from None
        except csv.Error as error:
            raise DatasetError(
                f"{self.path}, row {self.reader.line_num}: not CSV this reads ({error})"
            ) from None

    def __iter__(self):
        def rows():
            position = self.file.buffer.tell
            for number, row in enumerate(self.reader, 2):
                values = [row[i] if i < len(row) else None for i in self.at]
                yield number, values[0], values[1:], position()

        with self._read():
            yield from self.chunks(rows())


class _JsonlRows(_Rows):
    def open(self):
        self.file = open(self.path, "rb")  # noqa: SIM115
        self.total = Path(self.path).stat().st_size
        self.first = self._records()
        try:
            number, record = next(self.first)
        except StopIteration:
            number, record = 0, {self.column: None}
        self.keep(list(record))
        self.pending = (number, record)

    def _records(self):
        for number, line in enumerate(self.file, 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line.decode("utf-8"))
            except UnicodeDecodeError as error:
                raise DatasetError(
                    f"{self.path} is not UTF-8 text ({error.reason})"
                ) from None
            except ValueError:
                raise DatasetError(f"{self.path}, line {number}: not JSON") from None
            if not isinstance(record, dict) or self.column not in record:
                raise DatasetError(
                    f"{self.path}, line {number}: no {self.column!r} field; pass "
                    "--text-column"
                )
            # Only an escape (\u) can make a lone surrogate of UTF-8 bytes.
            if b"\\u" in line and not all_text(record):
                raise DatasetError(
                    f"{self.path}, line {number}: {LONE_SURROGATE}; fix or drop it"
                )
            yield number, record

    def __iter__(self):
        return self.chunks(self._rows())

    def _rows(self):
        position = self.file.tell
        if self.pending[0]:
            number, record = self.pending
            yield number, record[self.column], self._kept(record), position()
        for number, record in self.first:
            yield number, record[self.column], self._kept(record), position()

    def _kept(self, record):
        return [record.get(name) for name in self.names]


class _ParquetRows(_Rows):
    unit = "texts"

    def open(self):
        parquet = _pyarrow_parquet()
        try:
            self.file = parquet.ParquetFile(self.path)
        except Exception as error:  # pyarrow's ArrowInvalid and kin
            raise DatasetError(f"{self.path} is not a Parquet file ({error})") from None
        schema = self.file.schema_arrow
        self.keep(schema.names)
        self.types = {name: schema.field(name).type for name in self.names}
        self.total = self.file.metadata.num_rows

    def __iter__(self):
        read = list(dict.fromkeys((self.column, *self.names)))
        row = 0
        for batch in self.file.iter_batches(batch_size=self.chunk, columns=read):
            table = batch.to_pydict()
            texts = checked_texts(table[self.column], self.column, first_row=row + 1)
            row += len(texts)
            yield {name: table[name] for name in self.names}, texts, row


class _Writer:
    """Writes the kept columns of each chunk, then the head's columns."""

    def __init__(self, path, head, rows):
        self.path, self.head, self.rows = path, head, rows
        taken = [name for name in rows.names if name in self.answer_names()]
        if taken:
            raise DatasetError(
                f"{rows.path} already has a column named {', '.join(taken)}, which "
                "the answers would overwrite; leave it out with --columns (or rename "
                "it)"
            )

    def answer_names(self):
        return set(self.head.column_kinds)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _shown(value):
    """A kept value as a CSV field."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


class _CsvWriter(_Writer):
    def __enter__(self):
        self.file = open(self.path, "w", newline="", encoding="utf-8")  # noqa: SIM115
        self.csv = csv.writer(self.file)
        self.kinds = self.head.column_kinds
        self.csv.writerow([*self.rows.names, *self.kinds])
        return self

    def write(self, kept, texts, outputs):
        columns = self.head.columns(outputs)
        shown = [[_shown(v) for v in kept[name]] for name in self.rows.names]
        shown += [
            columns[name] if kind == "string" else [f"{v:.6g}" for v in columns[name]]
            for name, kind in self.kinds.items()
        ]
        self.csv.writerows(zip(*shown, strict=True))

    def close(self):
        self.file.close()


class _JsonlWriter(_Writer):
    def answer_names(self):
        import numpy as np

        sample = self.head.answers([""], np.zeros((1, self.head.width)))[0]
        return set(sample) - {"text"}

    def __enter__(self):
        self.file = open(self.path, "w", encoding="utf-8")  # noqa: SIM115
        return self

    def write(self, kept, texts, outputs):
        out = io.StringIO()
        names = self.rows.names
        for i, answer in enumerate(self.head.answers(texts, outputs)):
            del answer["text"]
            record = {name: kept[name][i] for name in names} | answer
            out.write(json.dumps(record, ensure_ascii=False, allow_nan=False) + "\n")
        self.file.write(out.getvalue())

    def close(self):
        self.file.close()


class _ParquetWriter(_Writer):
    def __enter__(self):
        import pyarrow as pa

        self.pa, self.parquet = pa, _pyarrow_parquet()
        self.writer = None
        return self

    def _open(self, kept):
        """The schema, from the first chunk: the input's own types (Parquet),
        strings (CSV), or what the first chunk's values are (JSON lines)."""
        pa, types = self.pa, self.rows.types
        fields = []
        for name in self.rows.names:
            if types is not None:
                kind = types[name]
            elif isinstance(self.rows, _CsvRows):
                kind = pa.string()
            else:
                kind = pa.array(kept[name]).type
                kind = pa.string() if pa.types.is_null(kind) else kind
            fields.append((name, kind))
        heads = {"string": pa.string(), "float": pa.float64()}
        fields += [(name, heads[kind]) for name, kind in self.head.column_kinds.items()]
        self.schema = pa.schema(fields)
        self.writer = self.parquet.ParquetWriter(self.path, self.schema)

    def write(self, kept, texts, outputs):
        try:
            if self.writer is None:
                self._open(kept)
            table = self.pa.table(
                {**kept, **self.head.columns(outputs)}, schema=self.schema
            )
        except (self.pa.ArrowInvalid, self.pa.ArrowTypeError) as error:
            raise DatasetError(
                f"{self.rows.path}: a kept column changes type from one row to the "
                f"next ({error}); leave it out with --columns"
            ) from None
        self.writer.write_table(table)

    def close(self):
        if self.writer is None:  # no rows: an empty file of the head's columns
            self._open({name: [] for name in self.rows.names})
        self.writer.close()


def _pyarrow_parquet():
    try:
        import pyarrow.parquet as parquet
    except ImportError:
        raise InvalidArgumentError(
            "Parquet files need pyarrow: pip install pyarrow (or use .csv or .jsonl)"
        ) from None
    return parquet


_READERS = {"csv": _CsvRows, "jsonl": _JsonlRows, "parquet": _ParquetRows}
_WRITERS = {"csv": _CsvWriter, "jsonl": _JsonlWriter, "parquet": _ParquetWriter}
