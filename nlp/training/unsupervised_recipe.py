"""The unsupervised recipes: phrase-aware Word2Vec embeddings and the aspect topics discovered in their space,
each compared with a baseline on held-out text, documented in a model card and registered.

``reviewpulse train embeddings`` calls :func:`train_embeddings_artifact`, ``reviewpulse train topics``
:func:`train_topics_artifact`.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from sklearn.metrics import silhouette_score
from tqdm.auto import tqdm

from nlp.analysis.aspects import aspect_terms
from nlp.analysis.embeddings import PhraseEmbeddings, train_embeddings
from nlp.analysis.text import load_spacy, normalize
from nlp.analysis.topics import TopicModel, candidate_terms, discover_topics, npmi_coherence
from nlp.artifacts.paths import nlp_settings
from nlp.artifacts.registry import ModelEntry, Registry
from nlp.training import datasets
from nlp.training.cards import render_card
from nlp.training.topics_eval import bertopic_style_baseline, model_terms, topic_quality


def _corpus(texts: Sequence[str] | None) -> tuple[str, list[str]]:
    """``(source description, texts)``: the user's texts, else the shared review corpora."""
    if texts is not None:
        return "user data", list(texts)
    return "womens_clothing_reviews + amazon_fine_food_sample (all rows)", datasets.review_corpus()


