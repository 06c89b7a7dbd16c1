"""One reader and one writer for the tables ReviewPulse reads and writes: CSV (also ``.csv.gz``, ``.tsv``),
JSONL (also ``.ndjson``, gzipped) or Parquet, and stdin (``-``, JSONL).

Files stream through in chunks, so memory stays flat whatever their size. A JSONL line that cannot be read
(not UTF-8, not a JSON object) comes as a :class:`RowError` in its place, so the caller reports it by row
number and goes on. A CSV cell's bytes that are not UTF-8 are kept as lone surrogates (``surrogateescape``):
the row's other cells (its id) stay readable, and :func:`undecodable` tells the caller to refuse it.
"""

from __future__ import annotations

import contextlib
import csv
import gzip
import json
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

STDIN = "-"


class MissingColumnError(ValueError):
    """A requested column is not in the input; the message names the available ones."""

    def __init__(self, column: str, available: Sequence[str]) -> None:
        super().__init__(f"column {column!r} not found; available columns: {', '.join(map(str, available))}")


class UnsupportedFormatError(ValueError):
    """The file suffix is not one of .csv, .csv.gz, .tsv, .jsonl, .ndjson (also gzipped), .parquet."""


@dataclass(frozen=True)
class RowError:
    """Why one row could not be read: ``code`` (``invalid_json``, ``undecodable_text``) and ``message``."""

    code: str
    message: str


#: A read row: its 0-based row number and its ``{column: value}`` (missing values None), or its error.
TableRow = tuple[int, dict[str, Any] | RowError]


def table_format(path: str, for_output: bool = False) -> str:
    """``csv``, ``jsonl`` or ``parquet``, by the suffix of ``path`` (stdin, ``-``, is JSONL); ``.tsv`` is
    read, not written.

    Raises:
        UnsupportedFormatError: unknown suffix.
    """
    name = path.lower()
    if path == STDIN or name.endswith((".jsonl", ".ndjson", ".jsonl.gz", ".ndjson.gz")):
        return "jsonl"
    if name.endswith(".parquet"):
        return "parquet"
    if name.endswith((".csv", ".csv.gz")) or (not for_output and name.endswith((".tsv", ".tsv.gz"))):
        return "csv"
    raise UnsupportedFormatError(f"{path}: use a .csv, .csv.gz, .jsonl or .parquet file")


def read_table(
    path: str,
    columns: Sequence[str],
    chunk_size: int = 256,
    source: IO[bytes] | None = None,
) -> Iterator[list[TableRow]]:
    """Yield ``path`` as chunks of :data:`TableRow`, in order, with the wanted ``columns`` only (CSV values
    are strings).

    ``source``: read this binary stream (the file's decompressed bytes; seekable for Parquet) instead of
    opening ``path``, whose name still decides the format (the Ray engine reads through Ray's file system).

    Raises:
        MissingColumnError: a wanted column is not in the input (checked on the CSV header, the Parquet
            schema or the first JSON object, before any row is yielded).
        UnsupportedFormatError: unknown suffix.
    """
    kind = table_format(path)
    if kind == "csv":
        yield from _read_csv(source or path, _csv_separator(path), columns, chunk_size)
    elif kind == "parquet":
        yield from _read_parquet(source or path, columns, chunk_size)
    else:
        with contextlib.ExitStack() as stack:
            yield from _read_jsonl(source or _open_binary(path, stack), columns, chunk_size)


def table_columns(path: str) -> list[str]:
    """The column names of ``path``: the CSV header, the Parquet schema, or the keys of the first JSON object
    of a JSONL file (none when it has no object). Stdin, which can be read only once, is not read: [].

    Raises:
        UnsupportedFormatError: unknown suffix.
        FileNotFoundError: no such file.
    """
    kind = table_format(path)
    if path == STDIN:
        return []
    if kind == "csv":
        header = pd.read_csv(path, nrows=0, sep=_csv_separator(path), **_CSV_OPTIONS)
        return [str(c) for c in header.columns]
    if kind == "parquet":
        return list(pq.ParquetFile(path).schema_arrow.names)
    with contextlib.ExitStack() as stack:
        for raw in _open_binary(path, stack):
            if raw.strip():
                obj = _parse_json_line(raw)
                if isinstance(obj, dict):
                    return list(obj)
    return []


def count_rows(path: str) -> int | None:
    """How many rows :func:`read_table` will yield (a progress bar's total, hence its time left); None for
    stdin.

    Counted, not estimated from the file size (which would be off by the spread of review lengths), since
    counting is cheap beside the analysis: Parquet from the file footer; JSONL as its non-empty lines; CSV by a
    real parse, as quoted cells hold newlines, with the read's own pandas parser and options but one column
    kept (the csv module took 6x as long).
    """
    kind = table_format(path)
    if path == STDIN:
        return None
    if kind == "parquet":
        return pq.ParquetFile(path).metadata.num_rows
    if kind == "csv":
        chunks = pd.read_csv(path, usecols=[0], chunksize=100_000, sep=_csv_separator(path), **_CSV_OPTIONS)
        return sum(len(chunk) for chunk in chunks)
    with contextlib.ExitStack() as stack:
        return sum(1 for line in _open_binary(path, stack) if line.strip())


def read_frame(path: Path) -> pd.DataFrame:
    """A whole CSV, JSONL or Parquet file (suffixes as :func:`table_format`) as one frame, for training data.

    Raises:
        UnsupportedFormatError: unknown suffix.
    """
    kind = table_format(str(path))
    if kind == "jsonl":
        return pd.read_json(path, lines=True)
    if kind == "parquet":
        return pd.read_parquet(path)
    return pd.read_csv(path, sep=_csv_separator(str(path)))


