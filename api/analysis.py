"""The service's access to the NLP pipeline: one micro-batched Analyzer per registered model version, with
worker processes beside it when the service is given more than one analysis process."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from api.batching import MicroBatcher
from nlp.analyzer import Analyzer
from nlp.analyzer_pool import AnalyzerPool
from nlp.paths import MODELS_DIR
from nlp.registry import Registry


class UnknownModelVersionError(KeyError):
    """The requested sentiment model version is not registered."""

    def __init__(self, version: str, known: list[str]) -> None:
        super().__init__(version)
        self.version, self.known = version, known

    def __str__(self) -> str:
        return f"unknown model_version {self.version!r}; registered versions: latest, {', '.join(self.known)}"


class AnalysisService:
    """Loads analyzers on demand (``latest`` at start-up) and routes each request to its version's batcher.

    Args:
        models_dir: folder holding ``registry.json``.
        factory: makes the in-process analyzer of a version (default: :class:`nlp.analyzer.Analyzer`).
        processes: analysis processes per version, this one included: with more than one, each micro-batch
            is split evenly between this process's analyzer and ``processes - 1`` workers of an
            :class:`nlp.analyzer_pool.AnalyzerPool` (each holds its own copy of the models), so concurrent
            requests use more than the 1.2 cores one process's analysis fills.
    """

    def __init__(
        self,
        models_dir: Path = MODELS_DIR,
        factory: Callable[[str], Analyzer] | None = None,
        processes: int = 1,
    ) -> None:
        self.registry = Registry(models_dir)
        self.models_dir = models_dir
        self.factory = factory or (lambda version: Analyzer(models_dir, sentiment_version=version))
        self.processes = processes
        self.batchers: dict[str, MicroBatcher] = {}
        self.analyzers: dict[str, Analyzer] = {}
        self.pools: dict[str, AnalyzerPool] = {}
        self._lock = asyncio.Lock()

    @property
    def known_versions(self) -> list[str]:
        return self.registry.versions("sentiment")

    def resolve(self, version: str) -> str:
        """The concrete version for ``version`` (``latest`` -> the newest registered)."""
        if version == "latest":
            return self.registry.get("sentiment").version
        if version not in self.known_versions:
            raise UnknownModelVersionError(version, self.known_versions)
        return version

    async def start(self) -> None:
        await self._batcher(self.resolve("latest"))

    async def stop(self) -> None:
        for batcher in self.batchers.values():
            await batcher.stop()
        for pool in self.pools.values():
            pool.close()

    @property
    def ready(self) -> bool:
        return bool(self.analyzers)

    def default_analyzer(self) -> Analyzer:
        return self.analyzers[self.resolve("latest")]

    async def _batcher(self, version: str) -> MicroBatcher:
        async with self._lock:
            if version not in self.batchers:
                analyzer = await asyncio.to_thread(self.factory, version)
                self.analyzers[version] = analyzer
                if self.processes > 1:
                    # threads=0: the Analyzer's own default, as for the analyzer of this process
                    pool = await asyncio.to_thread(
                        AnalyzerPool,
                        self.processes - 1,
                        models_dir=self.models_dir,
                        sentiment_version=version,
                        threads=0,
                    )
                    self.pools[version] = pool
                    batcher = MicroBatcher(lambda texts, redact: pool.analyze(texts, redact, local=analyzer))
                else:
                    batcher = MicroBatcher(lambda texts, redact: analyzer.analyze(texts, redact_pii=redact))
                batcher.start()
                self.batchers[version] = batcher
            return self.batchers[version]

    async def analyze(
        self, texts: Sequence[object], redact_pii: bool = False, version: str = "latest"
    ) -> tuple[str, list[Any]]:
        """``(model_version, results)`` with one ``ReviewAnalysis`` or ``AnalysisError`` per text.

        Raises:
            UnknownModelVersionError: ``version`` is not registered.
        """
        resolved = self.resolve(version)
        batcher = await self._batcher(resolved)
        results = await batcher.submit(texts, redact_pii)
        return self.analyzers[resolved].model_version, results
