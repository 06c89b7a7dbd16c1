"""Batch scoring of review dumps: CSV (also ``.csv.gz``), JSONL or Parquet in; JSONL, CSV or Parquet out.

Rows stream through in chunks, so memory stays flat whatever the file size. Every input row yields exactly
one output record, in input order: the analysis, or ``{"id", "error": {"code", "message"}}``. ``id`` is the
``id_col`` value, else the 0-based row number.
"""

from __future__ import annotations

import contextlib
import csv
import gzip
import json
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import IO, Any, Protocol

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from tqdm.auto import tqdm

from nlp.analyzer import AnalysisError, Analyzer

STDIN = "-"
FLAT_COLUMNS = [
    "id", "sentiment", "negative", "neutral", "positive", "topics", "sentences", "aspects", "entities",
    "model_version", "truncated", "error_code", "error_message",
]  # fmt: skip


class MissingColumnError(ValueError):
    """A requested column is not in the input; the message names the available ones."""

    def __init__(self, column: str, available: list[str]) -> None:
        super().__init__(f"column {column!r} not found; available columns: {', '.join(map(str, available))}")


class UnsupportedFormatError(ValueError):
    """The file suffix is not one of .csv, .csv.gz, .jsonl, .ndjson, .parquet."""


@dataclass
class Row:
    """One input row: its id and its text, or the error that already makes it unusable."""

    id: Any
    text: object = None
    error: AnalysisError | None = None


def _format(path: str, for_output: bool = False) -> str:
    name = path.lower()
    if path == STDIN or name.endswith((".jsonl", ".ndjson", ".jsonl.gz")):
        return "jsonl"
    if name.endswith(".parquet"):
        return "parquet"
    if name.endswith((".csv", ".csv.gz")) or (not for_output and name.endswith(".tsv")):
        return "csv"
    raise UnsupportedFormatError(f"{path}: use a .csv, .csv.gz, .jsonl or .parquet file")


def _check(columns: list[str], *wanted: str | None) -> None:
    for col in wanted:
        if col is not None and col not in columns:
            raise MissingColumnError(col, columns)


def read_rows(
    path: str, text_col: str, id_col: str | None = None, chunk_size: int = 256
) -> Iterator[list[Row]]:
    """Yield the input as chunks of :class:`Row`, in order.

    Raises:
        MissingColumnError: ``text_col`` or ``id_col`` is not in the input (checked before any row is read).
        UnsupportedFormatError: unknown suffix.
    """
    kind = _format(path)
    if kind == "csv":
        yield from _read_csv(path, text_col, id_col, chunk_size)
    elif kind == "parquet":
        yield from _read_parquet(path, text_col, id_col, chunk_size)
    else:
        yield from _read_jsonl(path, text_col, id_col, chunk_size)


def _read_csv(path: str, text_col: str, id_col: str | None, chunk_size: int) -> Iterator[list[Row]]:
    reader = pd.read_csv(
        path,
        chunksize=chunk_size,
        dtype=object,  # Python strings: arrow-backed str cannot hold the escaped bad bytes
        keep_default_na=False,
        na_values=[""],
        encoding_errors="surrogateescape",  # undecodable bytes become a row error, not a crash
        sep="\t" if path.lower().endswith(".tsv") else ",",
    )
    row_number = 0
    for chunk in reader:
        _check(list(chunk.columns), text_col, id_col)
        ids = chunk[id_col] if id_col else range(row_number, row_number + len(chunk))
        yield [Row(i, None if pd.isna(t) else t) for i, t in zip(ids, chunk[text_col], strict=True)]
        row_number += len(chunk)


def _read_parquet(path: str, text_col: str, id_col: str | None, chunk_size: int) -> Iterator[list[Row]]:
    file = pq.ParquetFile(path)
    _check(file.schema_arrow.names, text_col, id_col)
    columns = [text_col] if id_col is None else [text_col, id_col]
    row_number = 0
    for batch in file.iter_batches(batch_size=chunk_size, columns=columns):
        texts = batch.column(text_col).to_pylist()
        ids = batch.column(id_col).to_pylist() if id_col else range(row_number, row_number + len(texts))
        yield [Row(i, t) for i, t in zip(ids, texts, strict=True)]
        row_number += len(texts)


def _open_binary(path: str, stack: contextlib.ExitStack) -> IO[bytes] | gzip.GzipFile:
    if path == STDIN:
        return sys.stdin.buffer
    if path.lower().endswith(".gz"):
        return stack.enter_context(gzip.open(path, "rb"))
    return stack.enter_context(open(path, "rb"))


def _read_jsonl(path: str, text_col: str, id_col: str | None, chunk_size: int) -> Iterator[list[Row]]:
    checked, chunk, row_number = False, [], 0
    with contextlib.ExitStack() as stack:
        for raw in _open_binary(path, stack):
            if not raw.strip():
                continue
            row = _parse_json_line(raw, row_number)
            if isinstance(row, dict):
                if not checked:  # the first object decides whether the column exists at all
                    _check(list(row), text_col)
                    checked = True
                row = Row(row.get(id_col, row_number) if id_col else row_number, row.get(text_col))
            chunk.append(row)
            row_number += 1
            if len(chunk) >= chunk_size:
                yield chunk
                chunk = []
    if chunk:
        yield chunk