_CSV_OPTIONS: dict[str, Any] = {
    "dtype": object,  # Python strings: arrow-backed str cannot hold the escaped bad bytes
    "keep_default_na": False,
    "na_values": [""],
    "encoding_errors": "surrogateescape",  # undecodable bytes become a row error, not a crash
}


def _csv_separator(path: str) -> str:
    return "\t" if path.lower().endswith((".tsv", ".tsv.gz")) else ","


def _check(available: Sequence[str], columns: Iterable[str]) -> None:
    for column in columns:
        if column not in available:
            raise MissingColumnError(column, available)


def undecodable(values: dict[str, Any]) -> RowError | None:
    """The error of a row whose CSV cells held bytes that are not UTF-8 (kept as lone surrogates), else None."""
    for column, value in values.items():
        if isinstance(value, str):
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                return RowError("undecodable_text", f"column {column!r} holds bytes that are not valid UTF-8")
    return None


def _read_csv(
    source: str | IO[bytes], sep: str, columns: Sequence[str], chunk_size: int
) -> Iterator[list[TableRow]]:
    row_number = 0
    for chunk in pd.read_csv(source, chunksize=chunk_size, sep=sep, **_CSV_OPTIONS):
        _check([str(c) for c in chunk.columns], columns)
        frame = chunk[list(columns)]
        records = frame.astype(object).where(frame.notna(), None).to_dict("records")
        yield [(row_number + i, {str(k): v for k, v in r.items()}) for i, r in enumerate(records)]
        row_number += len(records)


def _read_parquet(
    source: str | IO[bytes], columns: Sequence[str], chunk_size: int
) -> Iterator[list[TableRow]]:
    file = pq.ParquetFile(source)
    _check(file.schema_arrow.names, columns)
    row_number = 0
    for batch in file.iter_batches(batch_size=chunk_size, columns=list(columns)):
        records: list[dict[str, Any]] = batch.to_pylist()
        yield [(row_number + i, values) for i, values in enumerate(records)]
        row_number += len(records)


def _open_binary(path: str, stack: contextlib.ExitStack) -> IO[bytes] | gzip.GzipFile:
    if path == STDIN:
        return sys.stdin.buffer
    if path.lower().endswith(".gz"):
        return stack.enter_context(gzip.open(path, "rb"))
    return stack.enter_context(open(path, "rb"))


def _parse_json_line(raw: bytes) -> dict | RowError:
    try:
        obj = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        return RowError("undecodable_text", "line is not valid UTF-8")
    except json.JSONDecodeError as exc:
        return RowError("invalid_json", f"line is not valid JSON: {exc.msg}")
    if not isinstance(obj, dict):
        return RowError("invalid_json", "line is not a JSON object")
    return obj


def _read_jsonl(lines: Iterable[bytes], columns: Sequence[str], chunk_size: int) -> Iterator[list[TableRow]]:
    checked, row_number = False, 0
    chunk: list[TableRow] = []
    for raw in lines:
        if not raw.strip():
            continue
        obj = _parse_json_line(raw)
        if isinstance(obj, dict):
            if not checked:  # the first object decides whether the columns exist at all
                _check(list(obj), columns)
                checked = True
            obj = {c: obj.get(c) for c in columns}
        chunk.append((row_number, obj))
        row_number += 1
        if len(chunk) >= chunk_size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


@dataclass(frozen=True)
class FlatLayout:
    """How records become flat rows for CSV / Parquet: the columns, the row function and column types."""

    columns: list[str]
    flatten: Callable[[dict], dict]
    floats: frozenset[str] = frozenset()
    bools: frozenset[str] = frozenset()

    def arrow_schema(self) -> pa.Schema:
        def kind(c: str) -> pa.DataType:
            return pa.float64() if c in self.floats else pa.bool_() if c in self.bools else pa.string()

        return pa.schema([(c, kind(c)) for c in self.columns])


def output_format(path: str | None) -> str:
    """``jsonl``, ``csv`` or ``parquet``: how :class:`RecordWriter` writes ``path`` (None: JSONL on stdout).

    Raises:
        UnsupportedFormatError: unknown suffix.
    """
    return "jsonl" if path is None else table_format(path, for_output=True)


class RecordWriter:
    """Write records (dicts) as JSONL (stdout when ``path`` is None), or through ``layout`` as CSV or Parquet,
    chunk by chunk.

    Raises:
        UnsupportedFormatError: unknown suffix.
    """

    def __init__(self, path: str | None, layout: FlatLayout) -> None:
        self.kind = output_format(path)
        self.layout = layout
        self._parquet: pq.ParquetWriter | None = None
        self._csv: Any = None
        self.path = path
        if self.kind == "parquet":
            self._schema = layout.arrow_schema()
            return
        self._fh: IO[str] = sys.stdout if path is None else open(path, "w", encoding="utf-8", newline="")  # noqa: SIM115
        if self.kind == "csv":
            self._csv = csv.DictWriter(self._fh, fieldnames=layout.columns)
            self._csv.writeheader()

    def write(self, records: list[dict]) -> None:
        if self.kind == "jsonl":
            self._fh.write("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records))
            self._fh.flush()
        elif self.kind == "csv":
            self._csv.writerows(self.layout.flatten(r) for r in records)
            self._fh.flush()
        else:
            table = pa.Table.from_pylist([self.layout.flatten(r) for r in records], schema=self._schema)
            if self._parquet is None:
                self._parquet = pq.ParquetWriter(str(self.path), self._schema)
            self._parquet.write_table(table)

    def close(self) -> None:
        if self.kind == "parquet":
            if self._parquet is None:  # no rows: still write a valid, empty file
                self._parquet = pq.ParquetWriter(str(self.path), self._schema)
            self._parquet.close()
        elif self._fh is not sys.stdout:
            self._fh.close()
