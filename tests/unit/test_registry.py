"""Tests for nlp.artifacts.registry on a temporary models folder."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from nlp.artifacts.paths import nlp_settings
from nlp.artifacts.registry import REGISTRY_FILE, ModelEntry, Registry


@pytest.fixture
def registry(tmp_path: Path) -> Registry:
    return Registry(tmp_path / "models")


def _entry(name: str, version: str, **metrics: float) -> ModelEntry:
    return ModelEntry(name, version, f"{name}/{version}", metrics=dict(metrics))


def test_empty_folder_has_no_entries(registry: Registry, tmp_path: Path) -> None:
    assert registry.entries() == []
    assert registry.versions("x") == []
    assert not (tmp_path / "models").exists()  # reading never creates anything


def test_existing_empty_folder_has_no_entries(tmp_path: Path) -> None:
    assert Registry(tmp_path).entries() == []


def test_register_then_get_latest(registry: Registry) -> None:
    registry.register(_entry("x", "1", macro_f1=0.7))
    registry.register(_entry("x", "2", macro_f1=0.8))
    registry.register(_entry("y", "9"))
    latest = registry.get("x")
    assert (latest.name, latest.version, latest.path) == ("x", "2", "x/2")
    assert latest.metrics == {"macro_f1": 0.8}
    assert registry.get("x", "latest") == latest
    assert registry.versions("x") == ["1", "2"]


@pytest.mark.parametrize(("version", "f1"), [("1", 0.7), ("2", 0.8)])
def test_get_explicit_version(registry: Registry, version: str, f1: float) -> None:
    registry.register(_entry("x", "1", macro_f1=0.7))
    registry.register(_entry("x", "2", macro_f1=0.8))
    entry = registry.get("x", version)
    assert entry.version == version
    assert entry.metrics == {"macro_f1": f1}


def test_a_version_may_be_named_as_its_folder(registry: Registry) -> None:
    """QA: `reviewpulse models` lists v9 but `--model-version v9` was refused."""
    registry.register(_entry("x", "9", macro_f1=0.7))
    registry.register(_entry("x", "vintage"))
    assert registry.get("x", "v9").version == registry.get("x", "V9").version == "9"
    assert registry.get("x", "vintage").version == "vintage"
    with pytest.raises(KeyError):
        registry.get("x", "v8")


def test_next_version_follows_the_highest_numeric_one(registry: Registry) -> None:
    assert registry.next_version("topics") == "1"
    for version in ("2", "10", "exp"):
        registry.register(_entry("topics", version))
    registry.register(_entry("sentiment", "30"))
    assert registry.next_version("topics") == "11"


def test_reregister_replaces(registry: Registry) -> None:
    registry.register(_entry("x", "1", macro_f1=0.5))
    registry.register(_entry("x", "2"))
    registry.register(_entry("x", "1", macro_f1=0.9))
    assert registry.versions("x") == ["2", "1"]
    assert sorted((e.name, e.version) for e in registry.entries()) == [("x", "1"), ("x", "2")]
    assert registry.get("x", "1").metrics == {"macro_f1": 0.9}


def test_entries_round_trip_all_fields(registry: Registry) -> None:
    entry = ModelEntry("x", "1", "x/1", created="2024-05-03T10:00:00+00:00", metrics={"acc": 0.9})
    registry.register(entry)
    assert registry.entries() == [entry]
    # A fresh Registry over the same folder reads the same file.
    assert Registry(registry.models_dir).entries() == [entry]


def test_registry_file_is_json_with_relative_paths(registry: Registry) -> None:
    registry.register(_entry("x", "1"))
    data = json.loads((registry.models_dir / REGISTRY_FILE).read_text())
    assert [m["path"] for m in data["models"]] == ["x/1"]
    assert set(data["models"][0]) == {"name", "version", "path", "created", "metrics"}


def test_created_defaults_to_utc_timestamp() -> None:
    created = ModelEntry("x", "1", "x/1").created
    assert created.endswith("+00:00")
    assert "T" in created


@pytest.mark.parametrize(
    ("name", "version"), [("x", "3"), ("x", "latest-ish"), ("nope", "latest"), ("nope", "1")]
)
def test_unknown_raises_key_error_listing_versions(registry: Registry, name: str, version: str) -> None:
    registry.register(_entry("x", "1"))
    registry.register(_entry("x", "2"))
    with pytest.raises(KeyError) as excinfo:
        registry.get(name, version)
    message = str(excinfo.value)
    assert repr(name) in message
    assert repr(version) in message
    if name == "x":
        assert "'1'" in message
        assert "'2'" in message
    else:
        assert "none" in message


def test_unknown_on_empty_registry(registry: Registry) -> None:
    with pytest.raises(KeyError, match="none"):
        registry.get("x")


def test_path_is_under_models_dir(registry: Registry) -> None:
    registry.register(_entry("x", "1"))
    registry.register(_entry("x", "2"))
    assert registry.path("x") == registry.models_dir / "x" / "2"
    assert registry.path("x", "1") == registry.models_dir / registry.get("x", "1").path
    with pytest.raises(KeyError):
        registry.path("x", "7")


def test_committed_artifacts_fit_the_size_budget() -> None:
    """Each registered artifact at most 25 MB and models/ at most 64 MB in all, so models/ lives in git (raised
    from 60 MB for the second one-pass student and the teacher labels it was trained on, 62 MB together)."""
    models = nlp_settings().models_dir

    def size(folder: Path) -> int:
        return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())

    entries = Registry(models).entries()
    assert {e.name for e in entries} >= {"sentiment", "intent", "embeddings", "topics"}
    for entry in entries:
        assert size(models / entry.path) <= 25_000_000, entry.path
    assert size(models) <= 64_000_000


def test_a_pinned_default_is_latest_until_unpinned(registry: Registry) -> None:
    for version in ("1", "2"):
        registry.register(ModelEntry("sentiment", version, f"sentiment/v{version}"))
    registry.pin("sentiment", "1")
    registry.register(ModelEntry("sentiment", "3", "sentiment/v3"))
    assert registry.get("sentiment").version == "1"
    assert registry.get("sentiment", "3").version == "3"
    with pytest.raises(KeyError):
        registry.pin("sentiment", "9")
    registry.pin("sentiment", None)
    assert registry.get("sentiment").version == "3"


def test_a_reader_sees_what_another_writer_registers_after_its_first_read(tmp_path: Path) -> None:
    """The service keeps one Registry and resolves ``latest`` on every request: a model registered by another
    process (``reviewpulse train ...``) is what the next request gets."""
    reader, writer = Registry(tmp_path), Registry(tmp_path)
    writer.register(_entry("x", "1"))
    assert reader.get("x").version == "1"
    writer.register(_entry("x", "2"))
    assert reader.get("x").version == "2"
    writer.pin("x", "1")
    assert reader.get("x").version == "1"


def test_entries_do_not_share_state_between_reads(registry: Registry) -> None:
    registry.register(_entry("x", "1", macro_f1=0.7))
    registry.get("x").metrics["macro_f1"] = 0.0
    assert registry.get("x").metrics == {"macro_f1": 0.7}


def test_a_rewrite_of_the_same_size_within_one_timestamp_tick_is_seen(tmp_path: Path) -> None:
    """On a file system with coarse timestamps (FAT, NFS, older kernels) a second pin can leave the file with
    the same modification time and size as the first: the reader must still see it."""
    reader, writer = Registry(tmp_path), Registry(tmp_path)
    for version in ("1", "2", "3"):
        writer.register(_entry("x", version))
    writer.pin("x", "2")
    assert reader.get("x").version == "2"
    stat = (tmp_path / REGISTRY_FILE).stat()
    writer.pin("x", "3")
    os.utime(tmp_path / REGISTRY_FILE, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # the same tick
    assert (tmp_path / REGISTRY_FILE).stat().st_size == stat.st_size
    assert reader.get("x").version == "3"


def test_training_commands_default_to_the_next_free_version(
    registry: Registry, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from api.cli.train import _free_version

    registry.register(_entry("sentiment", "9"))
    registry.register(_entry("sentiment", "teacher"))
    monkeypatch.setenv("REVIEWPULSE_MODELS_DIR", str(tmp_path / "models"))
    nlp_settings.cache_clear()
    try:
        assert _free_version("sentiment", None) == "10"  # never over a registered artifact
        assert _free_version("intent", None) == "1"
        assert _free_version("sentiment", "5") == "5"  # an explicit version is the user's call
    finally:
        nlp_settings.cache_clear()
