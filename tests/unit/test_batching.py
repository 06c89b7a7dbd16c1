"""The micro-batcher: concurrent requests share analyzer calls, results go back in order, errors propagate."""

from __future__ import annotations

import asyncio
import threading

import pytest

from api.service.batching import MicroBatcher


class Recorder:
    """A stand-in analyzer that records each call (texts, redact flag) and echoes texts upper-cased."""

    def __init__(self, fail_on: str | None = None) -> None:
        self.calls: list[tuple[list, bool]] = []
        self.threads: set[str] = set()
        self.fail_on = fail_on

    def __call__(self, texts, redact):
        self.calls.append((list(texts), redact))
        self.threads.add(threading.current_thread().name)
        if self.fail_on in texts:
            raise RuntimeError("model exploded")
        return [t.upper() for t in texts]


async def _run(recorder: Recorder, jobs: list[tuple[list[str], bool]], **kwargs):
    batcher = MicroBatcher(recorder, **kwargs)
    batcher.start()
    try:
        return await asyncio.gather(*(batcher.submit(t, r) for t, r in jobs), return_exceptions=True)
    finally:
        await batcher.stop()


def test_concurrent_jobs_share_calls_and_keep_order():
    recorder = Recorder()
    jobs = [([f"a{i}", f"b{i}"], False) for i in range(10)]
    results = asyncio.run(_run(recorder, jobs, max_batch=64))
    assert results == [[f"A{i}", f"B{i}"] for i in range(10)]
    assert len(recorder.calls) < len(jobs)  # coalesced
    assert threading.main_thread().name not in recorder.threads  # never on the event loop's thread


def test_batches_respect_size_and_never_mix_redaction():
    recorder = Recorder()
    jobs = [(["x"] * 3, i % 2 == 0) for i in range(8)]
    results = asyncio.run(_run(recorder, jobs, max_batch=4))
    assert results == [["X"] * 3] * 8
    for texts, _ in recorder.calls:
        assert len(texts) <= 4
    redacted = [t for t, r in recorder.calls if r]
    assert sum(len(t) for t in redacted) == 12


def test_an_analyzer_error_reaches_only_its_batch_and_the_worker_survives():
    recorder = Recorder(fail_on="boom")
    jobs = [(["boom"], False)]
    [error] = asyncio.run(_run(recorder, jobs))
    assert isinstance(error, RuntimeError)

    async def after_failure():
        batcher = MicroBatcher(recorder)
        batcher.start()
        try:
            with pytest.raises(RuntimeError):
                await batcher.submit(["boom"])
            return await batcher.submit(["fine"])
        finally:
            await batcher.stop()

    assert asyncio.run(after_failure()) == ["FINE"]


def test_a_job_starts_alone_when_idle_and_jobs_queued_meanwhile_share_the_next_call():
    started, release = threading.Event(), threading.Event()

    def slow(texts, redact):
        started.set()
        release.wait(5)
        return [t.upper() for t in texts]

    recorder = Recorder()

    def analyze(texts, redact):
        recorder(texts, redact)
        return slow(texts, redact)

    async def scenario():
        batcher = MicroBatcher(analyze)
        batcher.start()
        try:
            first = asyncio.ensure_future(batcher.submit(["a"]))
            await asyncio.to_thread(started.wait, 5)  # "a" is being analysed, alone
            rest = [asyncio.ensure_future(batcher.submit([t])) for t in ("b", "c", "d")]
            await asyncio.sleep(0)
            release.set()
            return await asyncio.gather(first, *rest)
        finally:
            await batcher.stop()

    assert asyncio.run(scenario()) == [["A"], ["B"], ["C"], ["D"]]
    assert [texts for texts, _ in recorder.calls] == [["a"], ["b", "c", "d"]]


def test_stop_analyses_what_was_queued_then_refuses_new_jobs():
    """A batcher replaced under load (the service picked up a new topics version) answers every request
    already queued on it before it stops."""
    recorder = Recorder()

    async def scenario():
        batcher = MicroBatcher(recorder, max_batch=2)
        batcher.start()
        jobs = [asyncio.ensure_future(batcher.submit([f"t{i}"])) for i in range(5)]
        await asyncio.sleep(0)  # every job is queued
        await batcher.stop()
        with pytest.raises(RuntimeError, match="stopped"):
            await batcher.submit(["late"])
        return [job.result() for job in jobs]

    assert asyncio.run(scenario()) == [[f"T{i}"] for i in range(5)]
