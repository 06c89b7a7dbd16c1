"""Micro-batching of concurrent analysis requests.

Requests that queue while an analysis runs are analysed together in the next ``Analyzer.analyze`` call, on
a single worker thread: the classifier is much faster per text in batches, the event loop never runs model
code (so ``/healthz`` stays fast under load), and torch never competes with itself for the cores.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

AnalyzeFn = Callable[[Sequence[object], bool], list[Any]]


@dataclass
class _Job:
    texts: Sequence[object]
    redact_pii: bool
    future: asyncio.Future = field(default_factory=lambda: asyncio.get_running_loop().create_future())


_STOP = None  # queued by :meth:`MicroBatcher.stop` behind the jobs it lets finish


class MicroBatcher:
    """Runs ``analyze(texts, redact_pii)`` in a worker thread, one batch at a time, on batches of at most
    ``max_batch`` texts: the jobs that queued while the previous batch ran. It never waits for company, so a
    request that finds the analyzer idle starts at once, and under load batches grow by themselves.

    Jobs with different ``redact_pii`` settings are never mixed in one call.
    """

    def __init__(self, analyze: AnalyzeFn, max_batch: int = 64) -> None:
        self.analyze = analyze
        self.max_batch = max_batch
        self._queue: asyncio.Queue[_Job | None] = asyncio.Queue()
        self._worker: asyncio.Task | None = None
        self._stopping = False

    def start(self) -> None:
        self._worker = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        """Analyse the jobs queued so far, then stop (a job submitted afterwards is never analysed)."""
        self._stopping = True
        if self._worker:
            await self._queue.put(_STOP)
            await asyncio.gather(self._worker, return_exceptions=True)

    async def submit(self, texts: Sequence[object], redact_pii: bool = False) -> list[Any]:
        """Analyse ``texts``; returns one result per text, in order. Re-raises the analyzer's exception."""
        if not texts:
            return []
        if self._stopping:
            raise RuntimeError("the micro-batcher is stopped")
        job = _Job(texts, redact_pii)
        await self._queue.put(job)
        return await job.future

    async def _run(self) -> None:
        held: list[_Job | None] = []
        while True:
            first = held.pop(0) if held else await self._queue.get()
            if first is _STOP:
                return
            batch = [first]
            size = len(first.texts)
            while size < self.max_batch and not self._queue.empty():
                job = self._queue.get_nowait()
                if (
                    job is _STOP
                    or job.redact_pii != first.redact_pii
                    or size + len(job.texts) > self.max_batch
                ):
                    held.append(job)
                    break
                batch.append(job)
                size += len(job.texts)
            texts = [t for job in batch for t in job.texts]
            try:
                results = await asyncio.to_thread(self.analyze, texts, batch[0].redact_pii)
            except Exception as exc:
                for job in batch:
                    if not job.future.done():
                        job.future.set_exception(exc)
                continue
            start = 0
            for job in batch:
                if not job.future.done():  # the client may have gone away
                    job.future.set_result(results[start : start + len(job.texts)])
                start += len(job.texts)
