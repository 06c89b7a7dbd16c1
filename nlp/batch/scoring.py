"""Batch scoring of review dumps: CSV (also ``.csv.gz``), JSONL or Parquet in; JSONL, CSV or Parquet out.

Rows stream through in chunks, so memory stays flat whatever the file size. Every input row yields exactly
one output record, in input order: the analysis, or ``{"id", "error": {"code", "message"}}``. ``id`` is the
``id_col`` value, else the 0-based row number.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Protocol

from tqdm.auto import tqdm

from nlp.analysis.analyzer import AnalysisError, Analyzer
from nlp.io.tables import (
    STDIN,
    FlatLayout,
    RecordWriter,
    RowError,
    count_rows,
    flat_id,
    output_format,
    read_table,
)

FLAT_COLUMNS = [
    "id", "sentiment", "negative", "neutral", "positive", "topics", "sentences", "aspects", "entities",
    "language", "flags", "model_version", "truncated", "error_code", "error_message",
]  # fmt: skip


@dataclass
class Row:
    """One input row: its 0-based ``number`` among the input's rows, its id and its text, or the error that
    already makes it unusable."""

    number: int
    id: Any
    text: object = None
    error: AnalysisError | None = None


def read_rows(
    path: str,
    text_col: str,
    id_col: str | None = None,
    chunk_size: int = 256,
    source: IO[bytes] | None = None,
) -> Iterator[list[Row]]:
    """Yield the input as chunks of :class:`Row`, in order (read by :func:`nlp.io.tables.read_table`, whose
    ``source`` this passes on). Without ``id_col`` a row's id is its 0-based row number; with it, a row that
    has no value there or could not be read has the id None (its error message names the input line).

    Raises:
        MissingColumnError: ``text_col`` or ``id_col`` is not in the input (checked before any row is read).
        UnsupportedFormatError: unknown suffix.
    """
    columns = [text_col] if id_col is None else [text_col, id_col]
    for chunk in read_table(path, columns, chunk_size, source):
        yield [_row(number, values, text_col, id_col) for number, values in chunk]


def _row(number: int, values: dict[str, Any] | RowError, text_col: str, id_col: str | None) -> Row:
    # with an id column, a row without an id gets none (its row number could be another row's id)
    if isinstance(values, RowError):
        return Row(
            number, number if id_col is None else None, error=AnalysisError(values.code, values.message)
        )
    return Row(number, number if id_col is None else values[id_col], values[text_col])


def check_columns(path: str, text_col: str, id_col: str | None = None) -> None:
    """Raise now what :func:`read_rows` would raise at its first row, so that a missing column or an unknown
    suffix is reported before any model loads. Reads at most the first row; stdin, which can be read only
    once, is not read.

    Raises:
        MissingColumnError, UnsupportedFormatError: as :func:`read_rows`.
    """
    if path != STDIN:
        next(read_rows(path, text_col, id_col, chunk_size=1), None)


def flatten(record: dict) -> dict:
    """One flat row for CSV / Parquet: scalar columns plus JSON strings for nested lists; ``flags`` joined
    with commas (empty: none)."""
    error = record.get("error") or {}
    sentiment = record.get("sentiment") or {}
    scores = sentiment.get("scores", {})
    nested = {
        k: json.dumps(record[k], ensure_ascii=False) if k in record else None
        for k in ("topics", "sentences", "aspects", "entities")
    }
    return {
        "id": flat_id(record["id"]),
        "sentiment": sentiment.get("label"),
        **{k: scores.get(k) for k in ("negative", "neutral", "positive")},
        **nested,
        "language": record.get("language"),
        "flags": ",".join(record.get("flags", [])) if "sentiment" in record else None,
        "model_version": record.get("model_version"),
        "truncated": bool(record.get("truncated", False)),
        "error_code": error.get("code"),
        "error_message": error.get("message"),
    }


SENTIMENT_LAYOUT = FlatLayout(
    FLAT_COLUMNS, flatten, frozenset({"negative", "neutral", "positive"}), frozenset({"truncated"})
)


@dataclass
class ScoreSummary:
    """Counts over a scoring run: rows, errors by code, document sentiment and topic distributions."""

    rows: int = 0
    errors: Counter = field(default_factory=Counter)
    sentiment: Counter = field(default_factory=Counter)
    topics: Counter = field(default_factory=Counter)
    truncated: int = 0
    flags: Counter = field(default_factory=Counter)

    def add(self, record: dict) -> None:
        self.rows += 1
        if "error" in record:
            self.errors[record["error"]["code"]] += 1
            return
        self.sentiment[record["sentiment"]["label"]] += 1
        self.truncated += bool(record.get("truncated"))
        self.flags.update(record.get("flags", []))
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
        if self.topics:  # none with --only sentiment
            lines.append(
                "top topics: " + "; ".join(f"{label} ({n})" for label, n in self.topics.most_common(5))
            )
        if self.truncated:
            lines.append(f"truncated for the model: {self.truncated}")
        if self.flags:
            lines.append("flagged: " + ", ".join(f"{flag} {n}" for flag, n in self.flags.most_common()))
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
    works with its own ``summary`` and flat ``layout``. :func:`score_resumable` writes in parts instead.

    Raises:
        MissingColumnError, UnsupportedFormatError: before anything is written.
    """
    chunks = read_rows(input_path, text_col, id_col, chunk_size)
    first = next(chunks, [])  # surfaces a missing column before the output file is created
    writer = RecordWriter(out_path, layout)
    summary = summary or ScoreSummary()
    bar = progress_bar(input_path, progress)
    try:
        for chunk in _chain(first, chunks):
            records = analyse_rows(analyzer, chunk)
            for record in records:
                summary.add(record)
            writer.write(records)
            bar.update(len(chunk))
    finally:
        bar.close()
        writer.close()
    return summary


