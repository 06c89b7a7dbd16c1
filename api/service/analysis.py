"""The service's access to the NLP pipeline: one micro-batched Analyzer per registered model version."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from api.service.batching import MicroBatcher
from nlp.analysis.analyzer import Analyzer
from nlp.artifacts.registry import Registry

log = logging.getLogger("reviewpulse.api")
#: Seconds before a version that failed to load is tried again (requests meanwhile get the one that works).
RETRY_SECONDS = 60.0


class UnknownModelVersionError(KeyError):
    """The requested sentiment model version is not registered."""

    def __init__(self, version: str, known: list[str]) -> None:
        super().__init__(version)
        self.version, self.known = version, known

    def __str__(self) -> str:
        return f"unknown model_version {self.version!r}; registered versions: latest, {', '.join(self.known)}"


@dataclass
class _Served:
    """What serves one sentiment version: its analyzer (made under topics ``topics_version``) and the batcher
    in front of it."""

    topics_version: str
    analyzer: Analyzer
    batcher: MicroBatcher


class AnalysisService:
    """Loads analyzers on demand (``latest`` at start-up) and routes each request to its version's batcher.

    A topics version registered or pinned while the service runs (``reviewpulse train topics --from-store``
    re-tags the stored reviews) is picked up by the next request: the analyzers are made again under it, so
    new reviews get the same topics as the stored ones, and the old ones finish what was queued for them. A
    topics version that fails to load is logged and tried again after :data:`RETRY_SECONDS`; meanwhile the
    analyzers already loaded keep serving.

    Args:
        models_dir: folder holding ``registry.json`` (default ``REVIEWPULSE_MODELS_DIR``).
        factory: ``factory(sentiment version, topics version)`` makes the in-process analyzer (default:
            :class:`nlp.analysis.analyzer.Analyzer`, closed when replaced; analyzers from a given factory are left to
            their owner).
    """

    def __init__(
        self,
        models_dir: Path | None = None,
        factory: Callable[[str, str], Analyzer] | None = None,
    ) -> None:
        self.registry = Registry(models_dir)
        self.owns_analyzers = factory is None
        self.factory = factory or (
            lambda version, topics: Analyzer(
                self.registry.models_dir, sentiment_version=version, topics_version=topics
            )
        )
        self.served: dict[str, _Served] = {}
        self._locks: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)  # one per sentiment version
        self._failed: dict[tuple[str, str], float] = {}  # (version, topics version) -> when to try again
        self._retiring: set[asyncio.Task] = set()  # held: the event loop keeps only weak references to tasks
        self._closed = False

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
        await self._served(self.resolve("latest"))

    async def stop(self) -> None:
        """Finish what is queued, then close every analyzer; later requests are refused."""
        self._closed = True
        for version in list(self.served):
            async with self._locks[version]:
                await self._retire(self.served.pop(version))
        await asyncio.gather(*self._retiring)

    @property
    def ready(self) -> bool:
        return bool(self.served)

    async def analyzer(self, version: str = "latest") -> Analyzer:
        """The in-process analyzer of ``version``, under the current topics version (for what needs the
        models but not the batcher: a question's aspects, the topic table).

        Raises:
            UnknownModelVersionError: ``version`` is not registered.
        """
        return (await self._served(self.resolve(version))).analyzer

    async def _served(self, version: str) -> _Served:
        topics_version = self.registry.get("topics").version
        async with self._locks[version]:
            if self._closed:
                raise RuntimeError("the analysis service is stopping")
            current = self.served.get(version)
            if current is not None and (
                current.topics_version == topics_version
                or time.monotonic() < self._failed.get((version, topics_version), 0.0)
            ):
                return current
            try:
                self.served[version] = await self._serve(version, topics_version)
            except Exception:
                if current is None:
                    raise
                # a new topics version that does not load: keep serving the old one, try again later
                log.exception(
                    "sentiment v%s under topics v%s failed to load; still serving topics v%s",
                    *(version, topics_version, current.topics_version),
                )
                self._failed[(version, topics_version)] = time.monotonic() + RETRY_SECONDS
                return current
            if current is not None:
                # requests that hold the old batcher have queued on it already (no await in between)
                task = asyncio.get_running_loop().create_task(self._retire(current))
                self._retiring.add(task)
                task.add_done_callback(self._retiring.discard)
            return self.served[version]

    async def _serve(self, version: str, topics_version: str) -> _Served:
        analyzer = await asyncio.to_thread(self.factory, version, topics_version)
        batcher = MicroBatcher(lambda texts, redact: analyzer.analyze(texts, redact_pii=redact))
        batcher.start()
        return _Served(topics_version, analyzer, batcher)

    async def _retire(self, served: _Served) -> None:
        await served.batcher.stop()  # after what was queued
        if self.owns_analyzers:
            await asyncio.to_thread(served.analyzer.close)

    async def analyze(
        self, texts: Sequence[object], redact_pii: bool = False, version: str = "latest"
    ) -> tuple[str, list[Any]]:
        """``(model_version, results)`` with one ``ReviewAnalysis`` or ``AnalysisError`` per text.

        Raises:
            UnknownModelVersionError: ``version`` is not registered.
        """
        served = await self._served(self.resolve(version))
        results = await served.batcher.submit(texts, redact_pii)
        return served.analyzer.model_version, results
