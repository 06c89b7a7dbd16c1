"""One reader and one writer for the tables ReviewPulse reads and writes: CSV (also ``.csv.gz``, ``.tsv``),
JSONL (also ``.ndjson``, gzipped) or Parquet, and stdin (``-``, JSONL).

Files stream through in chunks, so memory stays flat whatever their size. A row that cannot be read comes as
a :class:`RowError` in its place, so the caller reports it by row number and goes on: a JSONL line that is not
UTF-8 or not a JSON object; a CSV record with more fields than the header (one with fewer has its missing
cells empty) or one that opens a quote and never closes it, whose lines after the first are then read again as
rows. A CSV cell's bytes that are not UTF-8 are kept as lone surrogates (``surrogateescape``): the row's other
cells (its id) stay readable, and :func:`undecodable` tells the caller to refuse it. Output files ending in
``.gz`` are written gzip-compressed.
"""

from __future__ import annotations

import contextlib
import csv
import gzip
import io
import itertools
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
    """A requested column is not in the input; the message names the available ones, or ``why`` there are
    none (a CSV file without a header row)."""

    def __init__(self, column: str, available: Sequence[str], why: str | None = None) -> None:
        why = why or f"available columns: {', '.join(map(str, available))}"
        super().__init__(f"column {column!r} not found; {why}")


class UnsupportedFormatError(ValueError):
    """The file suffix is not one of .csv, .csv.gz, .tsv, .jsonl, .ndjson (also gzipped), .parquet."""


