"""The entity recogniser's worker process: the same entities as spaCy's whole pipeline, and a dead worker is
replaced without losing the batch."""

from __future__ import annotations

import os
import signal

import pytest

from nlp.analysis.entities import EntityRecogniser
from nlp.analysis.text import TextPreparer
from tests.conftest import needs_datasets

TEXTS = [
    "Ordered the Maeve dress from Anthropologie in March for $98; the zipper broke by Friday.",
    "Bought two of these at Nordstrom. Size 4 fits my 5'6\" frame. Love it!",
    "Runs small, lovely fabric.",
    "",
]


@pytest.fixture(scope="module")
def recogniser():
    recogniser = EntityRecogniser()
    yield recogniser
    recogniser.close()


def _whole_pipeline(texts: list[str]) -> list[list[tuple[int, int, str]]]:
    """The entities spaCy finds running every component, the parser's sentence boundaries included."""
    docs = TextPreparer().nlp.pipe(texts)
    return [[(e.start_char, e.end_char, e.label_) for e in doc.ents] for doc in docs]


def _found(recogniser: EntityRecogniser, texts: list[str]) -> list[list[tuple[int, int, str]]]:
    return recogniser.wait(recogniser.submit(texts))


def test_the_entities_of_the_whole_pipeline(recogniser):
    found = _found(recogniser, TEXTS)
    assert found == _whole_pipeline(TEXTS)
    assert {label for _, _, label in found[0]} >= {"ORG", "DATE", "MONEY"}, found[0]
    assert found[2:] == [[], []]


@needs_datasets
def test_the_entities_of_the_whole_pipeline_on_real_reviews(recogniser):
    """Without the parse, the recogniser does not see sentence boundaries (an entity cannot cross one); on
    real reviews that never changes what it finds."""
    from nlp.training.datasets import clothing_reviews

    preparer = TextPreparer()
    texts = [preparer.prepare(t)[0] for t in clothing_reviews()["text"].head(500)]
    found = _found(recogniser, texts)
    assert sum(map(len, found)) > 300, "the reviews name entities"
    assert found == _whole_pipeline(texts)


def test_a_killed_worker_is_replaced_and_the_batch_read_again(recogniser):
    _found(recogniser, TEXTS)  # the worker is up
    pid = recogniser._worker.process.pid
    pending = recogniser.submit(TEXTS * 50)
    os.kill(pid, signal.SIGKILL)
    assert recogniser.wait(pending) == _whole_pipeline(TEXTS) * 50
    assert _found(recogniser, TEXTS[:1]) == _whole_pipeline(TEXTS[:1])
    assert recogniser._worker.process.pid != pid


def test_the_worker_ends_with_the_process_that_started_it(tmp_path):
    """A killed ``reviewpulse score`` (or a killed worker of ``--processes``) leaves no recogniser behind."""
    import subprocess
    import sys
    import time

    import psutil

    script = (
        "from nlp.analysis.entities import EntityRecogniser as E; import time; r = E(); r.wait(r.submit(['x']));"
        " print('up', flush=True); time.sleep(600)"
    )
    parent = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert parent.stdout is not None and parent.stdout.readline().strip() == "up"
    deadline = time.monotonic() + 60
    while not (children := psutil.Process(parent.pid).children()) and time.monotonic() < deadline:
        time.sleep(0.1)
    [worker] = children
    parent.kill()
    parent.wait()
    worker.wait(timeout=30)  # raises psutil.TimeoutExpired if it outlives its parent


@pytest.mark.parametrize("end", ["ctrl-c", "kill"])
def test_the_worker_ends_quietly_with_a_ctrl_c_or_a_kill_of_its_process(tmp_path, end):
    """QA: Ctrl-C on `reviewpulse score` printed the worker's 40-line KeyboardInterrupt traceback; a killed
    `score` left a BrokenPipeError traceback from it."""
    import subprocess
    import sys
    import time

    import psutil

    script = (
        # Python leaves SIGINT ignored when it starts so (a job started with & from a script is): Ctrl-C as in a terminal
        "import signal; signal.signal(signal.SIGINT, signal.default_int_handler)\n"
        "from nlp.analysis.entities import EntityRecogniser as E; import time; r = E(); r.wait(r.submit(['x']));"
        " r.submit(['Bought it at Macy\\'s in Boston.'] * 500)"  # work in flight
        "\ntry:\n    print('up', flush=True)\n    time.sleep(600)\nexcept KeyboardInterrupt:\n    r.close()"
    )
    parent = subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        start_new_session=True,
    )  # fmt: skip
    assert parent.stdout is not None and parent.stdout.readline().strip() == "up"
    deadline = time.monotonic() + 60
    while not (children := psutil.Process(parent.pid).children()) and time.monotonic() < deadline:
        time.sleep(0.1)
    [worker] = children
    if end == "ctrl-c":
        os.killpg(parent.pid, signal.SIGINT)  # as a terminal's Ctrl-C: the whole process group
    else:
        parent.kill()
    worker.wait(timeout=30)
    _, errors = parent.communicate(timeout=30)
    assert "Traceback" not in errors, errors


def test_the_worker_does_without_torch(recogniser):
    """thinc would import torch, which the recogniser never uses, at a large cost in memory."""
    _found(recogniser, TEXTS)  # the worker is up
    pid = recogniser._worker.process.pid
    with open(f"/proc/{pid}/maps") as maps:
        assert not any("libtorch" in line for line in maps)
    with open(f"/proc/{os.getpid()}/maps") as maps:  # the check can fail: this process has torch
        assert any("libtorch" in line for line in maps)


def test_a_script_without_a_main_guard_works(tmp_path):
    """The README's Python example, saved as a script: it runs once and gives the whole pipeline's entities."""
    import subprocess
    import sys

    script = tmp_path / "example.py"
    script.write_text(
        "from nlp import Analyzer\n"
        "analyzer = Analyzer()\n"
        f"[result] = analyzer.analyze([{TEXTS[0]!r}])\n"
        "print([(e.offset, e.offset + e.length, e.label) for e in result.entities])\n"
    )
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=300, cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.splitlines() == [str(_whole_pipeline(TEXTS[:1])[0])]
