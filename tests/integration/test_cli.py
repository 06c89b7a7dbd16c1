"""The ``reviewpulse`` CLI end to end: formats in and out, rows in == rows out, bad inputs, exit codes."""

from __future__ import annotations

import csv
import gzip
import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from api.cli.main import app
from nlp.artifacts.paths import PROJECT_ROOT, nlp_settings
from tests.conftest import EXAMPLES, needs_datasets

runner = CliRunner()


def _score(*args: str):
    return runner.invoke(app, ["score", *args, "--quiet"])


def _jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


@pytest.fixture(scope="module")
def examples_scored(tmp_path_factory) -> list[dict]:
    out = tmp_path_factory.mktemp("score") / "scored.jsonl"
    result = _score(str(EXAMPLES), "--text-col", "text", "--id-col", "review_id", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert "rows: 50" in result.output
    return _jsonl(out)


def test_examples_one_record_per_row_in_order(examples_scored):
    source = pd.read_csv(EXAMPLES, dtype=str, keep_default_na=False)
    assert [r["id"] for r in examples_scored] == source["review_id"].tolist()
    errors = {r["id"]: r["error"]["code"] for r in examples_scored if "error" in r}
    empty = source.loc[source["text"].str.strip() == "", "review_id"].tolist()
    assert errors == dict.fromkeys(empty, "missing_text")  # an empty CSV cell is a missing value
    for record in examples_scored:
        if "error" not in record:
            assert set(record) >= {"id", "sentiment", "sentences", "aspects", "topics", "model_version"}


def test_two_worker_processes_give_the_records_of_one(examples_scored, tmp_path):
    out = tmp_path / "two.jsonl"
    exe = Path(sys.executable).parent / "reviewpulse"
    command = [str(exe), "score", str(EXAMPLES), "--text-col", "text", "--id-col", "review_id"]
    done = subprocess.run(
        [*command, "--out", str(out), "--processes", "2", "--chunk-size", "16", "--quiet"],
        env={**os.environ, "HF_HUB_OFFLINE": "1"}, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert _jsonl(out) == examples_scored


def test_no_entities_leaves_only_the_entities_out(examples_scored, tmp_path):
    out = tmp_path / "lean.jsonl"
    result = _score(
        str(EXAMPLES), "--text-col", "text", "--id-col", "review_id", "--no-entities", "--out", str(out)
    )
    assert result.exit_code == 0, result.output
    lean = _jsonl(out)
    assert all("entities" not in record for record in lean)
    assert lean == [{k: v for k, v in record.items() if k != "entities"} for record in examples_scored]


def test_processes_belong_to_the_local_engine(no_model_load):
    result = _score(str(EXAMPLES), "--text-col", "text", "--engine", "ray", "--processes", "2")
    assert result.exit_code == 2 and "--processes is for the local engine" in result.output


def test_example_redaction_and_html(tmp_path):
    out = tmp_path / "redacted.jsonl"
    result = _score(
        str(EXAMPLES), "--text-col", "text", "--id-col", "review_id", "--out", str(out), "--redact-pii"
    )
    assert result.exit_code == 0, result.output
    dumped = out.read_text(encoding="utf-8")
    assert "@example.com" not in dumped and "[EMAIL]" in dumped
    assert "<br" not in dumped


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_flat_outputs(tmp_path, suffix):
    out = tmp_path / f"scored{suffix}"
    result = _score(str(EXAMPLES), "--text-col", "text", "--id-col", "review_id", "--out", str(out))
    assert result.exit_code == 0, result.output
    frame = pd.read_csv(out, dtype=str) if suffix == ".csv" else pd.read_parquet(out)
    assert len(frame) == 50
    ok = frame[frame["error_code"].isna()]
    assert set(ok["sentiment"]) <= {"negative", "neutral", "positive"}
    assert all(isinstance(json.loads(a), list) for a in ok["aspects"])


def test_parquet_and_jsonl_inputs(tmp_path):
    frame = pd.read_csv(EXAMPLES, dtype=str, keep_default_na=False).head(8)
    frame.to_parquet(tmp_path / "in.parquet")
    frame.to_json(tmp_path / "in.jsonl", orient="records", lines=True)
    for name in ("in.parquet", "in.jsonl"):
        out = tmp_path / f"{name}.out.jsonl"
        result = _score(
            str(tmp_path / name), "--text-col", "text", "--id-col", "review_id", "--out", str(out)
        )
        assert result.exit_code == 0, result.output
        assert [r["id"] for r in _jsonl(out)] == frame["review_id"].tolist()


def test_bad_jsonl_lines_are_error_records(tmp_path):
    lines = [
        json.dumps({"text": "Lovely soft sweater."}).encode(),
        b"{not json",
        json.dumps({"text": ""}).encode(),
        b'{"text": "caf\xe9 broken bytes"}',
        json.dumps({"other": "no text key"}).encode(),
        json.dumps(["a", "list"]).encode(),
        json.dumps({"text": "Runs small, sent it back."}).encode(),
    ]
    src = tmp_path / "bad.jsonl"
    src.write_bytes(b"\n".join(lines) + b"\n")
    out = tmp_path / "out.jsonl"
    result = _score(str(src), "--text-col", "text", "--out", str(out))
    assert result.exit_code == 0, result.output
    records = _jsonl(out)
    assert [r["id"] for r in records] == list(range(len(lines)))
    codes = [r.get("error", {}).get("code", "ok") for r in records]
    assert codes == [
        "ok",
        "invalid_json",
        "empty_text",
        "undecodable_text",
        "missing_text",
        "invalid_json",
        "ok",
    ]


def test_undecodable_csv_bytes_and_missing_values(tmp_path):
    src = tmp_path / "bytes.csv"
    src.write_bytes(b"id,text\n1,Great fit\n2,bad \xff\xfe bytes\n3,\n4,Too itchy to wear\n")
    out = tmp_path / "out.jsonl"
    result = _score(str(src), "--text-col", "text", "--id-col", "id", "--out", str(out))
    assert result.exit_code == 0, result.output
    records = _jsonl(out)
    assert [r["id"] for r in records] == ["1", "2", "3", "4"]
    assert [r.get("error", {}).get("code") for r in records] == [
        None,
        "undecodable_text",
        "missing_text",
        None,
    ]
    # QA: "no text in this row" named no row, and an id-less row could not be found
    assert records[2]["error"]["message"].endswith("(input row 2, counted from 0)")


def test_malformed_csv_lines_are_error_records_and_gz_outputs_are_compressed(tmp_path):
    src = tmp_path / "malformed.csv"
    src.write_text('id,text\n1,Warm and soft.\n2,"bad",x,y\n3,Too small.\n4,"unclosed\n5,Lovely.\n')
    out = tmp_path / "out.csv.gz"
    result = _score(str(src), "--text-col", "text", "--id-col", "id", "--out", str(out))
    assert result.exit_code == 0, result.output
    with gzip.open(out, "rt", encoding="utf-8") as fh:
        records = pd.read_csv(fh, dtype=str)
    # a malformed row has no id: its row number, 1 and 3, would be the first and third rows' ids
    assert records["id"].fillna("-").tolist() == ["1", "-", "3", "-", "5"]
    assert records["error_code"].fillna("ok").tolist() == ["ok", "malformed_row", "ok", "malformed_row", "ok"]
    assert records["error_message"][1] == "line 3 has 4 fields where the header has 2"
    assert records["error_message"][3].startswith("line 5 opens a quote that is never closed")


def test_a_jsonl_object_without_the_text_key_first_is_an_error_record(tmp_path):
    src = tmp_path / "first.jsonl"
    src.write_text('{"id": "x"}\n{"id": "y", "text": "Lovely soft sweater."}\n')
    out = tmp_path / "out.jsonl.gz"
    result = _score(str(src), "--text-col", "text", "--id-col", "id", "--out", str(out))
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in gzip.decompress(out.read_bytes()).decode().splitlines()]
    assert [(r["id"], r.get("error", {}).get("code", "ok")) for r in records] == [
        ("x", "missing_text"),
        ("y", "ok"),
    ]


def test_an_empty_csv_file_exits_2_naming_it(tmp_path, no_model_load):
    src = tmp_path / "empty.csv"
    src.write_bytes(b"")
    result = _score(str(src), "--text-col", "text")
    assert result.exit_code == 2
    assert f"column 'text' not found; {src} is empty (no header row)" in result.output


@pytest.fixture
def no_model_load(monkeypatch):
    """Make loading any model fail, for checks that must come before the models load."""

    def loaded(*args, **kwargs):
        raise AssertionError("a model was loaded before the input was checked")

    monkeypatch.setattr("api.cli.main.load_analyzer", loaded)
    monkeypatch.setattr("nlp.intents.classifier.IntentClassifier.load", loaded)


@pytest.mark.parametrize("command", ["score", "intent"])
def test_missing_column_exits_2_and_names_columns_before_the_models_load(tmp_path, no_model_load, command):
    out = tmp_path / "never.jsonl"
    result = runner.invoke(app, [command, str(EXAMPLES), "--text-col", "body", "--out", str(out)])
    assert result.exit_code == 2
    assert "'body' not found" in result.output and "review_id" in result.output and "text" in result.output
    assert not out.exists()
    no_id = runner.invoke(app, [command, str(EXAMPLES), "--text-col", "text", "--id-col", "ident"])
    assert no_id.exit_code == 2 and "'ident' not found" in no_id.output


@pytest.mark.parametrize("command", ["score", "intent"])
def test_an_out_file_that_is_the_input_is_refused(tmp_path, no_model_load, command):
    """QA: `score dump.csv --out dump.csv` replaced the review dump with its scores."""
    dump = tmp_path / "dump.csv"
    dump.write_text("text\nSo soft!\n", encoding="utf-8")
    result = runner.invoke(
        app, [command, str(dump), "--text-col", "text", "--out", str(tmp_path / "." / "dump.csv")]
    )
    assert result.exit_code == 2 and "is the input file" in result.output
    assert dump.read_text(encoding="utf-8") == "text\nSo soft!\n"


def test_an_empty_text_is_refused_before_the_models_load(no_model_load):
    empty = runner.invoke(app, ["analyze", "   "])
    assert empty.exit_code == 1 and "empty_text" in empty.output


def test_help_describes_every_option_and_shows_no_bool_type():
    import typer.main

    root = typer.main.get_command(app)
    for path in (["analyze"], ["recommend"], ["score"], ["load", "products"], ["serve"]):
        command = root
        for name in path:
            command = command.commands[name]  # type: ignore[attr-defined]
        undocumented = [p.name for p in command.params if p.param_type_name == "option" and not p.help]
        assert not undocumented, f"{' '.join(path)}: options without help: {undocumented}"
        shown = runner.invoke(app, [*path, "--help"], env={"COLUMNS": "120"}).output
        assert "<bool>" not in shown, shown
    assert "reviewpulse[ray]" in runner.invoke(app, ["score", "--help"], env={"COLUMNS": "200"}).output


def test_models_listing_has_a_header_and_marks_the_default_and_the_newest():
    from nlp.artifacts.registry import Registry

    lines = runner.invoke(app, ["models"]).output.splitlines()
    assert lines[0].split()[:4] == ["model", "version", "marks", "path"]
    registry = Registry()
    default = registry.get("sentiment").version
    newest = registry.versions("sentiment")[-1]
    rows = {line.split()[1]: line for line in lines[1:] if line.startswith("sentiment ")}
    assert "default" in rows[f"v{default}"] and "newest" in rows[f"v{newest}"]
    assert sum("default" in line for line in rows.values()) == 1


def test_unknown_format_and_missing_file_exit_2(tmp_path):
    (tmp_path / "x.xlsx").write_text("nope")
    assert _score(str(tmp_path / "x.xlsx"), "--text-col", "t").exit_code == 2
    assert _score(str(tmp_path / "absent.csv"), "--text-col", "t").exit_code == 2


def test_stdin_through_the_installed_command(tmp_path):
    exe = Path(sys.executable).parent / "reviewpulse"
    payload = "\n".join(
        json.dumps({"id": f"a{i}", "text": t}) for i, t in enumerate(["So soft!", "Broke in a week."])
    )
    done = subprocess.run(
        [str(exe), "score", "-", "--text-col", "text", "--id-col", "id"],
        input=payload.encode(),
        capture_output=True,
        timeout=300,
        env={**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(PROJECT_ROOT)},  # this checkout's code
    )
    assert done.returncode == 0, done.stderr.decode()
    records = [json.loads(line) for line in done.stdout.decode().splitlines()]
    assert [r["id"] for r in records] == ["a0", "a1"]
    stderr = done.stderr.decode()
    assert "scoring" in stderr and "rows: 2" in stderr
    assert "Loading weights" not in stderr and "Warning" not in stderr, stderr


@needs_datasets
def test_real_subset_of_the_clothing_dump(tmp_path):
    src = nlp_settings().datasets_dir / "womens_clothing_reviews" / "womens_clothing_reviews.csv"
    subset = tmp_path / "subset.csv"
    pd.read_csv(src).head(200).to_csv(subset, index=False, quoting=csv.QUOTE_MINIMAL)
    out = tmp_path / "subset.parquet"
    result = _score(str(subset), "--text-col", "Review Text", "--out", str(out))
    assert result.exit_code == 0, result.output
    frame = pd.read_parquet(out)
    assert len(frame) == 200  # rows in == rows out, empty reviews included as errors
    assert frame["id"].tolist() == [str(i) for i in range(200)]
    assert (frame["error_code"].dropna() == "missing_text").all()


def test_analyze_prints_readably():
    result = runner.invoke(app, ["analyze", "The fabric is so soft but it runs small."])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("language: en\ndocument: ")
    assert "aspect 'fabric' (fabric/material; topic: " in result.output and "so soft" in result.output
    # the label its opinion terms gave an aspect the models read as neutral says so beside the models' reading (an
    # ABSA gold train sentence: the polarity head reads "thin material" neutral 0.56, its opinion terms positive)
    text = (
        "the shirt itself is fine, slight relaxed fit, thin material, purchased in a small (normal size), it really"
        " was the print that sold me."
    )
    result = runner.invoke(app, ["analyze", text])
    assert "positive (by its opinion terms; the model's most probable class is neutral 0." in result.output


def test_analyze_says_what_it_did_not_read():
    """The readable output said 'by its opinion terms' of a French review's unread document (QA finding)."""
    result = runner.invoke(app, ["analyze", "Manteau très chaud et bien coupé. La couleur est magnifique."])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("language: fr; flags: unsupported_language\n")
    assert "document: neutral (not read: every class at 0.33)" in result.output
    assert "opinion terms" not in result.output


@pytest.mark.slow
@needs_datasets
def test_evaluate_sentiment_choices_cross_validates_the_validation_split(tmp_path):
    result = runner.invoke(app, ["evaluate", "sentiment-choices", "--repeats", "1"])
    assert result.exit_code == 0, result.output
    rows = [line.split() for line in result.output.splitlines() if line[:1].isdigit()]
    assert [row[0] for row in rows] == ["1.0", "0.9", "0.8", "0.7", "0.6", "0.5", "0.4", "0.3", "0.2", "0.1"]
    for row in rows:  # weight, single mean +- sd, bagged mean +- sd: real models score well above chance
        assert all(0.6 < float(row[k]) < 0.9 for k in (1, 4)), row
    missing = runner.invoke(app, ["evaluate", "sentiment-choices", "--model", str(tmp_path)])
    assert missing.exit_code == 2 and "not a classifier artifact" in missing.output


def test_evaluate_on_a_labelled_file_and_models_listing(tmp_path):
    data = tmp_path / "labelled.csv"
    pd.DataFrame(
        {
            "body": ["I love it, perfect fit.", "Awful quality, returned.", "It is okay, nothing special."]
            * 4,
            "stars": [5, 1, 3] * 4,
        }
    ).to_csv(data, index=False)
    result = runner.invoke(
        app, ["evaluate", "sentiment", "--data", str(data), "--text-col", "body", "--label-col", "stars"]
    )
    assert result.exit_code == 0, result.output
    assert "rows: 12" in result.output and "macro-F1" in result.output and "confusion matrix" in result.output
    listing = runner.invoke(app, ["models"])
    assert listing.exit_code == 0 and "sentiment" in listing.output and "topics" in listing.output
    unknown = runner.invoke(app, ["evaluate", "sentiment", "--data", str(data), "--text-col", "body",
                                  "--label-col", "stars", "--model-version", "99"])  # fmt: skip
    assert unknown.exit_code == 2 and "known" in unknown.output


def test_model_cards_record_the_command_as_it_can_be_typed() -> None:
    import typer
    import typer.main

    from api.cli.console import invocation

    root = typer.main.get_command(app)
    train = root.commands["train"]  # type: ignore[attr-defined]
    parent = typer.Context(train, info_name="train", parent=typer.Context(root, info_name="reviewpulse"))
    args = ["--full-fine-tune", "--epochs", "3", "--rating-smoothing", "0.25", "--out", "runs/o v4"]
    ctx = train.commands["sentiment"].make_context("sentiment", args, parent=parent)
    typed = invocation(ctx)
    assert typed == (
        "reviewpulse train sentiment --epochs 3.0 --out 'runs/o v4' --full-fine-tune --rating-smoothing 0.25"
    )


def test_a_title_column_is_read_before_the_text_as_in_training(tmp_path):
    import typer

    from api.cli.console import user_frame

    data = tmp_path / "titled.csv"
    pd.DataFrame(
        {
            "title": ["Love it", None, "Too small", None],
            "body": ["perfect fit.", "Awful quality.", None, None],
            "stars": [5, 1, 2, 3],
        }
    ).to_csv(data, index=False)
    frame = user_frame(data, "body", "stars", "title")
    # the same join as the shared datasets' title + ". " + body; a row with neither is dropped
    assert frame["text"].tolist() == ["Love it. perfect fit.", "Awful quality.", "Too small."]
    assert frame["label"].tolist() == [5, 1, 2]
    with pytest.raises(typer.Exit):
        user_frame(data, "body", "stars", "headline")
    missing = runner.invoke(app, ["evaluate", "sentiment", "--data", str(data), "--text-col", "body",
                                  "--title-col", "headline", "--label-col", "stars"])  # fmt: skip
    assert missing.exit_code == 2 and "'headline' not found" in missing.output and "title" in missing.output