def train_embeddings_artifact(
    texts: Sequence[str] | None = None,
    out_dir: Path | None = None,
    version: str = "1",
    seed: int = 13,
    command: str = "reviewpulse train embeddings",
    models_dir: Path | None = None,
) -> dict:
    """Train phrase-aware Word2Vec on the review corpora (or ``texts``), write its card, register it."""
    source, texts = _corpus(texts)
    models_dir = models_dir or nlp_settings().models_dir
    out_dir = out_dir or models_dir / "embeddings" / f"v{version}"
    started = time.time()
    emb = train_embeddings(texts, seed=seed)
    emb.save(out_dir)
    probes = ["fit", "fabric", "color", "length", "price", "true_to_size", "runs_small", "taste", "zipper"]
    neighbours = {p: [w for w, _ in emb.vectors.most_similar(p, topn=6)] for p in probes if p in emb.vectors}
    metrics = {
        "documents": len(texts),
        "vocabulary": len(emb.vectors),
        "phrases": sum("_" in w for w in emb.vectors.index_to_key),
        "dimensions": emb.vectors.vector_size,
        "training_minutes": round((time.time() - started) / 60, 1),
        "nearest_neighbours": neighbours,
    }
    (out_dir / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    (out_dir / "MODEL_CARD.md").write_text(
        render_card(
            "embeddings_card.md.j2",
            version=version,
            seed=seed,
            source=source,
            command=command,
            metrics=metrics,
        )
    )
    headline = {k: metrics[k] for k in ("vocabulary", "phrases", "dimensions")}
    Registry(models_dir).register(
        ModelEntry("embeddings", version, str(out_dir.relative_to(models_dir)), metrics=headline)
    )
    return metrics


def topics_corpus(
    texts: Sequence[str] | None, seed: int, source: str = "user data", datasets_dir: Path | None = None
) -> tuple[str, list[str], list[str]]:
    """``(source description, training texts, held-out texts)`` for topics: the clothing reviews' train split
    and test split by default; else ``texts`` (described as ``source``) with a seeded 10 % held out (at
    least one text)."""
    if texts is None:
        clothing = datasets.clothing_reviews(datasets_dir)
        train, test = clothing[clothing.split == "train"], clothing[clothing.split == "test"]
        source = "womens_clothing_reviews, train split; held out: its test split"
        return source, train["text"].tolist(), test["text"].tolist()
    texts = list(texts)
    order = np.random.default_rng(seed).permutation(len(texts))
    cut = max(1, len(texts) // 10)
    held = set(order[:cut].tolist())
    kept = [t for i, t in enumerate(texts) if i not in held]
    return f"{source}; held out: a seeded 10 %", kept, [texts[i] for i in sorted(held)]


def _parse_terms(texts: Sequence[str], desc: str) -> list[list[str]]:
    """Every text's candidate aspect terms (:func:`nlp.analysis.aspects.aspect_terms`), from spaCy parses."""
    nlp = load_spacy()
    docs = nlp.pipe((normalize(t) for t in texts), batch_size=128, disable=["ner"])
    return [aspect_terms(d) for d in tqdm(docs, total=len(texts), desc=desc, unit="doc")]


def train_topics_artifact(
    texts: Sequence[str] | None = None,
    out_dir: Path | None = None,
    version: str | None = None,
    seed: int = 13,
    command: str = "reviewpulse train topics",
    models_dir: Path | None = None,
    source: str = "user data",
) -> dict:
    """Discover aspect topics with the registered embeddings, compare them with a BERTopic-style baseline
    on held-out texts, write the card and register the topic table (``latest`` unless the registry pins
    another topics version: :meth:`nlp.artifacts.registry.Registry.pin`).

    Args:
        texts: the texts to learn from (a seeded 10 % is held out for the comparison); None: the clothing
            reviews' train split, compared on its test split (:func:`topics_corpus`).
        version: the version to write (default: :meth:`nlp.artifacts.registry.Registry.next_version`).
        source: how the card names ``texts`` (e.g. "the store's reviews").

    Returns:
        The metrics written to ``metrics.json`` (without the per-k selection).

    Raises:
        ValueError: too few aspect terms for topics (:func:`nlp.analysis.topics.discover_topics`).
    """
    corpus, train, held_out = topics_corpus(texts, seed, source)
    models_dir = models_dir or nlp_settings().models_dir
    version = version or Registry(models_dir).next_version("topics")
    out_dir = out_dir or models_dir / "topics" / f"v{version}"
    registry = Registry(models_dir)
    emb = PhraseEmbeddings.load(registry.path("embeddings"))
    started = time.perf_counter()
    doc_terms = _parse_terms(train, "parsing")
    parse_seconds = time.perf_counter() - started
    started = time.perf_counter()
    model = discover_topics(doc_terms, emb, seed=seed)
    ours_seconds = time.perf_counter() - started
    chosen = str(model.selection["chosen_k"])
    vocabulary = candidate_terms(doc_terms, emb, model.selection["min_count"])
    baseline_topics, baseline_seconds = bertopic_style_baseline(
        train, doc_terms, emb, vocabulary, int(chosen), seed
    )
    held_terms = _parse_terms(held_out, "parsing held-out")
    ours = {**topic_quality(model_terms(model), held_terms), "seconds": round(ours_seconds, 1)}
    baseline = {**topic_quality(baseline_topics, held_terms), "seconds": round(baseline_seconds, 1)}
    shuffled = random_partition_baseline(model, emb, doc_terms, seed)
    model.save(out_dir)
    metrics = {
        "documents": len(train),
        "held_out_documents": len(held_out),
        "topics": int(chosen),
        "npmi": model.selection["npmi"][chosen],
        "silhouette_cosine": model.selection["silhouette_cosine"][chosen],
        "baseline_random_partition_npmi": shuffled["npmi"],
        "baseline_random_partition_silhouette": shuffled["silhouette_cosine"],
        "held_out_npmi": ours["npmi"],
        "held_out_diversity": ours["diversity"],
        "baseline_bertopic_style_held_out_npmi": baseline["npmi"],
        "baseline_bertopic_style_held_out_diversity": baseline["diversity"],
        "outlier_threshold": model.threshold,
        "parse_seconds": round(parse_seconds, 1),
        "training_seconds": round(ours_seconds, 1),
        "baseline_bertopic_style_seconds": round(baseline_seconds, 1),
    }
    (out_dir / "metrics.json").write_text(
        json.dumps(
            {**metrics, "held_out": {"ours": ours, "bertopic_style": baseline}, "selection": model.selection},
            indent=2,
        )
        + "\n"
    )
    (out_dir / "MODEL_CARD.md").write_text(
        render_card(
            "topics_card.md.j2",
            version=version,
            seed=seed,
            source=corpus,
            command=command,
            metrics=metrics,
            model=model,
            ours=ours,
            baseline=baseline,
            baseline_topics=baseline_topics,
            chosen=chosen,
            date=datetime.now(UTC).date().isoformat(),
        )
    )
    registry.register(ModelEntry("topics", version, str(out_dir.relative_to(models_dir)), metrics=metrics))
    return metrics


def random_partition_baseline(
    model: TopicModel, emb: PhraseEmbeddings, doc_terms: Sequence[list[str]], seed: int
) -> dict[str, float]:
    """NPMI and silhouette of the topic terms shuffled across topics of the same sizes (no structure)."""
    sizes = [len(topic.terms) for topic in model.topics]
    terms = [t for topic in model.topics for t, _ in topic.terms]
    shuffled = list(np.random.default_rng(seed).permutation(terms))
    groups, labels, start = [], [], 0
    for k, size in enumerate(sizes):
        groups.append(shuffled[start : start + size])
        labels += [k] * size
        start += size
    x = np.asarray([emb.vector(t) for t in shuffled])
    docs = [set(terms_) for terms_ in doc_terms]
    return {
        "npmi": round(float(np.nanmean(npmi_coherence([g[:10] for g in groups], docs))), 4),
        "silhouette_cosine": round(float(silhouette_score(x, labels, metric="cosine")), 4),
    }
