"""The service follows the registry while it runs: a topics version pinned by ``reviewpulse train topics
--from-store`` (which re-tags the stored reviews) is what the next request analyses and lists with."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from api.core.config import Settings
from api.service.analysis import AnalysisService
from api.service.app import create_app
from nlp.analysis.topics import TopicModel
from nlp.artifacts.registry import ModelEntry, Registry
from tests.conftest import make_key, models_copy

DOCUMENT = {"documents": [{"id": "1", "text": "Lovely soft fabric, but the zipper broke after a week."}]}


def test_a_topics_version_pinned_while_serving_is_used_by_the_next_request(tmp_path):
    models = models_copy(tmp_path / "models")
    registry = Registry(models)
    assert registry.get("topics").version == "1" and "2" in registry.versions("topics")
    service = AnalysisService(models_dir=models)
    with TestClient(create_app(Settings(data_dir=tmp_path / "data"), service)) as client:
        key = make_key(client, "admin")
        first = client.post("/v1/analyze", json=DOCUMENT, headers=key).json()
        assert first["model_version"].endswith("+topics-v1")
        old = service.served[registry.get("sentiment").version]

        registry.pin("topics", "2")  # as `train topics --from-store` does, from another process
        second = client.post("/v1/analyze", json=DOCUMENT, headers=key).json()
        assert second["model_version"].endswith("+topics-v2")
        listed = {topic["label"] for topic in client.get("/v1/topics", headers=key).json()}
        shop = TopicModel.load(registry.path("topics", "2"))
        assert listed == {info["label"] for info in shop.info()}
        assert service.served[registry.get("sentiment").version] is not old
    with pytest.raises(RuntimeError):  # the replaced analyzer was retired: its stages' threads are shut down
        old.analyzer.analyze(["Runs small."])


def test_a_topics_version_that_does_not_load_leaves_the_loaded_one_serving(tmp_path, caplog):
    models = models_copy(tmp_path / "models")
    registry = Registry(models)
    service = AnalysisService(models_dir=models)
    with TestClient(create_app(Settings(data_dir=tmp_path / "data"), service)) as client:
        key = make_key(client, "admin")
        registry.register(ModelEntry("topics", "9", "topics/v9-never-written"))
        registry.pin("topics", "9")
        response = client.post("/v1/analyze", json=DOCUMENT, headers=key)
        assert response.status_code == 200 and response.json()["model_version"].endswith("+topics-v1")
        assert "under topics v9 failed to load; still serving topics v1" in caplog.text
        registry.pin("topics", "2")  # a version that loads is taken at once
        assert (
            client.post("/v1/analyze", json=DOCUMENT, headers=key)
            .json()["model_version"]
            .endswith("+topics-v2")
        )