def analyse_rows(analyzer: Analyzer | Model, rows: list[Row]) -> list[dict]:
    """One record per row, in order: ``{"id", **analysis}`` or ``{"id", "error": {"code", "message"}}``; an
    error's message names the row (the reader's name its line: "line 20 has 3 fields"), so that a row without
    an id can be found."""
    results = analyzer.analyze([r.text if r.error is None else "" for r in rows])
    return [
        {"id": _plain(row.id), **(row.error or _in_row(result, row.number)).to_dict()}
        for row, result in zip(rows, results, strict=True)
    ]


def _in_row(result: Any, number: int) -> Any:
    """``result``, or the analysis error it is with its message naming input row ``number`` (0-based)."""
    if isinstance(result, AnalysisError):
        return AnalysisError(result.code, f"{result.message} (input row {number}, counted from 0)")
    return result


def progress_bar(input_path: str, progress: bool, initial: int = 0) -> tqdm:
    """The ``scoring`` bar on stderr, with the input's row count (:func:`count_rows`) as total when shown."""
    total = count_rows(input_path) if progress else None
    return tqdm(
        total=total, initial=initial, unit="row", desc="scoring", disable=not progress, file=sys.stderr
    )


class ResumeError(ValueError):
    """The parts of an earlier run are in the way (no ``resume``), or they belong to a different run."""


