"""``reviewpulse score --out ... --resume``: a killed run finishes with every row exactly once, in order, and
the same records as an uninterrupted run; parts in the way and --resume without --out are errors (exit 2)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from api.cli.main import app
from nlp.analysis.analyzer import AnalysisError
from nlp.batch.scoring import ResumeError, score_resumable
from tests.conftest import EXAMPLES

runner = CliRunner()
EXE = Path(sys.executable).parent / "reviewpulse"


def _jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def _reviews(tmp_path: Path, rows: int) -> Path:
    """The shipped examples (an empty row among them) repeated to ``rows`` rows with unique ids, as CSV."""
    examples = pd.read_csv(EXAMPLES, dtype=str, keep_default_na=False)
    frame = pd.concat([examples] * (rows // len(examples) + 1), ignore_index=True).head(rows)
    frame["review_id"] = [f"{rid}-{i}" for i, rid in enumerate(frame["review_id"])]
    frame.loc[1, "text"] = "Lovely dress.\nSecond line: the zip broke."  # a cell holding a newline
    path = tmp_path / f"reviews{rows}.csv"
    frame.to_csv(path, index=False)
    return path


def _score(src: Path, out: Path, *args: str, resume: bool = False) -> subprocess.Popen:
    command = [str(EXE), "score", str(src), "--text-col", "text", "--id-col", "review_id", "--out", str(out)]
    return subprocess.Popen(
        [*command, "--chunk-size", "8", "--quiet", *args, *(["--resume"] if resume else [])],
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def _finish(process: subprocess.Popen) -> None:
    _, stderr = process.communicate(timeout=600)
    assert process.returncode == 0, stderr.decode()


def _kill_after_first_part(process: subprocess.Popen, out: Path) -> int:
    """SIGKILL ``process`` once its manifest lists a part; returns the rows the manifest then holds."""
    manifest = Path(f"{out}.parts") / "manifest.json"
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and process.poll() is None:
        if manifest.exists() and (parts := json.loads(manifest.read_text())["parts"]):
            process.send_signal(signal.SIGKILL)
            process.wait()
            return sum(part["rows"] for part in parts)
        time.sleep(0.05)
    raise AssertionError(f"no part listed before the run ended (exit {process.poll()})")


def _kill_and_resume(src: Path, out: Path, rows: int, *args: str) -> None:
    """Start a run, SIGKILL it once a part is listed, leave a torn unlisted part, then finish with --resume."""
    done = _kill_after_first_part(_score(src, out, *args), out)
    assert 0 < done < rows, "the kill came too late to test anything"
    assert not out.exists()
    parts = Path(f"{out}.parts")
    listed = json.loads((parts / "manifest.json").read_text())["parts"]
    # a part written but never listed (as a kill during the write leaves it) must be discarded and redone
    (parts / f"part-{len(listed):05d}.jsonl").write_text('{"id": "torn', encoding="utf-8")
    _finish(_score(src, out, *args, resume=True))
    assert not parts.exists()


@pytest.mark.slow
def test_killed_run_resumes_to_the_uninterrupted_output(tmp_path):
    src = _reviews(tmp_path, 60)
    whole, resumed = tmp_path / "whole.jsonl", tmp_path / "resumed.jsonl"
    _finish(_score(src, whole, "--only", "sentiment"))
    _kill_and_resume(src, resumed, 60, "--only", "sentiment")

    records = _jsonl(resumed)
    ids = pd.read_csv(src, dtype=str)["review_id"].tolist()
    assert len(records) == 60 and [r["id"] for r in records] == ids  # each row once, in input order
    assert records == _jsonl(whole)
    assert sum("error" in r for r in records) == 1  # the empty example row


@pytest.mark.slow
def test_full_analysis_resumes_into_parquet(tmp_path):
    src = _reviews(tmp_path, 20)
    whole, resumed = tmp_path / "whole.parquet", tmp_path / "resumed.parquet"
    _finish(_score(src, whole))
    _kill_and_resume(src, resumed, 20)
    frame = pd.read_parquet(resumed)
    assert len(frame) == 20 and frame.equals(pd.read_parquet(whole))
    assert frame["aspects"].notna().any()  # the full analysis, not document sentiment only


def test_parts_without_resume_exit_2_and_stay(tmp_path):
    out = tmp_path / "scored.jsonl"
    parts = Path(f"{out}.parts")
    parts.mkdir()
    (parts / "manifest.json").write_text('{"run": {}, "parts": []}')
    result = runner.invoke(app, ["score", str(EXAMPLES), "--text-col", "text", "--out", str(out), "--quiet"])
    assert result.exit_code == 2
    assert "--resume" in result.output and "delete the folder" in result.output
    assert (parts / "manifest.json").exists() and not out.exists()


def test_resume_needs_out():
    result = runner.invoke(app, ["score", str(EXAMPLES), "--text-col", "text", "--resume", "--quiet"])
    assert result.exit_code == 2 and "--resume needs --out" in result.output


class Stub:
    """Document-length 'analysis' that crashes (like a kill) once more than ``crash_after`` texts came in."""

    def __init__(self, crash_after: int | None = None) -> None:
        self.crash_after, self.seen = crash_after, 0

    def analyze(self, texts: list[object]) -> list:
        self.seen += len(texts)
        if self.crash_after is not None and self.seen > self.crash_after:
            raise RuntimeError("crash")
        return [_Length(t) if isinstance(t, str) and t else AnalysisError("empty_text", "-") for t in texts]


class _Length:
    def __init__(self, text: str) -> None:
        self.text = text

    def to_dict(self) -> dict:
        return {"sentiment": {"label": "neutral"}, "length": len(self.text)}


def test_resume_with_another_chunk_size_but_not_another_run(tmp_path):
    src = _reviews(tmp_path, 30)
    whole, out = str(tmp_path / "whole.jsonl"), str(tmp_path / "out.jsonl")
    score_resumable(Stub(), str(src), "text", "review_id", whole, progress=False)
    with pytest.raises(RuntimeError, match="crash"):
        score_resumable(Stub(16), str(src), "text", "review_id", out, chunk_size=8, progress=False)
    manifest = json.loads((Path(f"{out}.parts") / "manifest.json").read_text())
    assert [(p["first_row"], p["last_row"]) for p in manifest["parts"]] == [(0, 7), (8, 15)]
    with pytest.raises(ResumeError, match="redact_pii"):  # the saved run had no such option
        score_resumable(
            Stub(), str(src), "text", "review_id", out, True, {"redact_pii": True}, progress=False
        )
    # chunks of 7 from row 0: row 16 is in the middle of the third chunk
    summary = score_resumable(Stub(), str(src), "text", "review_id", out, True, chunk_size=7, progress=False)
    assert _jsonl(Path(out)) == _jsonl(Path(whole)) and summary.rows == 30