@dataclass(frozen=True)
class RowError:
    """Why one row could not be read: ``code`` (``invalid_json``, ``undecodable_text``, ``malformed_row``) and
    ``message``."""

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
        MissingColumnError: a wanted column is not in the input, checked before any row is yielded: on the CSV
            header (a CSV file without one, such as an empty file, has no columns), the Parquet schema, or
            the first :data:`JSONL_HEAD` JSON objects (a JSONL object without a column that one of them has
            gives it as None).
        UnsupportedFormatError: unknown suffix.
    """
    kind = table_format(path)
    with contextlib.ExitStack() as stack:
        if kind == "csv":
            yield from _read_csv(path, _open_text(source or path, stack), columns, chunk_size)
        elif kind == "parquet":
            yield from _read_parquet(source or path, columns, chunk_size)
        else:
            note = " (stdin is read as JSONL: one JSON object a line)" if path == STDIN else ""
            yield from _read_jsonl(source or _open_binary(path, stack), columns, chunk_size, note)


def table_columns(path: str) -> list[str]:
    """The column names of ``path``: the CSV header (none when it has no header row), the Parquet schema, or
    the keys of the first :data:`JSONL_HEAD` JSON objects of a JSONL file. Stdin, which can be read only once,
    is not read: [].

    Raises:
        UnsupportedFormatError: unknown suffix.
        FileNotFoundError: no such file.
    """
    kind = table_format(path)
    if path == STDIN:
        return []
    if kind == "parquet":
        return list(pq.ParquetFile(path).schema_arrow.names)
    with contextlib.ExitStack() as stack:
        if kind == "csv":
            _, header = next(_csv_records(_open_text(path, stack), _csv_separator(path)), (0, []))
            return header if isinstance(header, list) else []
        return list(_jsonl_keys(_jsonl_head(_open_binary(path, stack))[0]))


def count_rows(path: str) -> int | None:
    """How many rows :func:`read_table` will yield (a progress bar's total, hence its time left); None for
    stdin.

    Counted, not estimated from the file size (which would be off by the spread of review lengths), since
    counting is cheap beside the analysis: Parquet from the file footer; JSONL as its non-empty lines; CSV by
    the read's own parse (quoted cells hold newlines, a malformed record is a row), about 0.5 s per 100 MB.
    """
    kind = table_format(path)
    if path == STDIN:
        return None
    if kind == "parquet":
        return pq.ParquetFile(path).metadata.num_rows
    with contextlib.ExitStack() as stack:
        if kind == "csv":
            return max(0, sum(1 for _ in _csv_records(_open_text(path, stack), _csv_separator(path))) - 1)
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


def _open_text(source: str | IO[bytes], stack: contextlib.ExitStack) -> IO[str]:
    """The CSV text of a path or a binary stream (left open), read as UTF-8 after an optional byte order mark,
    undecodable bytes kept as lone surrogates, line ends untranslated (for the csv module)."""
    binary = _open_binary(source, stack) if isinstance(source, str) else source
    text = io.TextIOWrapper(binary, encoding="utf-8-sig", errors="surrogateescape", newline="")
    stack.callback(text.detach)  # the stream's owner closes it
    return text


#: Follows a CSV file's last line. No decoded text holds a lone high surrogate (``surrogateescape`` makes low
#: ones), so a field that ends with it ran to the end of the file inside a quote.
_END_OF_FILE = "\ud800"


def _csv_records(lines: Iterable[str], sep: str) -> Iterator[tuple[int, list[str] | RowError]]:
    """Each CSV record of ``lines`` (the header first) with the number of its first line, blank lines skipped,
    quoting as pandas reads it (csv's ``excel`` dialect: 4x as fast here as chunked ``pandas.read_csv``, and it
    goes on after a bad record). A record that opens a quote and never closes it, running to the end of the file
    or past the csv module's field limit (131,072 characters), is a ``malformed_row`` error: the stray quote
    took it for the rest of the file, so the lines after its first are read again as records."""
    rest: Iterator[str] = itertools.chain(lines, [_END_OF_FILE])
    number = 1
    while True:
        taken: list[str] = []  # the lines of the record being read

        def feed(source: Iterator[str] = rest, taken: list[str] = taken) -> Iterator[str]:
            for line in source:
                taken.append(line)
                yield line

        try:
            for fields in csv.reader(feed(), delimiter=sep):
                if fields == [_END_OF_FILE]:
                    return
                if fields and fields[-1].endswith(_END_OF_FILE):
                    raise csv.Error  # the end of the file came inside a quote
                if len(fields) > 1 or (fields and fields[0].strip()):
                    yield number, fields
                number += len(taken)
                taken.clear()
            return
        except csv.Error as exc:
            why = (
                " opens a quote that is never closed"
                if taken[-1] == _END_OF_FILE
                else f": {exc} (a quote left open?)"
            )
            yield (
                number,
                RowError("malformed_row", f"line {number}{why}; the lines after it are read as rows"),
            )
            rest = itertools.chain(taken[1:], rest)
            number += 1


def _read_csv(path: str, text: IO[str], columns: Sequence[str], chunk_size: int) -> Iterator[list[TableRow]]:
    """:func:`read_table` for CSV ``text`` (from ``path``): the records after the header, by
    :func:`_csv_records`; one with more fields than the header is a ``malformed_row`` error."""
    records = _csv_records(text, _csv_separator(path))
    _, header = next(records, (0, []))
    if isinstance(header, RowError):
        raise MissingColumnError(columns[0], [], f"{path}: the header row is malformed ({header.message})")
    if not header:
        raise MissingColumnError(columns[0], [], f"{path} is empty (no header row)")
    _check(header, columns)
    index = [(column, header.index(column)) for column in columns]
    width = len(header)
    chunk: list[TableRow] = []
    for row_number, (line, fields) in enumerate(records):
        if isinstance(fields, RowError):
            chunk.append((row_number, fields))
        elif len(fields) > width:
            error = f"line {line} has {len(fields)} fields where the header has {width}"
            chunk.append((row_number, RowError("malformed_row", error)))
        else:  # an empty or absent cell is a missing value
            chunk.append((row_number, {c: (fields[i] if i < len(fields) else "") or None for c, i in index}))
        if len(chunk) >= chunk_size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


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


def _parse_json_line(raw: bytes, number: int, note: str = "") -> dict | RowError:
    """The JSON object of line ``number`` (1-based), or its error naming the line; ``note`` ends an
    ``invalid_json`` message."""
    try:
        obj = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        return RowError("undecodable_text", f"line {number} is not valid UTF-8")
    except json.JSONDecodeError as exc:
        # json's own words stop short ("Invalid control character at"): the column says where
        return RowError(
            "invalid_json",
            f"line {number} is not valid JSON: {exc.msg.removesuffix(' at')} at column {exc.colno}{note}",
        )
    except RecursionError:
        return RowError("invalid_json", f"line {number} nests arrays or objects too deeply{note}")
    if not isinstance(obj, dict):
        return RowError("invalid_json", f"line {number} is not a JSON object{note}")
    return obj


#: How many JSON objects of a JSONL input decide which columns it has: one missing from all of them is an
#: error, one missing from a later object is that object's missing value.
JSONL_HEAD = 1000


def _jsonl_head(
    lines: Iterable[bytes], note: str = ""
) -> tuple[list[dict | RowError], Iterator[dict | RowError]]:
    """The non-empty lines of a JSONL input, parsed: those up to its :data:`JSONL_HEAD`-th object, and the rest."""
    parsed = (_parse_json_line(raw, number, note) for number, raw in enumerate(lines, 1) if raw.strip())
    head: list[dict | RowError] = []
    objects = 0
    for obj in parsed:
        head.append(obj)
        objects += isinstance(obj, dict)
        if objects == JSONL_HEAD:
            break
    return head, parsed


def _jsonl_keys(parsed: Iterable[dict | RowError]) -> dict[str, None]:
    """The keys of the objects among ``parsed``, in the order they first come."""
    return {key: None for obj in parsed if isinstance(obj, dict) for key in obj}


def _read_jsonl(
    lines: Iterable[bytes], columns: Sequence[str], chunk_size: int, note: str = ""
) -> Iterator[list[TableRow]]:
    """:func:`read_table` for JSONL ``lines``; ``note`` ends the message of a line that is not JSON. Columns are
    checked on the first :data:`JSONL_HEAD` objects (none: no check, every line is an error)."""
    head, rest = _jsonl_head(lines, note)
    if keys := _jsonl_keys(head):
        _check(list(keys), columns)
    chunk: list[TableRow] = []
    for row_number, obj in enumerate(itertools.chain(head, rest)):
        chunk.append((row_number, {c: obj.get(c) for c in columns} if isinstance(obj, dict) else obj))
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


def flat_id(value: object) -> str | None:
    """A record's ``id`` as a CSV / Parquet cell: a string as it is, null as null (a row without an id), any
    other value as its JSON (``767``, ``{"a": 1}``), as the JSONL record has it."""
    if value is None or isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


def output_format(path: str | None) -> str:
    """``jsonl``, ``csv`` or ``parquet``: how :class:`RecordWriter` writes ``path`` (None: JSONL on stdout).

    Raises:
        UnsupportedFormatError: unknown suffix.
    """
    return "jsonl" if path is None else table_format(path, for_output=True)


class RecordWriter:
    """Write records (dicts) as JSONL (stdout when ``path`` is None), or through ``layout`` as CSV or Parquet,
    chunk by chunk; a path ending in ``.gz`` is gzip-compressed.

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
        if path is None:
            self._fh: IO[str] = sys.stdout
        else:
            opener: Callable[..., IO[str]] = gzip.open if path.lower().endswith(".gz") else open
            self._fh = opener(path, "wt", encoding="utf-8", newline="")
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
