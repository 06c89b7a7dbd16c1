"""``reviewpulse score --engine ray`` on a real two-node Ray cluster (loopback) gives the local engine's output
byte for byte: same rows, ids, order and error records; without Ray installed it says what to install."""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from api.cli.main import app
from tests.conftest import EXAMPLES

BIN = Path(sys.executable).parent
ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "RAY_USAGE_STATS_ENABLED": "0"}
runner = CliRunner()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def ray_cluster() -> Iterator[tuple[str, dict[str, str]]]:
    """A head and a worker node, one CPU each, at 127.0.0.2 (Ray turns 127.0.0.1 into the machine's outward
    address, not other loopback ones); yields the address and the env to run against it with."""
    address = f"127.0.0.2:{_free_port()}"
    # for this test's processes only: the cluster's address and its token (Ray authenticates by default)
    env = {**ENV, "RAY_ADDRESS": address, "RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": secrets.token_hex(32)}
    ray = str(BIN / "ray")
    node = ["--num-cpus=1", "--node-ip-address=127.0.0.2", "--disable-usage-stats"]
    head = [ray, "start", "--head", f"--port={address.split(':')[1]}", "--include-dashboard=false", *node]
    try:
        subprocess.run(
            head, env={k: v for k, v in env.items() if k != "RAY_ADDRESS"}, check=True, timeout=180
        )
        subprocess.run([ray, "start", f"--address={address}", *node], env=env, check=True, timeout=180)
        yield address, env
    finally:
        subprocess.run([ray, "stop", "--force"], env=env, capture_output=True, timeout=180)


def _score(env: dict[str, str], *args: str) -> str:
    """Run the real CLI; returns its stderr (the summary)."""
    done = subprocess.run(
        [str(BIN / "reviewpulse"), "score", *args, "--quiet"], env=env, capture_output=True, timeout=600
    )
    assert done.returncode == 0, done.stderr.decode()
    return done.stderr.decode()


def _tiny(rows: int) -> pd.DataFrame:
    frame = pd.read_csv(EXAMPLES, dtype=str, keep_default_na=False).head(rows)
    frame.loc[3, "text"] = ""  # an empty cell: missing_text
    frame.loc[5, "text"] = "  \n "  # whitespace only: empty_text
    return frame


SENTIMENT = ["--text-col", "text", "--id-col", "review_id", "--only", "sentiment", "--chunk-size", "4"]


def _assert_same_records(actual: str, expected: str) -> None:
    """The same records in the same order: ids, labels, errors and model version exactly; class scores within
    0.05, because int8 ONNX Runtime quantises each encoder batch's activations with one scale, so a review's
    scores move a little with the reviews that share its batch (README, "Scale-out")."""
    got, want = ([json.loads(line) for line in text.splitlines()] for text in (actual, expected))
    assert len(got) == len(want)
    for g, w in zip(got, want, strict=True):
        g_scores = g.get("sentiment", {}).pop("scores", {})
        w_scores = w.get("sentiment", {}).pop("scores", {})
        assert g == w
        assert g_scores.keys() == w_scores.keys()
        assert all(abs(g_scores[c] - w_scores[c]) <= 0.05 for c in w_scores), (g_scores, w_scores)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> tuple[Path, str]:
    """20 reviews as CSV (an empty and a whitespace-only text among them) and the local engine's JSONL."""
    folder = tmp_path_factory.mktemp("tiny")
    _tiny(20).to_csv(folder / "tiny.csv", index=False)
    _score(ENV, str(folder / "tiny.csv"), *SENTIMENT, "--out", str(folder / "local.jsonl"))
    return folder / "tiny.csv", (folder / "local.jsonl").read_text(encoding="utf-8")


@pytest.mark.slow
def test_local_ray_instance_with_two_actors_reads_parquet_as_the_local_engine_reads_csv(tiny, tmp_path):
    src, expected = tiny
    pd.read_csv(src, dtype=str).to_parquet(tmp_path / "tiny.parquet")  # the empty cell stays missing
    out = tmp_path / "x.jsonl"
    # five blocks of 4 rows shared by two actors: the order must still be the input's
    _score(
        ENV,
        str(tmp_path / "tiny.parquet"),
        *SENTIMENT,
        "--engine",
        "ray",
        "--ray-actors",
        "2",
        "--out",
        str(out),
    )
    _assert_same_records(out.read_text(encoding="utf-8"), expected)


@pytest.mark.slow
def test_ray_cluster_output_equals_the_local_engine(ray_cluster, tiny, tmp_path):
    address, env = ray_cluster
    src, expected = tiny
    summary = _score(
        env, str(src), *SENTIMENT, "--engine", "ray", "--address", address, "--out", str(tmp_path / "x.jsonl")
    )

    _assert_same_records((tmp_path / "x.jsonl").read_text(encoding="utf-8"), expected)
    records = [json.loads(line) for line in expected.splitlines()]
    assert [r["id"] for r in records] == _tiny(20)["review_id"].tolist()  # rows in == rows out, in order
    assert [r["error"]["code"] for r in records if "error" in r] == ["missing_text", "empty_text"]
    assert "rows: 20" in summary


@pytest.mark.slow
def test_ray_cluster_full_analysis_of_jsonl_with_row_number_ids(ray_cluster, tmp_path):
    address, env = ray_cluster
    src = tmp_path / "tiny.jsonl"
    lines = [json.dumps({"text": t}) for t in _tiny(10)["text"]]
    lines.insert(2, "{not json")  # an error record with its row number as id
    src.write_text("\n".join(lines) + "\n", encoding="utf-8")
    _score(env, str(src), "--text-col", "text", "--out", str(tmp_path / "local.csv"))
    _score(
        env,
        str(src),
        "--text-col",
        "text",
        "--engine",
        "ray",
        "--address",
        address,
        "--out",
        str(tmp_path / "ray.csv"),
    )

    ray_out = (tmp_path / "ray.csv").read_text(encoding="utf-8")
    assert ray_out == (tmp_path / "local.csv").read_text(encoding="utf-8")
    frame = pd.read_csv(tmp_path / "ray.csv", dtype=str)
    assert frame["id"].tolist() == [str(i) for i in range(11)] and frame["aspects"].notna().any()
    assert frame.loc[2, "error_code"] == "invalid_json"


def test_without_ray_exit_2_names_the_install(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray fails as if it were not installed
    monkeypatch.delitem(sys.modules, "nlp.batch.ray_engine", raising=False)
    result = runner.invoke(app, ["score", str(EXAMPLES), "--text-col", "text", "--engine", "ray"])
    assert result.exit_code == 2 and "pip install 'ray[data]" in result.output


def test_ray_options_need_the_ray_engine():
    result = runner.invoke(app, ["score", str(EXAMPLES), "--text-col", "text", "--address", "127.0.0.1:1"])
    assert result.exit_code == 2 and "--engine ray" in result.output
