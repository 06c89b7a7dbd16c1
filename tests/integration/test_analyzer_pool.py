"""``nlp.batch.pool.AnalyzerPool`` (``reviewpulse score --processes``): the records of one analyzer, and a
dead worker costs one call at most."""

from __future__ import annotations

import os
import signal
import threading
import time
from concurrent.futures.process import BrokenProcessPool

import pytest

from nlp.analysis.analyzer import AnalysisError
from nlp.batch.pool import AnalyzerPool

TEXTS = [
    "The fabric is so soft but it runs small.",
    None,
    "Call me on +44 20 7946 0958, the zipper broke after one wash.",
    "Lovely colour, true to size.",
    "   ",
    "Too long in the body and the seams came apart.",
    "Perfect for summer.",
]


@pytest.fixture(scope="module")
def pool():
    with AnalyzerPool(1) as pool:
        yield pool


@pytest.mark.parametrize("redact_pii", [False, True])
def test_a_worker_gives_the_records_of_an_analyzer_in_this_process(pool, analyzer, redact_pii):
    expected = analyzer.analyze(TEXTS, redact_pii)
    assert pool.analyze(TEXTS, redact_pii) == expected
    assert isinstance(expected[1], AnalysisError) and isinstance(expected[4], AnalysisError)
    assert ("+44 20 7946 0958" in expected[2].text) is not redact_pii


def _kill_the_worker(pool: AnalyzerPool) -> int:
    [pid] = list(pool._executor._processes)  # this process has children of its own (the entity recogniser's)
    os.kill(pid, signal.SIGKILL)
    return pid


def test_a_worker_that_died_while_idle_is_replaced_before_the_next_call(pool, analyzer):
    dead = _kill_the_worker(pool)
    time.sleep(3)  # the executor notices the death and marks itself broken
    assert pool.analyze(TEXTS) == analyzer.analyze(TEXTS)
    assert list(pool._executor._processes) != [dead]


def test_a_worker_that_dies_during_a_call_fails_that_call_only(pool, analyzer):
    # long enough for the kill to land while the worker analyses its part (60 copies were not, once the entity
    # recogniser got a process of its own: the call could end before the kill)
    texts = TEXTS * 600
    threading.Timer(0.5, _kill_the_worker, [pool]).start()
    with pytest.raises(BrokenProcessPool):
        pool.analyze(texts)
    assert pool.analyze(TEXTS) == analyzer.analyze(TEXTS)