def _parse_json_line(raw: bytes, row_number: int) -> dict | Row:
    try:
        obj = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        return Row(row_number, error=AnalysisError("undecodable_text", "line is not valid UTF-8"))
    except json.JSONDecodeError as exc:
        return Row(row_number, error=AnalysisError("invalid_json", f"line is not valid JSON: {exc.msg}"))
    if not isinstance(obj, dict):
        return Row(row_number, error=AnalysisError("invalid_json", "line is not a JSON object"))
    return obj


def flatten(record: dict) -> dict:
    """One flat row for CSV / Parquet: scalar columns plus JSON strings for nested lists."""
    error = record.get("error") or {}
    sentiment = record.get("sentiment") or {}
    scores = sentiment.get("scores", {})
    nested = {
        k: json.dumps(record[k], ensure_ascii=False) if k in record else None
        for k in ("topics", "sentences", "aspects", "entities")
    }
    return {
        "id": str(record["id"]),
        "sentiment": sentiment.get("label"),
        **{k: scores.get(k) for k in ("negative", "neutral", "positive")},
        **nested,
        "model_version": record.get("model_version"),
        "truncated": bool(record.get("truncated", False)),
        "error_code": error.get("code"),
        "error_message": error.get("message"),
    }


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


SENTIMENT_LAYOUT = FlatLayout(
    FLAT_COLUMNS, flatten, frozenset({"negative", "neutral", "positive"}), frozenset({"truncated"})
)


class RecordWriter:
    """Write records as JSONL (default, stdout when ``path`` is None), CSV or Parquet, chunk by chunk."""

    def __init__(self, path: str | None, layout: FlatLayout = SENTIMENT_LAYOUT) -> None:
        self.kind = "jsonl" if path is None else _format(path, for_output=True)
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


@dataclass
class ScoreSummary:
    """Counts over a scoring run: rows, errors by code, document sentiment and topic distributions."""

    rows: int = 0
    errors: Counter = field(default_factory=Counter)
    sentiment: Counter = field(default_factory=Counter)
    topics: Counter = field(default_factory=Counter)
    truncated: int = 0

    def add(self, record: dict) -> None:
        self.rows += 1
        if "error" in record:
            self.errors[record["error"]["code"]] += 1
            return
        self.sentiment[record["sentiment"]["label"]] += 1
        self.truncated += bool(record.get("truncated"))
        for topic in record.get("topics", []):
            if topic["id"] != -1:
                self.topics[topic["label"]] += 1

    def render(self) -> str:
        ok = self.rows - sum(self.errors.values())
        lines = [
            f"rows: {self.rows}  analysed: {ok}  errors: {sum(self.errors.values())} {dict(self.errors) or ''}"
        ]
        if ok:
            dist = ", ".join(f"{k} {self.sentiment[k] / ok:.1%}" for k in ("positive", "neutral", "negative"))
            lines.append(f"document sentiment: {dist}")
            lines.append(
                "top topics: " + "; ".join(f"{label} ({n})" for label, n in self.topics.most_common(5))
            )
        if self.truncated:
            lines.append(f"truncated for the model: {self.truncated}")
        return "\n".join(lines)


class Summary(Protocol):
    """Counts over a run: fed every record, rendered for the terminal at the end."""

    def add(self, record: dict) -> None: ...

    def render(self) -> str: ...


class Model(Protocol):
    """Anything that turns raw input values into results with ``to_dict()`` or :class:`AnalysisError` s."""

    def analyze(self, texts: list[object]) -> list: ...


def score(
    analyzer: Analyzer | Model,
    input_path: str,
    text_col: str,
    id_col: str | None = None,
    out_path: str | None = None,
    chunk_size: int = 256,
    progress: bool = True,
    summary: Summary | None = None,
    layout: FlatLayout = SENTIMENT_LAYOUT,
) -> Summary:
    """Score ``input_path`` into ``out_path`` (JSONL on stdout when None); returns the summary.

    ``analyzer`` is the review :class:`Analyzer` by default; any :class:`Model` (e.g. the intent classifier)
    works with its own ``summary`` and flat ``layout``.

    Raises:
        MissingColumnError, UnsupportedFormatError: before anything is written.
    """
    chunks = read_rows(input_path, text_col, id_col, chunk_size)
    first = next(chunks, [])  # surfaces a missing column before the output file is created
    total = pq.ParquetFile(input_path).metadata.num_rows if _format(input_path) == "parquet" else None
    writer = RecordWriter(out_path, layout)
    summary = summary or ScoreSummary()
    bar = tqdm(total=total, unit="row", desc="scoring", disable=not progress, file=sys.stderr)
    try:
        for chunk in _chain(first, chunks):
            results = analyzer.analyze([r.text if r.error is None else "" for r in chunk])
            records = []
            for row, result in zip(chunk, results, strict=True):
                body = (row.error or result).to_dict()
                records.append({"id": _plain(row.id), **body})
                summary.add(records[-1])
            writer.write(records)
            bar.update(len(chunk))
    finally:
        bar.close()
        writer.close()
    return summary


def _chain(first: list[Row], rest: Iterator[list[Row]]) -> Iterator[list[Row]]:
    if first:
        yield first
    yield from rest


def _plain(value: Any) -> Any:
    """Ids as JSON-friendly scalars (numpy / pandas scalars -> Python)."""
    return value.item() if hasattr(value, "item") else value


__all__ = [
    "SENTIMENT_LAYOUT",
    "FlatLayout",
    "MissingColumnError",
    "RecordWriter",
    "ScoreSummary",
    "UnsupportedFormatError",
    "read_rows",
    "score",
]
