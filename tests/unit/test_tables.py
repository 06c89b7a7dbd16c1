"""Tests for nlp.io.tables, the one table reader and writer: formats by suffix, chunks with row numbers, rows
that cannot be read reported in place, missing columns named, rows counted, records written back."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pandas as pd
import pytest

from nlp.io.tables import (
    FlatLayout,
    MissingColumnError,
    RecordWriter,
    RowError,
    UnsupportedFormatError,
    count_rows,
    read_frame,
    read_table,
    table_columns,
    table_format,
    undecodable,
)

FRAME = pd.DataFrame({"id": ["a", "b", "c"], "text": ["Soft, warm.", "Runs small,\nsadly.", ""]})


def _write(tmp_path: Path, suffix: str) -> Path:
    path = tmp_path / f"reviews.{suffix}"
    if suffix in ("csv", "csv.gz", "tsv"):
        FRAME.to_csv(path, index=False, sep="\t" if suffix == "tsv" else ",")
    elif suffix == "parquet":
        FRAME.to_parquet(path)
    else:
        lines = "".join(json.dumps(r) + "\n" for r in FRAME.to_dict("records"))
        path.write_bytes(gzip.compress(lines.encode()) if suffix.endswith(".gz") else lines.encode())
    return path


def _rows(path: Path, columns: list[str], chunk_size: int = 2) -> list:
    return [row for chunk in read_table(str(path), columns, chunk_size) for row in chunk]


@pytest.mark.parametrize("suffix", ["csv", "csv.gz", "tsv", "jsonl", "ndjson.gz", "parquet"])
def test_every_format_reads_the_same_rows(tmp_path: Path, suffix: str) -> None:
    path = _write(tmp_path, suffix)
    rows = _rows(path, ["text", "id"])
    # an empty CSV cell is a missing value (None), as JSON null and Parquet null are
    empty = None if table_format(str(path)) == "csv" else ""
    assert rows == [
        (0, {"text": "Soft, warm.", "id": "a"}),
        (1, {"text": "Runs small,\nsadly.", "id": "b"}),
        (2, {"text": empty, "id": "c"}),
    ]
    assert count_rows(str(path)) == 3
    assert table_columns(str(path)) == ["id", "text"]


def test_chunks_hold_chunk_size_rows(tmp_path: Path) -> None:
    chunks = list(read_table(str(_write(tmp_path, "csv")), ["text"], chunk_size=2))
    assert [len(c) for c in chunks] == [2, 1]


def test_unreadable_rows_are_reported_in_place(tmp_path: Path) -> None:
    jsonl = tmp_path / "r.jsonl"
    jsonl.write_bytes(b'{"text": "fine"}\n\nnot json\n[1, 2]\n{"text": "caf\xe9"}\n{"other": 1}\n')
    assert _rows(jsonl, ["text"]) == [
        (0, {"text": "fine"}),
        (1, RowError("invalid_json", "line is not valid JSON: Expecting value")),
        (2, RowError("invalid_json", "line is not a JSON object")),
        (3, RowError("undecodable_text", "line is not valid UTF-8")),
        (4, {"text": None}),
    ]
    csv = tmp_path / "r.csv"
    csv.write_bytes(b"id,text\n1,Great fit\n2,bad \xff\xfe bytes\n")
    [(_, fine), (_, bad)] = _rows(csv, ["id", "text"])
    assert fine == {"id": "1", "text": "Great fit"} and undecodable(fine) is None
    assert bad["id"] == "2"  # the row keeps its id for the error record
    assert undecodable(bad) == RowError(
        "undecodable_text", "column 'text' holds bytes that are not valid UTF-8"
    )


@pytest.mark.parametrize("suffix", ["csv", "jsonl", "parquet"])
def test_a_missing_column_is_named_before_any_row(tmp_path: Path, suffix: str) -> None:
    with pytest.raises(MissingColumnError, match=r"'body' not found; available columns: id, text"):
        next(read_table(str(_write(tmp_path, suffix)), ["body"]))


def test_unknown_suffixes_are_refused(tmp_path: Path) -> None:
    with pytest.raises(UnsupportedFormatError, match=r"use a \.csv"):
        next(read_table(str(tmp_path / "r.xlsx"), ["text"]))
    with pytest.raises(UnsupportedFormatError):
        table_format("out.tsv", for_output=True)  # read, never written
    with pytest.raises(UnsupportedFormatError):
        read_frame(tmp_path / "r.txt")
    assert table_format("-") == "jsonl" and count_rows("-") is None


@pytest.mark.parametrize("suffix", ["csv", "jsonl", "parquet"])
def test_read_frame_by_suffix(tmp_path: Path, suffix: str) -> None:
    frame = pd.DataFrame({"text": ["soft", "tight"], "label": ["positive", "negative"]})
    path = tmp_path / f"data.{suffix}"
    if suffix == "csv":
        frame.to_csv(path, index=False)
    elif suffix == "jsonl":
        frame.to_json(path, orient="records", lines=True)
    else:
        frame.to_parquet(path)
    pd.testing.assert_frame_equal(read_frame(path), frame)


@pytest.mark.parametrize("suffix", ["jsonl", "csv", "parquet"])
def test_records_written_read_back(tmp_path: Path, suffix: str) -> None:
    layout = FlatLayout(
        ["id", "score"], lambda r: {"id": r["id"], "score": r["score"]}, floats=frozenset({"score"})
    )
    path = tmp_path / f"out.{suffix}"
    writer = RecordWriter(str(path), layout)
    writer.write([{"id": "a", "score": 0.5}])
    writer.write([{"id": "b", "score": 1.0}])
    writer.close()
    rows = [values for _, values in _rows(path, ["id", "score"])]
    score = [str(r["score"]) if suffix == "csv" else r["score"] for r in rows]
    assert [r["id"] for r in rows] == ["a", "b"]
    assert score == (["0.5", "1.0"] if suffix == "csv" else [0.5, 1.0])
