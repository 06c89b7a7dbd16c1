"""Tests for nlp.io.tables, the one table reader and writer: formats by suffix, chunks with row numbers, rows
that cannot be read reported in place, missing columns named, rows counted, records written back."""

from __future__ import annotations

import gzip
import io
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
    flat_id,
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
        (
            1,
            RowError("invalid_json", "line 3 is not valid JSON: Expecting value at column 1"),
        ),  # the blank line counts
        (2, RowError("invalid_json", "line 4 is not a JSON object")),
        (3, RowError("undecodable_text", "line 5 is not valid UTF-8")),
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


def test_malformed_csv_rows_are_reported_in_place_and_the_read_goes_on(tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    path.write_bytes(b'\xef\xbb\xbfid,text\n1,Good\n2,"bad",x,y\n\n3,"two\nlines"\n4,Fine\n')
    assert _rows(path, ["id", "text"]) == [
        (0, {"id": "1", "text": "Good"}),
        (1, RowError("malformed_row", "line 3 has 4 fields where the header has 2")),
        (2, {"id": "3", "text": "two\nlines"}),  # a quoted newline; the blank line before is skipped
        (3, {"id": "4", "text": "Fine"}),
    ]
    assert count_rows(str(path)) == 4
    assert table_columns(str(path)) == ["id", "text"]  # the byte order mark is not part of the first name


@pytest.mark.parametrize(
    ("lines", "why"),
    [
        (3, "line 3 opens a quote that is never closed"),  # it runs to the end of the file
        (20_000, "line 3: field larger than field limit (131072) (a quote left open?)"),  # memory stays flat
    ],
)
def test_an_unclosed_quote_is_one_malformed_row_and_the_lines_after_it_are_read_again(
    tmp_path: Path, lines: int, why: str
) -> None:
    path = tmp_path / "r.csv"
    path.write_text(
        'id,text\n1,Good\n2,"unclosed\n' + "".join(f"{i},Fine {i}\n" for i in range(3, lines + 3))
    )
    rows = _rows(path, ["id", "text"], chunk_size=256)
    assert rows[:3] == [
        (0, {"id": "1", "text": "Good"}),
        (1, RowError("malformed_row", f"{why}; the lines after it are read as rows")),
        (2, {"id": "3", "text": "Fine 3"}),
    ]
    assert rows[-1] == (lines + 1, {"id": str(lines + 2), "text": f"Fine {lines + 2}"})
    assert [n for n, _ in rows] == list(range(lines + 2)) and count_rows(str(path)) == lines + 2


def test_an_empty_csv_file_names_itself_and_a_header_only_one_has_no_rows(tmp_path: Path) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    with pytest.raises(MissingColumnError, match=rf"'text' not found; {empty} is empty \(no header row\)"):
        next(read_table(str(empty), ["text"]))
    assert table_columns(str(empty)) == [] and count_rows(str(empty)) == 0
    header_only = tmp_path / "header.csv"
    header_only.write_text("id,text\n")
    assert _rows(header_only, ["text"]) == [] and count_rows(str(header_only)) == 0


def test_a_jsonl_column_is_missing_only_if_no_object_of_the_first_thousand_has_it(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    path.write_text('{"id": "x"}\n{"id": "y", "text": "Nice"}\n')
    assert _rows(path, ["text", "id"]) == [(0, {"text": None, "id": "x"}), (1, {"text": "Nice", "id": "y"})]
    assert table_columns(str(path)) == ["id", "text"]
    path.write_text('{"id": "x"}\n' * 1000 + '{"id": "y", "text": "Nice"}\n')
    with pytest.raises(MissingColumnError, match=r"'text' not found; available columns: id"):
        next(read_table(str(path), ["text"]))


def test_stdin_lines_that_are_not_json_say_stdin_is_read_as_jsonl(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(b"id,text\n1,Good\n")))
    [[(_, first), _]] = list(read_table("-", ["text"]))
    assert first == RowError(
        "invalid_json",
        "line 1 is not valid JSON: Expecting value at column 1 (stdin is read as JSONL: one JSON object a line)",
    )


@pytest.mark.parametrize("suffix", ["jsonl.gz", "csv.gz"])
def test_gz_outputs_are_gzip_compressed(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"out.{suffix}"
    writer = RecordWriter(str(path), FlatLayout(["id"], lambda r: {"id": r["id"]}))
    writer.write([{"id": "a"}, {"id": "b"}])
    writer.close()
    expected = '{"id": "a"}\n{"id": "b"}\n' if suffix == "jsonl.gz" else "id\r\na\r\nb\r\n"
    assert gzip.decompress(path.read_bytes()).decode() == expected
    assert [values for _, values in _rows(path, ["id"])] == [{"id": "a"}, {"id": "b"}]


def test_a_flat_id_is_null_when_the_row_has_none_and_json_when_not_a_string() -> None:
    """QA: an id-less row's id was the string "None" in CSV and Parquet (null in JSONL), a JSON object's id
    Python's repr."""
    assert flat_id(None) is None and flat_id("767") == "767" and flat_id(767) == "767"
    assert flat_id({"a": 1}) == '{"a": 1}' and flat_id("é") == "é"


def test_an_invalid_json_line_says_where(tmp_path: Path) -> None:
    """QA: the message ended mid-sentence ("Invalid control character at")."""
    path = tmp_path / "bad.jsonl"
    path.write_bytes(b'{"text": "ok"}\n{"text": "tab\there"}\n')
    [rows] = read_table(str(path), ["text"], 10)
    assert rows[1][1] == RowError(
        "invalid_json", "line 2 is not valid JSON: Invalid control character at column 14"
    )
