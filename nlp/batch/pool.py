"""``AnalyzerPool``: the :class:`nlp.analysis.analyzer.Analyzer` in several worker processes, for batch scoring.

One process does not quite fill two cores with the full analysis: the parse and the sentiment stage hold
Python's GIL for much of their work, so they overlap only partly (the entity recogniser has a process of its own,
:mod:`nlp.analysis.entities`). Worker processes each hold their own GIL and their own copy of the models; each
call's texts are cut into one contiguous part per worker, analysed at once, and the results come back in input
order.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from nlp.analysis.analyzer import AnalysisError, Analyzer, DocumentSentiment, ReviewAnalysis

_analyzer: Analyzer | None = None  # the worker process's own, made on its first task


def _worker_analyzer(options: dict[str, Any]) -> Analyzer:
    global _analyzer
    if _analyzer is None:
        _analyzer = Analyzer(**options)
    return _analyzer


def _analyze(options: dict[str, Any], texts: Sequence[object], redact_pii: bool | None) -> list:
    return _worker_analyzer(options).analyze(texts, redact_pii)


def _model_version(options: dict[str, Any]) -> str:
    return _worker_analyzer(options).model_version


class AnalyzerPool:
    """``processes`` worker processes, each with an ``Analyzer(**options)``; :meth:`analyze` as the
    Analyzer's, in order.

    Each worker loads the models (about 1 GB of memory each with the default model); the constructor waits
    until they have, so a bad option fails here, raising what :class:`nlp.analysis.analyzer.Analyzer` raises (e.g.
    ``KeyError`` for an unknown model version). Workers are started with ``spawn``: forking a process that
    already runs ONNX Runtime and OpenBLAS threads is unsafe. Use it as a context manager, or call
    :meth:`close`.

    Example::

        with AnalyzerPool(2, sentiment_version="latest") as pool:
            results = pool.analyze(texts)   # one ReviewAnalysis or AnalysisError per text, in order

    Args:
        processes: worker processes (at least 1).
        options: keyword arguments of :class:`nlp.analysis.analyzer.Analyzer`, e.g. ``sentiment_version``, ``only``;
            ``threads`` (ONNX Runtime's) defaults to each worker's share of the cores.
    """

    def __init__(self, processes: int, **options: Any) -> None:
        if processes < 1:
            raise ValueError(f"processes must be at least 1, got {processes}")
        self.processes = processes
        self.options = {"threads": max(1, (os.cpu_count() or 1) // processes), **options}
        self._start()

    def _start(self) -> None:
        executor = ProcessPoolExecutor(self.processes, mp_context=multiprocessing.get_context("spawn"))
        try:
            # a worker busy loading takes no second task, so every worker loads its models now
            versions = [executor.submit(_model_version, self.options) for _ in range(self.processes)]
            self.model_version = versions[0].result()
            for version in versions[1:]:
                version.result()
        except BaseException:
            executor.shutdown(cancel_futures=True)
            raise
        self._executor = executor

    def _restart(self) -> None:
        """New workers for dead ones; if they cannot start, the broken pool stays and the next call tries again."""
        self._executor.shutdown(wait=False, cancel_futures=True)
        self._start()

    def analyze(
        self, texts: Sequence[object], redact_pii: bool | None = None
    ) -> list[ReviewAnalysis | DocumentSentiment | AnalysisError]:
        """One result per text, in order (see :meth:`nlp.analysis.analyzer.Analyzer.analyze`). A worker that died
        while the pool was idle is replaced before the call.

        Raises:
            concurrent.futures.process.BrokenProcessPool: a worker died during the call; the pool has started
                new workers (loading their models) before raising, so the next call can succeed.
        """
        size = -(-len(texts) // self.processes)
        parts = [texts[k : k + size] for k in range(0, len(texts), size)] if texts else []
        try:
            futures = [self._executor.submit(_analyze, self.options, part, redact_pii) for part in parts]
        except BrokenProcessPool:  # nothing of this call was running yet
            self._restart()
            futures = [self._executor.submit(_analyze, self.options, part, redact_pii) for part in parts]
        try:
            return [result for future in futures for result in future.result()]
        except BrokenProcessPool:
            # a worker died (killed, out of memory) during the call: it fails, the next one gets new workers
            self._restart()
            raise

    def close(self) -> None:
        self._executor.shutdown(cancel_futures=True)

    def __enter__(self) -> AnalyzerPool:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()
