"""``nlp.analyzer_pool.AnalyzerPool`` with the caller's own analyzer as one member, as the service runs it."""

from __future__ import annotations

import multiprocessing
import os
import signal
from concurrent.futures.process import BrokenProcessPool

import pytest

from nlp.analyzer import AnalysisError
from nlp.analyzer_pool import AnalyzerPool

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
def test_the_caller_and_a_worker_give_the_records_of_one_analyzer(pool, analyzer, redact_pii):
    expected = analyzer.analyze(TEXTS, redact_pii)
    assert pool.analyze(TEXTS, redact_pii, local=analyzer) == expected
    assert isinstance(expected[1], AnalysisError) and isinstance(expected[4], AnalysisError)
    assert ("+44 20 7946 0958" in expected[2].text) is not redact_pii


def test_a_dead_worker_fails_one_call_and_the_next_gets_a_new_one(pool, analyzer):
    [worker] = multiprocessing.active_children()
    os.kill(worker.pid, signal.SIGKILL)
    with pytest.raises(BrokenProcessPool):
        pool.analyze(TEXTS, local=analyzer)
    assert pool.analyze(TEXTS, local=analyzer) == analyzer.analyze(TEXTS)
    assert [child.pid for child in multiprocessing.active_children()] != [worker.pid]
