"""Smoke tests of the training paths on a few hundred real rows (not the full recipes)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from api.cli.main import app
from nlp.analysis.classifier import TextClassifier
from nlp.artifacts.registry import Registry
from tests.conftest import needs_datasets

pytestmark = [pytest.mark.slow, needs_datasets]


def test_train_continue_and_ensemble_sentiment_from_a_user_file(tmp_path):
    from nlp.training.datasets import clothing_reviews

    data = tmp_path / "reviews.csv"
    clothing_reviews().head(300).rename(columns={"text": "body", "label": "mood"}).to_csv(data, index=False)
    out = tmp_path / "models" / "sentiment" / "v0"
    result = CliRunner().invoke(
        app,
        ["train", "sentiment", "--data", str(data), "--text-col", "body", "--label-col", "mood",
         "--limit", "200", "--epochs", "1", "--version", "0", "--out", str(out)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert {"classifier.json", "head.safetensors", "MODEL_CARD.md", "metrics.json"} <= {
        p.name for p in out.iterdir()
    }
    assert (out / "adapter" / "adapter_model.safetensors").exists()
    card = (out / "MODEL_CARD.md").read_text()
    assert "TF-IDF + logistic regression" in card and "--limit 200" in card
    entry = Registry(tmp_path / "models").get("sentiment")
    assert entry.version == "0" and "test_macro_f1" in entry.metrics
    clf = TextClassifier.load(out)
    probs = clf.predict(["lovely", "awful"]).probabilities
    assert probs.shape == (2, 3) and np.allclose(probs.sum(axis=1), 1.0, atol=1e-4)
    assert json.loads((out / "metrics.json").read_text())["train_rows"] == 200

    resumed = tmp_path / "models" / "sentiment" / "v1"
    again = CliRunner().invoke(
        app,
        ["train", "sentiment", "--data", str(data), "--text-col", "body", "--label-col", "mood", "--limit", "100",
         "--epochs", "1", "--version", "1", "--out", str(resumed), "--init-from", str(out), "--max-length", "64"],
    )  # fmt: skip
    assert again.exit_code == 0, again.output
    resumed_card = (resumed / "MODEL_CARD.md").read_text()
    assert "--init-from" in resumed_card and "max length 64 tokens" in resumed_card
    assert Registry(tmp_path / "models").versions("sentiment") == ["0", "1"]
    # continued training starts from the saved head: a few steps move it only a little
    start = TextClassifier.load(out).models[0].head.weight.detach()
    moved = TextClassifier.load(resumed).models[0].head.weight.detach() - start
    assert float(moved.norm()) < 0.5 * float(start.norm())

    ensemble = tmp_path / "models" / "sentiment" / "v2"
    combined = CliRunner().invoke(
        app,
        ["train", "sentiment-ensemble", str(out), str(resumed), "--version", "2", "--out", str(ensemble),
         "--data", str(data), "--text-col", "body", "--label-col", "mood"],
    )  # fmt: skip
    assert combined.exit_code == 0, combined.output
    card = (ensemble / "MODEL_CARD.md").read_text()
    assert "An ensemble of 2 fine-tunes" in card
    assert f"`reviewpulse train sentiment-ensemble {out} {resumed} --version 2 --out {ensemble}" in card
    members = json.loads((ensemble / "metrics.json").read_text())["members"]
    assert [(m["folder"], m["train_rows"]) for m in members] == [("member-0", 200), ("member-1", 100)]
    assert (ensemble / "member-1" / "MODEL_CARD.md").read_text().startswith("# sentiment v1")
    assert Registry(tmp_path / "models").get("sentiment").version == "2"
    texts = ["lovely", "awful", "it is ok i guess"]
    alone = []
    for folder in (out, resumed, ensemble):
        clf = TextClassifier.load(folder)
        clf.lexical = None
        alone.append(clf.predict(texts).probabilities)
    assert len(TextClassifier.load(ensemble).models) == 2
    np.testing.assert_allclose(alone[2], (alone[0] + alone[1]) / 2, atol=1e-5)

    # comparing ensembles without building them chooses and scores exactly as building one does
    compared = CliRunner().invoke(
        app,
        ["evaluate", "sentiment-ensembles", str(out), str(resumed), "--data", str(data), "--text-col", "body",
         "--label-col", "mood"],
    )  # fmt: skip
    assert compared.exit_code == 0, compared.output
    rows = [line.split() for line in compared.output.splitlines() if line[:1].isdigit()]  # not the bars
    assert len(rows) == 3 and [float(r[0]) for r in rows] == sorted((float(r[0]) for r in rows), reverse=True)
    both = next(r for r in rows if r[-2] == "+")
    built = json.loads((ensemble / "metrics.json").read_text())
    assert both[-3:] == [str(out), "+", str(resumed)]
    assert (float(both[0]), float(both[1]), float(both[3])) == (
        built["validation_macro_f1"],
        built["test"]["macro_f1"],
        built["ensemble_weight_transformer"],
    )


def test_full_fine_tune_artifact_round_trips_through_int8_deltas(tmp_path):
    from nlp.analysis.classifier import ClassifierConfig, PooledClassifier, load_encoder, save_artifact
    from nlp.training.finetune import train_layers_only

    torch.manual_seed(0)
    model = PooledClassifier(train_layers_only(load_encoder()), 3).eval()
    with torch.no_grad():
        for param in model.encoder.parameters():
            if param.requires_grad:
                param += 2e-3 * torch.randn_like(param)  # about the size of a real fine-tune's changes
    config = ClassifierConfig(labels=["negative", "neutral", "positive"])
    save_artifact(model, config, tmp_path)
    assert (tmp_path / "encoder_delta.safetensors").exists() and not (tmp_path / "adapter").exists()
    probe = ["true to size and so soft", "it ripped after one wash", "fine i guess"]
    in_memory = TextClassifier([model], config).predict(probe).probabilities
    reloaded = TextClassifier.load(tmp_path)
    error = np.abs(reloaded.predict(probe).probabilities - in_memory).max()
    untuned = PooledClassifier(load_encoder(), 3)
    untuned.head.load_state_dict(model.head.state_dict())
    reloaded.models = [untuned.eval()]
    effect = np.abs(reloaded.predict(probe).probabilities - in_memory).max()
    # the int8 rounding moves probabilities by far less than the weight changes it stores
    assert error < 5e-4 and effect > 20 * error, (error, effect)


def test_full_fine_tune_trains_and_joins_an_lora_ensemble(tmp_path):
    from nlp.analysis.classifier import assemble_ensemble
    from nlp.training.config import TrainingConfig
    from nlp.training.datasets import clothing_reviews
    from nlp.training.finetune import train_classifier

    rows = clothing_reviews().head(160)
    texts, labels = rows["text"].tolist(), rows["label"].tolist()
    names = ["negative", "neutral", "positive"]
    lora, full = tmp_path / "lora", tmp_path / "full"
    train_classifier(texts, labels, names, lora, TrainingConfig(epochs=1), progress=False)
    config = TrainingConfig(epochs=1, learning_rate=1e-4, full_fine_tune=True)
    train_classifier(texts, labels, names, full, config, progress=False)
    assert (full / "encoder_delta.safetensors").exists() and not (full / "adapter").exists()

    assemble_ensemble([lora, full], tmp_path / "both", "9")
    assert (tmp_path / "both" / "member-1" / "encoder_delta.safetensors").exists()
    probe = ["true to size and so soft", "it ripped after one wash"]
    both = TextClassifier.load(tmp_path / "both").predict(probe).probabilities
    alone = [TextClassifier.load(f).predict(probe).probabilities for f in (lora, full)]
    np.testing.assert_allclose(both, (alone[0] + alone[1]) / 2, atol=1e-5)

    # a LoRA run cannot continue a full fine-tune: a clear error, exit code 2
    result = CliRunner().invoke(
        app,
        ["train", "sentiment", "--limit", "50", "--epochs", "1", "--out", str(tmp_path / "x"),
         "--init-from", str(full)],
    )  # fmt: skip
    assert result.exit_code == 2 and "no LoRA adapter to continue" in result.output


def test_soft_targets_steer_the_fine_tune_and_need_ratings(tmp_path):
    from nlp.training.config import TrainingConfig
    from nlp.training.datasets import clothing_reviews
    from nlp.training.finetune import train_classifier

    rows = clothing_reviews().head(160)
    texts, labels = rows["text"].tolist(), rows["label"].tolist()
    names = ["negative", "neutral", "positive"]
    all_neutral = np.tile([0.0, 1.0, 0.0], (len(texts), 1))
    with pytest.raises(ValueError, match="soft targets of shape"):
        train_classifier(texts, labels, names, tmp_path / "x", TrainingConfig(), soft_targets=all_neutral[1:])
    hard = train_classifier(texts, labels, names, tmp_path / "hard", TrainingConfig(epochs=2), progress=False)
    soft = train_classifier(
        texts,
        labels,
        names,
        tmp_path / "soft",
        TrainingConfig(epochs=2),
        progress=False,
        soft_targets=all_neutral,
    )
    probe = ["true to size and so soft", "it ripped after one wash", "fine i guess"]
    neutral_hard, neutral_soft = (c.predict(probe).probabilities[:, 1].mean() for c in (hard, soft))
    assert neutral_soft > neutral_hard + 0.1, (neutral_soft, neutral_hard)

    # a user file has labels, not star ratings: a clear error before any training, exit code 2
    data = tmp_path / "reviews.csv"
    rows.to_csv(data, index=False)
    result = CliRunner().invoke(
        app,
        ["train", "sentiment", "--data", str(data), "--limit", "50", "--rating-smoothing", "0.25",
         "--out", str(tmp_path / "y")],
    )  # fmt: skip
    assert result.exit_code == 2 and "need star ratings" in result.output
    assert not (tmp_path / "y").exists()


def test_an_ensemble_needs_compatible_members(tmp_path):
    from nlp.analysis.classifier import ClassifierConfig, assemble_ensemble

    for name, labels in [("a", ["negative", "positive"]), ("b", ["negative", "neutral", "positive"])]:
        (tmp_path / name).mkdir()
        ClassifierConfig(labels=labels).save(tmp_path / name)
    with pytest.raises(ValueError, match="at least two members"):
        assemble_ensemble([tmp_path / "a"], tmp_path / "out", "1")
    with pytest.raises(FileNotFoundError, match="nowhere"):
        assemble_ensemble([tmp_path / "a", tmp_path / "nowhere"], tmp_path / "out", "1")
    with pytest.raises(ValueError, match="disagree on labels"):
        assemble_ensemble([tmp_path / "a", tmp_path / "b"], tmp_path / "out", "1")
    with pytest.raises(FileExistsError, match="already holds a classifier"):
        assemble_ensemble([tmp_path / "a", tmp_path / "a"], tmp_path / "a", "1")
    result = CliRunner().invoke(
        app,
        [
            "train",
            "sentiment-ensemble",
            str(tmp_path / "a"),
            str(tmp_path / "b"),
            "--out",
            str(tmp_path / "out"),
        ],
    )
    assert result.exit_code == 2 and "disagree on labels" in result.output
    assert not (tmp_path / "out").exists()


def test_train_embeddings_and_topics_on_a_subset(tmp_path):
    from nlp.analysis.embeddings import PhraseEmbeddings
    from nlp.analysis.topics import TopicModel
    from nlp.training.datasets import clothing_reviews
    from nlp.training.unsupervised_recipe import train_embeddings_artifact, train_topics_artifact

    texts = clothing_reviews()["text"].head(2500).tolist()
    models = tmp_path / "models"
    emb_metrics = train_embeddings_artifact(texts, version="0", models_dir=models)
    assert emb_metrics["vocabulary"] > 500
    emb = PhraseEmbeddings.load(models / "embeddings" / "v0")
    assert emb.vector("dress") is not None
    topic_metrics = train_topics_artifact(texts, version="0", models_dir=models)
    topics = TopicModel.load(models / "topics" / "v0")
    assert len(topics.topics) == topic_metrics["topics"] >= 6
    assert topic_metrics["npmi"] > topic_metrics["baseline_random_partition_npmi"]
    assert {e.name for e in Registry(models).entries()} == {"embeddings", "topics"}
