"""The README's examples run as written, so they cannot drift from the code: its HTTP walk-through (set-up,
loads and every ``curl`` call to ``$API``) against a fresh store and a real server, and its ``score`` from
stdin; every file it names under ``examples/`` ships."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import pytest

from tests.live import BIN, ROOT, free_port, store_env

README = (ROOT / "README.md").read_text(encoding="utf-8")
#: The address the README's examples serve on and call; the test uses a free port instead.
README_HOST, README_PORT = "127.0.0.1", 8000


def section(title: str) -> str:
    """The README text under the heading ``title`` (any level), up to the next heading of that level or
    above (a ``#`` line inside a code block is no heading)."""
    lines, fenced, start, level = README.splitlines(keepends=True), False, None, 0
    for i, line in enumerate(lines):
        fenced ^= line.startswith("```")
        heading = re.match(r"(#+) (.*)", line) if not fenced else None
        if heading and start is None and heading.group(2).strip() == title:
            start, level = i + 1, len(heading.group(1))
        elif heading and start is not None and len(heading.group(1)) <= level:
            return "".join(lines[start:i])
    assert start is not None, f"README has no section {title!r}"
    return "".join(lines[start:])


def bash_blocks(text: str) -> list[str]:
    """The ``bash`` code blocks of ``text``."""
    return re.findall(r"^```bash\n(.*?)^```", text, flags=re.M | re.S)


def commands(block: str) -> list[str]:
    """The commands of a bash block, a command continued with ``\\`` joined into one line, comment-only
    lines left out."""
    joined = re.sub(r"\\\n\s*", " ", block)
    return [line for line in joined.splitlines() if line.strip() and not line.lstrip().startswith("#")]


def api_curls() -> list[str]:
    """Every ``curl`` call of the README to the API (``$API``), in order."""
    return [
        c for block in bash_blocks(README) for c in commands(block) if c.startswith("curl ") and "$API" in c
    ]


def test_the_extraction_finds_the_walkthrough():
    service = [c for block in bash_blocks(section("The HTTP service"))[:2] for c in commands(block)]
    assert any(c.startswith("reviewpulse serve") for c in service)
    assert any(c.startswith("reviewpulse load reviews") and "--source examples" in c for c in service)
    urls = " ".join(api_curls())
    for path in ("/v1/analyze", "/v1/reports/sentiment", "/v1/recommendations", "/v1/answer", "/metrics"):
        assert path in urls, path


def test_every_example_file_the_readme_names_ships():
    named = set(re.findall(r"\bexamples/[\w./-]+\.\w+", README))
    assert named, "the README names no example file"
    assert sorted(p for p in named if not (ROOT / p).is_file()) == []


def readme_env(work: Path) -> dict[str, str]:
    """The environment the README assumes (``. .venv/bin/activate``), over a new store in ``work``."""
    env = store_env(work / "data")
    return env | {"PATH": f"{BIN}{os.pathsep}{env['PATH']}"}


def _empty_parts(body: object) -> list[str]:
    """What is empty in a JSON answer: the answer itself, or its list of results (``items`` of a listing
    or of suggestions, ``results`` of an analysis)."""
    if body in ({}, []):
        return ["the whole answer"]
    if isinstance(body, dict):
        return [key for key in ("items", "results") if body.get(key) == []]
    return []


def _unrounded(body: object) -> list[float]:
    """The numbers of a JSON answer with more than 4 decimals (``0.003000000026077032``)."""
    if isinstance(body, float):
        return [] if round(body, 4) == body else [body]
    values = body.values() if isinstance(body, dict) else body if isinstance(body, list) else []
    return [number for value in values for number in _unrounded(value)]


@pytest.mark.slow
def test_the_http_walkthrough_runs_as_written_and_every_call_returns_something(tmp_path):
    """The set-up block and the calls block of "The HTTP service" run in bash as they stand (the server on a
    free port, in the background), then every other ``curl`` of the README to ``$API``. Each call must
    succeed (``curl --fail-with-body``) and return something: no empty body, no empty list of results, and
    a filtered report counts reviews."""
    port = free_port()
    (tmp_path / "examples").symlink_to(ROOT / "examples")
    (tmp_path / "out").mkdir()
    setup, calls = bash_blocks(section("The HTTP service"))[:2]
    serve = next(c for c in commands(setup) if c.startswith("reviewpulse serve"))
    started = (
        re.sub(r"\s+#.*", "", serve) + " > server.log 2>&1 & SERVER=$!; trap 'kill $SERVER' EXIT\n"
        "for _ in $(seq 600); do command curl -sf $API_BASE/readyz > /dev/null && break; sleep 0.5; done\n"
        "command curl -sf $API_BASE/readyz > /dev/null  # ready, or the script stops here"
    )
    elsewhere = [c for c in api_curls() if c not in commands(calls)]
    script = "\n".join(
        [
            "set -euo pipefail",
            # every call's answer is kept in out/N as well as passed on (to a file or stdout) as written
            'n=0; curl() { n=$((n + 1)); command curl --fail-with-body "$@" | tee "out/$n"; }',
            f"API_BASE=http://{README_HOST}:{README_PORT}",
            setup.replace(serve, started),
            calls,
            *elsewhere,
        ]
    )
    script = script.replace(f"{README_HOST}:{README_PORT}", f"{README_HOST}:{port}")
    script = script.replace(f"--port {README_PORT}", f"--port {port}")
    assert str(README_PORT) not in script, "the README's port is still in the script"
    env = readme_env(tmp_path) | {"REVIEWPULSE_RATE_LIMIT_PER_MINUTE": "100000"}
    env.pop("REVIEWPULSE_DATA_DIR")  # the README's own export sets it
    done = subprocess.run(
        ["bash", "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=1500
    )
    log = (tmp_path / "server.log").read_text() if (tmp_path / "server.log").exists() else ""
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:] + log[-3000:]

    urls = [url.strip("\"'") for c in [*commands(calls), *elsewhere] for url in re.findall(r"\$API(\S*)", c)]
    answers = sorted((tmp_path / "out").iterdir(), key=lambda p: int(p.name))
    assert len(answers) == len(urls)
    for url, answer in zip(urls, answers, strict=True):
        body = answer.read_text(encoding="utf-8")
        assert body.strip(), f"{url}: empty answer"
        if answer.read_bytes().lstrip()[:1] in (b"{", b"["):
            empty = _empty_parts(json.loads(body))
            assert not empty, f"{url}: empty {empty}: {body[:500]}"
            unrounded = _unrounded(json.loads(body))  # scores are rounded, as the README shows them
            assert not unrounded, f"{url}: {unrounded[:5]}"
    report = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert "No reviews match" not in report and re.search(r"of [1-9]\d* reviews", report), report[:2000]
    assert (tmp_path / "report.csv").read_text(encoding="utf-8").count("\n") > 1


@pytest.mark.slow
def test_scoring_from_stdin_runs_as_written(tmp_path):
    line = next(c for c in commands(section("Usage")) if c.startswith("cat examples/"))
    (tmp_path / "examples").symlink_to(ROOT / "examples")
    done = subprocess.run(
        ["bash", "-c", f"set -euo pipefail; {line}"],
        cwd=tmp_path,
        env=readme_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    records = [json.loads(row) for row in (tmp_path / "scored.jsonl").read_text().splitlines()]
    shipped = (ROOT / "examples" / "reviews.jsonl").read_text().splitlines()
    assert len(records) == len(shipped) and all("sentiment" in r for r in records)
