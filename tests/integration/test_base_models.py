"""Base transformers per artifact: lookup, install errors, LoRA targets, artifacts and ensembles on mixed bases."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from api.cli.main import app
from nlp.analysis.classifier import CONFIG_FILE, ClassifierConfig, assemble_ensemble
from nlp.artifacts.base_models import (
    BASE_MODELS,
    DEFAULT_BASE_MODEL,
    base_model,
    base_model_dir,
    fetch_base_model,
)
from nlp.artifacts.paths import nlp_settings

MPNET = "all-mpnet-base-v2"


def test_an_unknown_base_model_is_a_clear_error_listing_the_known_ones():
    with pytest.raises(
        ValueError, match=r"unknown base model 'bert-large'.*all-MiniLM-L6-v2, all-mpnet-base-v2"
    ):
        base_model("bert-large")
    result = CliRunner().invoke(app, ["train", "sentiment", "--base-model", "bert-large", "--limit", "10"])
    assert result.exit_code == 2
    assert "unknown base model 'bert-large'" in result.stderr


def test_a_base_model_not_yet_fetched_says_how_to_fetch_it(tmp_path, nlp_env):
    nlp_env("REVIEWPULSE_BASE_MODELS_DIR", tmp_path)
    with pytest.raises(FileNotFoundError, match=f"reviewpulse fetch-base-model {MPNET}"):
        base_model_dir(MPNET)
    result = CliRunner().invoke(app, ["train", "sentiment", "--base-model", MPNET])
    assert result.exit_code == 2 and "is not installed" in result.stderr


def test_fetch_keeps_an_installed_model_and_refuses_a_packaged_one(tmp_path):
    (tmp_path / MPNET).mkdir()
    (tmp_path / MPNET / "model.safetensors").write_bytes(b"weights")
    assert fetch_base_model(MPNET, tmp_path) == tmp_path / MPNET  # no download when already there
    with pytest.raises(ValueError, match="ships in an installed package"):
        fetch_base_model(DEFAULT_BASE_MODEL, tmp_path)


def test_artifacts_written_before_base_models_were_named_load_on_minilm():
    config = ClassifierConfig(labels=["negative", "neutral", "positive"])
    legacy = {k: v for k, v in config.__dict__.items() if k not in ("base_model", "member_base_models")}
    assert ClassifierConfig(**legacy).fine_tunes() == [("", DEFAULT_BASE_MODEL)]
    v4 = ClassifierConfig.load(nlp_settings().models_dir / "sentiment" / "v4")
    assert v4.fine_tunes() == [(sub, v4.base_model) for sub in v4.members]


def _fake_artifact(folder, base: str, members: list[str] | None = None):
    folder.mkdir(parents=True)
    ClassifierConfig(labels=["neg", "pos"], base_model=base, members=members or []).save(folder)
    (folder / "head.safetensors").write_bytes(b"head")
    return folder


def test_an_ensemble_records_each_members_base_only_when_they_differ(tmp_path):
    minilm = _fake_artifact(tmp_path / "a", DEFAULT_BASE_MODEL)
    mpnet = _fake_artifact(tmp_path / "b", MPNET)
    mixed = assemble_ensemble([minilm, mpnet], tmp_path / "mixed", "9")
    assert mixed.member_base_models == [DEFAULT_BASE_MODEL, MPNET]
    assert ClassifierConfig.load(tmp_path / "mixed").fine_tunes() == [
        ("member-0", DEFAULT_BASE_MODEL),
        ("member-1", MPNET),
    ]
    same = assemble_ensemble(
        [minilm, _fake_artifact(tmp_path / "c", DEFAULT_BASE_MODEL)], tmp_path / "same", "9"
    )
    assert (
        same.member_base_models == [] and json.loads((tmp_path / "same" / CONFIG_FILE).read_text())["members"]
    )
    nested = _fake_artifact(tmp_path / "d", DEFAULT_BASE_MODEL, members=["member-0", "member-1"])
    with pytest.raises(ValueError, match="itself an ensemble"):
        assemble_ensemble([minilm, nested], tmp_path / "nested", "9")
    assert not (tmp_path / "nested").exists()  # refused before anything is copied


@pytest.mark.parametrize("name", list(BASE_MODELS))
def test_lora_targets_adapt_every_attention_and_feed_forward_layer_of_each_base(name):
    from peft import LoraConfig, get_peft_model
    from torch import nn

    from nlp.analysis.classifier import load_encoder

    encoder = load_encoder(name)
    linears = {n for n, m in encoder.named_modules() if isinstance(m, nn.Linear) and n.startswith("encoder.")}
    wrapped = get_peft_model(encoder, LoraConfig(r=4, target_modules=list(base_model(name).lora_targets)))
    adapted = {
        n.removeprefix("base_model.model.") for n, m in wrapped.named_modules() if hasattr(m, "lora_A")
    }
    adapted -= {"pooler.dense"}  # "dense" also matches MiniLM's pooler, which mean pooling never calls
    layers = encoder.config.num_hidden_layers
    assert adapted == linears and len(adapted) == 6 * layers, sorted(linears - adapted)[:5]


def test_members_on_different_bases_each_read_their_own_tokens_and_are_averaged():
    from nlp.analysis.classifier import PooledClassifier, TextClassifier, load_encoder

    torch.manual_seed(0)
    minilm = PooledClassifier(load_encoder(), 3)
    mpnet = PooledClassifier(load_encoder(MPNET), 3, base_model=MPNET)
    config = ClassifierConfig(labels=["negative", "neutral", "positive"])
    texts = ["runs small but so soft 😍", "it ripped after one wash", "ok"]
    alone = [TextClassifier([m], config).predict(texts).probabilities for m in (minilm, mpnet)]
    assert np.abs(alone[0] - alone[1]).max() > 1e-3  # two different models, not one read twice
    both = TextClassifier([minilm, mpnet], config).predict(texts).probabilities
    np.testing.assert_allclose(both, (alone[0] + alone[1]) / 2, atol=1e-5)
