"""The model registry: ``models/registry.json`` lists every artifact (name, version, path, created, metrics).

Paths are relative to the models folder, so the registry travels with it (git, Docker image).
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path

from nlp.artifacts.paths import nlp_settings

REGISTRY_FILE = "registry.json"


@dataclass
class ModelEntry:
    """One registered artifact. ``path`` is relative to the models folder."""

    name: str
    version: str
    path: str
    created: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))
    metrics: dict = field(default_factory=dict)


#: Files modified this recently are never cached: 2 s covers the coarsest timestamps (FAT; NFS, older kernels).
_RACY_NS = 2_000_000_000


@lru_cache(maxsize=8)
def _parsed(file: Path, mtime_ns: int, size: int) -> dict:
    # keyed by modification time and size: the service resolves ``latest`` on every request, and a model
    # registered while it runs is seen on the next one
    return json.loads(file.read_text())


class Registry:
    """Read and update ``registry.json`` in ``models_dir``."""

    def __init__(self, models_dir: Path | None = None) -> None:
        self.models_dir = Path(models_dir or nlp_settings().models_dir)
        self.file = self.models_dir / REGISTRY_FILE

    def _payload(self) -> dict:
        """The parsed file, shared between calls while the file is unchanged: callers must not mutate it."""
        try:
            stat = self.file.stat()
        except FileNotFoundError:
            return {"models": []}
        if time.time_ns() - stat.st_mtime_ns < _RACY_NS:
            # written within a timestamp tick of now: another write of the same size could follow unseen (as
            # git treats a "racily clean" index entry), so read the file itself
            return json.loads(self.file.read_text())
        return _parsed(self.file, stat.st_mtime_ns, stat.st_size)

    def _write(self, payload: dict) -> None:
        # whole or not at all: a reader (the service resolves "latest" on every request) never sees half a file
        temporary = self.file.with_name(f".{self.file.name}.{os.getpid()}.tmp")
        temporary.write_text(json.dumps(payload, indent=2) + "\n")
        os.replace(temporary, self.file)

    def entries(self) -> list[ModelEntry]:
        return [ModelEntry(**{**e, "metrics": dict(e.get("metrics", {}))}) for e in self._payload()["models"]]

    def defaults(self) -> dict[str, str]:
        """Pinned versions by model name (``"defaults"`` in ``registry.json``): what ``latest`` means for a
        name whose newest artifact is registered but not chosen to run by default."""
        return dict(self._payload().get("defaults", {}))

    def versions(self, name: str) -> list[str]:
        return [e.version for e in self.entries() if e.name == name]

    def next_version(self, name: str) -> str:
        """One more than the highest numeric version of ``name`` registered here ("1" for none)."""
        numbers = [int(v) for v in self.versions(name) if v.isdigit()]
        return str(max(numbers, default=0) + 1)

    def get(self, name: str, version: str = "latest") -> ModelEntry:
        """The entry for ``name`` at ``version`` (``latest``: the pinned default if :meth:`defaults` names
        one, else the last registered; ``v9`` is version ``9``).

        Raises:
            KeyError: unknown name or version; the message lists the known versions.
        """
        found = [e for e in self.entries() if e.name == name]
        if version == "latest":
            version = self.defaults().get(name, "latest")
        known = {e.version for e in found}
        if version not in known and version[:1] in "vV" and version[1:] in known:
            version = version[1:]  # "v9", as `reviewpulse models` and the folders name it
        if version != "latest":
            found = [e for e in found if e.version == version]
        if not found:
            raise KeyError(f"no model {name!r} version {version!r}; known: {self.versions(name) or 'none'}")
        return found[-1]

    def path(self, name: str, version: str = "latest") -> Path:
        return self.models_dir / self.get(name, version).path

    def register(self, entry: ModelEntry) -> None:
        """Add ``entry``, replacing one with the same name and version."""
        kept = [e for e in self.entries() if (e.name, e.version) != (entry.name, entry.version)]
        self.models_dir.mkdir(parents=True, exist_ok=True)
        payload = {**self._payload(), "models": [asdict(e) for e in [*kept, entry]]}
        self._write(payload)

    def pin(self, name: str, version: str | None) -> None:
        """Make ``version`` what ``latest`` means for ``name`` (None: the last registered again).

        Raises:
            KeyError: ``version`` of ``name`` is not registered.
        """
        defaults = self.defaults()
        if version is None:
            defaults.pop(name, None)
        else:
            self.get(name, version)
            defaults[name] = version
        self._write({**self._payload(), "defaults": defaults})