class PartStore:
    """The output of a resumable run, in parts beside ``OUT``: a folder ``OUT.parts/`` holding
    ``part-00000.jsonl``, ``part-00001.jsonl``, ... (one per analysed chunk) and ``manifest.json``::

        {"run": {"input": "/abs/reviews.csv", "input_bytes": 1234, "text_col": ..., ...},
         "parts": [{"file": "part-00000.jsonl", "first_row": 0, "last_row": 255, "rows": 256}, ...]}

    A part counts once the manifest lists it: the part file is fsynced first, then the manifest is
    replaced atomically (``os.replace``). A file the manifest does not list (a part cut short by a kill)
    is deleted when the run resumes, and its rows are analysed again.
    """

    def __init__(self, out_path: str) -> None:
        self.out_path = out_path
        self.folder = Path(f"{out_path}.parts")
        self.manifest = self.folder / "manifest.json"
        self.run: dict = {}
        self.parts: list[dict] = []

    def check(self, resume: bool) -> None:
        """Raise :class:`ResumeError` when parts are there and ``resume`` is False (nothing is overwritten)."""
        if self.folder.exists() and not resume:
            raise ResumeError(
                f"{self.folder} holds the parts of an unfinished run into {self.out_path}: "
                "pass --resume to finish it, or delete the folder to start over"
            )

    def open(self, run: dict, resume: bool) -> int:
        """Start the parts of ``run`` (JSON-able: what is read and how), or continue them with ``resume``.

        Returns the number of input rows the listed parts already hold (0 for a new run).

        Raises:
            ResumeError: parts are there without ``resume``; they were written for another ``run``; or a
                listed part file is missing.
        """
        self.check(resume)
        self.folder.mkdir(parents=True, exist_ok=True)
        if self.manifest.exists():  # no manifest (a run killed before its first save): nothing is done
            saved = json.loads(self.manifest.read_text(encoding="utf-8"))
            changed = {k: (saved["run"].get(k), v) for k, v in run.items() if saved["run"].get(k) != v}
            if changed:
                then_now = "; ".join(f"{k}: {a!r} then, {b!r} now" for k, (a, b) in changed.items())
                raise ResumeError(
                    f"{self.folder} was written by another run ({then_now}); delete it to start over"
                )
            self.parts = saved["parts"]
        listed = {part["file"] for part in self.parts}
        if missing := sorted(listed - {f.name for f in self.folder.iterdir()}):
            raise ResumeError(f"{self.folder} lacks listed parts {missing}; delete it to start over")
        for stray in self.folder.iterdir():
            if stray.name not in listed and stray != self.manifest:
                stray.unlink()
        self.run = run
        self._save()
        return self.rows_done

    @property
    def rows_done(self) -> int:
        return sum(part["rows"] for part in self.parts)

    def add(self, records: list[dict]) -> None:
        """Write the records of the next input rows (from row :attr:`rows_done` on) as one part."""
        name = f"part-{len(self.parts):05d}.jsonl"
        writer = RecordWriter(str(self.folder / name), SENTIMENT_LAYOUT)
        writer.write(records)
        writer.close()
        _fsync(self.folder / name)
        first = self.rows_done
        self.parts.append(
            {"file": name, "first_row": first, "last_row": first + len(records) - 1, "rows": len(records)}
        )
        self._save()

    def finish(self, summary: ScoreSummary) -> None:
        """Write every part, in order, to ``OUT`` in its format (:class:`RecordWriter`); remove the folder."""
        writer = RecordWriter(self.out_path, SENTIMENT_LAYOUT)
        try:
            for part in self.parts:
                with open(self.folder / part["file"], encoding="utf-8") as fh:
                    records = [json.loads(line) for line in fh]
                for record in records:
                    summary.add(record)
                writer.write(records)
        finally:
            writer.close()
        self.manifest.unlink()  # first: a folder left half-removed by a kill holds nothing "done"
        shutil.rmtree(self.folder)

    def _save(self) -> None:
        staged = self.manifest.with_name("manifest.json.tmp")
        staged.write_text(json.dumps({"run": self.run, "parts": self.parts}, indent=1), encoding="utf-8")
        _fsync(staged)
        os.replace(staged, self.manifest)
        _fsync(self.folder)  # the rename itself


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def score_resumable(
    analyzer: Analyzer | Model,
    input_path: str,
    text_col: str,
    id_col: str | None,
    out_path: str,
    resume: bool = False,
    options: dict | None = None,
    chunk_size: int = 256,
    progress: bool = True,
) -> ScoreSummary:
    """Score ``input_path`` into ``out_path`` through a :class:`PartStore`, so a killed run can be resumed.

    With ``resume``, the rows of the listed parts are read but not analysed, and the run goes on from the
    first row after them; the output is then the same as an uninterrupted run's. ``options`` (JSON-able,
    e.g. the model version) are saved with the input's absolute path and size, and must match on resume.
    When every row is done, ``out_path`` is written in its format and the parts folder removed.

    Raises:
        MissingColumnError, UnsupportedFormatError, ResumeError: before anything is analysed.
    """
    output_format(out_path)  # an unknown suffix fails now, not after the analysis
    chunks = read_rows(input_path, text_col, id_col, chunk_size)
    first = next(chunks, [])  # a missing column fails before the parts folder is made
    run = {
        "input": input_path if input_path == STDIN else os.path.abspath(input_path),
        "input_bytes": None if input_path == STDIN else os.path.getsize(input_path),
        "text_col": text_col,
        "id_col": id_col,
        **(options or {}),
    }
    parts = PartStore(out_path)
    done = parts.open(run, resume)
    bar = progress_bar(input_path, progress, initial=done)
    row_number = 0
    try:
        for chunk in _chain(first, chunks):
            todo = chunk[max(done - row_number, 0) :]  # the rows of listed parts are skipped
            row_number += len(chunk)
            if todo:
                parts.add(analyse_rows(analyzer, todo))
                bar.update(len(todo))
    finally:
        bar.close()
    if row_number < done:
        raise ResumeError(f"{parts.folder} holds {done} rows but {input_path} has {row_number}")
    summary = ScoreSummary()
    parts.finish(summary)
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
    "PartStore",
    "ResumeError",
    "Row",
    "ScoreSummary",
    "analyse_rows",
    "check_columns",
    "progress_bar",
    "read_rows",
    "score",
    "score_resumable",
]
