"""Training the aspects artifact on the ABSA gold set's train split: the learned aspect-term filter
(:mod:`nlp.analysis.aspect_filter`) and the aspect polarity head (:mod:`nlp.training.polarity_training`).

Every candidate noun of a review (:func:`nlp.analysis.aspects.aspect_candidates`) is an example, labelled an aspect
term when its span is exactly a gold target's (SemEval-2014 Task 4's exact match, as
:func:`nlp.training.absa_eval.evaluate` scores terms). A scikit-learn ``StandardScaler`` + ``LogisticRegression``
is fitted on the train split; its regularisation ``C`` and the probability threshold are chosen on the dev split
by exact aspect-term F1; the test split is not read here (``reviewpulse evaluate absa --split test`` measures the
registered filter). The rules are measured beside it on the same candidates, and in grouped cross-validation over
the train split's reviews, the one split whose annotations no rule was written from.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GroupKFold
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler
from spacy.tokens import Doc

from nlp.analysis.aspect_filter import FILTER_FILE, AspectFilter, feature_names, feature_rows, head_vector
from nlp.analysis.aspect_polarity import POLARITY_FILE
from nlp.analysis.aspects import aspect_candidates, extract_aspects
from nlp.analysis.embeddings import PhraseEmbeddings
from nlp.analysis.span_classifier import SpanClassifier, load_sentiment_model
from nlp.analysis.text import TextPreparer
from nlp.analysis.topics import TopicModel
from nlp.artifacts.paths import nlp_settings
from nlp.artifacts.registry import ModelEntry, Registry
from nlp.training import polarity_training
from nlp.training.absa_eval import (
    GOLD_DIR,
    TRAIN_SPLIT,
    GoldSentence,
    Score,
    gold_terms,
    load_gold,
    review_texts,
)
from nlp.training.cards import render_card
from nlp.training.datasets import clothing_reviews

#: Inverse regularisation strengths of the logistic regression tried on dev.
C_GRID = (0.003, 0.01, 0.03, 0.1, 0.3, 1.0)
#: Probability thresholds tried on dev.
THRESHOLDS = tuple(round(float(t), 2) for t in np.arange(0.2, 0.81, 0.05))
#: Folds of the grouped cross-validation over the train split's reviews.
FOLDS = 5


@dataclass
class Examples:
    """The candidates of a gold split: ``X`` ``(n, features)``, ``y`` ``(n,)`` (an exact gold target),
    ``reviews`` ``(n,)`` (review ids, for grouped folds), ``rules`` ``(n,)`` (the rules keep it) and ``gold``
    (the split's distinct gold aspect terms, for recall; a target no candidate spans is missed by both)."""

    X: np.ndarray
    y: np.ndarray
    reviews: np.ndarray
    rules: np.ndarray
    gold: int

    def subset(self, rows: np.ndarray, gold: int) -> Examples:
        return Examples(self.X[rows], self.y[rows], self.reviews[rows], self.rules[rows], gold)


def candidate_examples(
    gold: Sequence[GoldSentence],
    docs: dict[int, Doc],
    known_terms: set[str],
    embeddings: PhraseEmbeddings,
) -> Examples:
    """The candidates of ``docs`` (review id -> parse of its prepared text) that start in a gold sentence, with
    :func:`nlp.analysis.aspect_filter.features` and their labels."""
    targets: dict[int, set[tuple[int, int]]] = {}
    sentences: dict[int, list[tuple[int, int]]] = {}
    for s in gold:
        sentences.setdefault(s.review_id, []).append((s.offset, s.offset + len(s.text)))
        targets.setdefault(s.review_id, set()).update(
            (a + s.offset, b + s.offset) for (a, b), _ in gold_terms(s)
        )
    rows, labels, reviews, rules = [], [], [], []
    vector_of = partial(head_vector, embeddings=embeddings)
    for review_id, doc in docs.items():
        candidates = [
            c
            for c in aspect_candidates(doc, known_terms)
            if any(a <= c.mention.offset < b for a, b in sentences[review_id])
        ]
        rows.append(feature_rows(candidates, vector_of, embeddings.vectors.vector_size))
        for candidate in candidates:
            span = (candidate.mention.offset, candidate.mention.offset + candidate.mention.length)
            labels.append(span in targets[review_id])
            reviews.append(review_id)
            rules.append(candidate.kept)
    total = sum(len(t) for t in targets.values())
    return Examples(np.concatenate(rows), np.array(labels), np.array(reviews), np.array(rules), total)


def term_score(examples: Examples, keep: np.ndarray) -> Score:
    """Exact aspect-term P / R / F1 of keeping the candidates ``keep`` (as :func:`nlp.training.absa_eval.evaluate`
    scores them: each candidate has its own span)."""
    return Score(int((keep & examples.y).sum()), int(keep.sum()), examples.gold)


def fit(examples: Examples, c: float) -> Pipeline:
    """``StandardScaler`` + ``LogisticRegression(C=c)`` fitted on ``examples``."""
    return make_pipeline(StandardScaler(), LogisticRegression(C=c, max_iter=5000)).fit(examples.X, examples.y)


def export(model: Pipeline, threshold: float, dimensions: int) -> dict:
    """The ``filter.json`` payload of a fitted :func:`fit` pipeline (read by
    :meth:`nlp.analysis.aspect_filter.AspectFilter.load`)."""
    scaler, regression = model.named_steps["standardscaler"], model.named_steps["logisticregression"]
    return {
        "features": list(feature_names(dimensions)),
        "mean": scaler.mean_.tolist(),
        "scale": scaler.scale_.tolist(),
        "coef": regression.coef_[0].tolist(),
        "intercept": float(regression.intercept_[0]),
        "threshold": threshold,
    }


def choose(train: Examples, dev: Examples) -> tuple[float, float, dict[str, float]]:
    """``(C, threshold, {"C=<c> t=<t>": dev exact term F1})``: the pair of :data:`C_GRID` and :data:`THRESHOLDS`
    with the best dev F1 of a filter fitted on ``train`` (ties: the stronger regularisation, then the lower
    threshold, the first met)."""
    grid: dict[str, float] = {}
    best = (-1.0, 0.0, 0.0)
    for c in C_GRID:
        probabilities = fit(train, c).predict_proba(dev.X)[:, 1]
        for t in THRESHOLDS:
            f1 = term_score(dev, probabilities >= t).f1
            grid[f"C={c} t={t}"] = round(f1, 4)
            if f1 > best[0]:
                best = (f1, c, t)
    return best[1], best[2], grid


def cross_validate(examples: Examples, c: float, threshold: float) -> tuple[Score, Score]:
    """``(filter, rules)`` exact term scores summed over :data:`FOLDS` folds grouped by review: the filter fitted on
    the other folds, the rules as they are."""
    filtered, rules = Score(), Score()
    for train_rows, held_rows in GroupKFold(FOLDS).split(examples.X, examples.y, examples.reviews):
        held = examples.subset(held_rows, 0)
        model = fit(examples.subset(train_rows, 0), c)
        keep = model.predict_proba(held.X)[:, 1] >= threshold
        filtered.add(int((keep & held.y).sum()), int(keep.sum()), 0)
        rules.add(int((held.rules & held.y).sum()), int(held.rules.sum()), 0)
    filtered.gold = rules.gold = examples.gold
    return filtered, rules


def extraction_speed(
    docs: Sequence[Doc], known_terms: set[str], aspect_filter: AspectFilter | None, repeats: int = 3
) -> float:
    """Sentences per second of :func:`nlp.analysis.aspects.extract_aspects` over parsed ``docs`` (parse not
    included), the best of ``repeats`` passes in CPU time of this process."""
    sentences = sum(1 for doc in docs for _ in doc.sents)
    best = float("inf")
    for _ in range(repeats):
        started = time.process_time()
        for doc in docs:
            extract_aspects(doc, known_terms, aspect_filter)
        best = min(best, time.process_time() - started)
    return sentences / best


def _speed_docs(preparer: TextPreparer, sentences: int, exclude: set[int]) -> list[Doc]:
    """Parsed clothing validation-split reviews, in id order, until they hold ``sentences`` sentences (none of the
    gold set's reviews, which are all train-split)."""
    frame = clothing_reviews()
    texts = frame[(frame["split"] == "validation") & ~frame["id"].isin(exclude)].sort_values("id")["text"]
    docs: list[Doc] = []
    for doc in preparer.parse([preparer.prepare(str(t))[0] for t in texts[: sentences // 3]]):
        docs.append(doc)
        if sum(1 for d in docs for _ in d.sents) >= sentences:
            break
    return docs


def train_aspects_artifact(
    version: str | None = None,
    out_dir: Path | None = None,
    models_dir: Path | None = None,
    gold_dir: Path = GOLD_DIR,
    command: str = "reviewpulse train aspects",
    speed_sentences: int = 500,
) -> dict:
    """Fit the filter on the gold train split, choose ``C`` and the threshold on dev, measure it and the rules
    (dev; grouped cross-validation on train) and the cost of extraction with and without it on
    ``speed_sentences`` clothing sentences; fit the polarity head on the registered sentiment model's encoder
    when it is a one-pass span model (``C`` by grouped cross-validation on train, dev measured beside the
    clause's own reading); write ``filter.json``, ``polarity.json``, ``metrics.json`` and ``MODEL_CARD.md``, and
    register the artifact as model ``aspects``.

    Returns:
        The metrics written to ``metrics.json``.

    Raises:
        FileNotFoundError: a gold split or the shared clothing reviews are missing.
        ValueError: as :func:`nlp.training.absa_eval.load_gold` and :func:`nlp.training.absa_eval.review_texts`.
    """
    models_dir = models_dir or nlp_settings().models_dir
    registry = Registry(models_dir)
    version = version or registry.next_version("aspects")
    out_dir = out_dir or models_dir / "aspects" / f"v{version}"
    embeddings = PhraseEmbeddings.load(registry.path("embeddings"))
    topics = registry.get("topics")
    topic_model = TopicModel.load(models_dir / topics.path)
    known_terms = {term for topic in topic_model.topics for term, _ in topic.terms}
    sentiment = registry.get("sentiment")
    encoder = load_sentiment_model(models_dir / sentiment.path)
    preparer, frame = TextPreparer(), clothing_reviews()
    splits: dict[str, Examples] = {}
    polar: dict[str, polarity_training.PolarityExamples] = {}
    for split in (TRAIN_SPLIT, "dev"):
        gold = load_gold(split, gold_dir)
        texts = review_texts(gold, frame, preparer)
        docs = dict(zip(texts, preparer.parse(list(texts.values())), strict=True))
        splits[split] = candidate_examples(gold, docs, known_terms, embeddings)
        if isinstance(encoder, SpanClassifier):
            polar[split] = polarity_training.polarity_examples(gold, texts, docs, encoder)
    train, dev = splits[TRAIN_SPLIT], splits["dev"]
    started = time.perf_counter()
    c, threshold, grid = choose(train, dev)
    model = fit(train, c)
    fit_seconds = time.perf_counter() - started
    payload = export(model, threshold, embeddings.vectors.vector_size)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / FILTER_FILE).write_text(json.dumps(payload) + "\n", encoding="utf-8")
    aspect_filter = AspectFilter.load(out_dir, embeddings)
    dev_filter = term_score(dev, model.predict_proba(dev.X)[:, 1] >= threshold)
    dev_rules = term_score(dev, dev.rules)
    cv_filter, cv_rules = cross_validate(train, c, threshold)
    speed_docs = _speed_docs(preparer, speed_sentences, set(train.reviews) | set(dev.reviews))
    speed = {
        "sentences": sum(1 for d in speed_docs for _ in d.sents),
        "rules_sentences_per_second": round(extraction_speed(speed_docs, known_terms, None), 1),
        "filter_sentences_per_second": round(extraction_speed(speed_docs, known_terms, aspect_filter), 1),
    }
    weights = sorted(zip(payload["features"], payload["coef"], strict=True), key=lambda kv: -abs(kv[1]))
    polarity = _train_polarity(polar, sentiment.version, out_dir) if polar else None
    metrics = {
        "train_candidates": len(train.y),
        "train_positives": int(train.y.sum()),
        "train_gold_terms": train.gold,
        "dev_candidates": len(dev.y),
        "dev_gold_terms": dev.gold,
        "dev_candidate_recall": round(dev.y.sum() / dev.gold, 4),
        "C": c,
        "threshold": threshold,
        "dev_term": dev_filter.to_dict(),
        "dev_term_rules": dev_rules.to_dict(),
        "train_cv_term": cv_filter.to_dict(),
        "train_cv_term_rules": cv_rules.to_dict(),
        **speed,
        "fit_seconds": round(fit_seconds, 1),
        "polarity": polarity,
    }
    (out_dir / "metrics.json").write_text(
        json.dumps({**metrics, "dev_grid": grid}, indent=2) + "\n", encoding="utf-8"
    )
    (out_dir / "MODEL_CARD.md").write_text(
        render_card(
            "aspects_card.md.j2",
            version=version,
            command=command,
            metrics=metrics,
            features=len(payload["features"]),
            weights=weights[:12],
            embeddings=registry.get("embeddings").version,
            topics=topics.version,
            sentiment=sentiment.version,
            date=datetime.now(UTC).date().isoformat(),
        ),
        encoding="utf-8",
    )
    registry.register(
        ModelEntry(
            "aspects",
            version,
            str(out_dir.relative_to(models_dir)),
            metrics={
                "dev_term_f1": metrics["dev_term"]["f1"],
                "dev_term_f1_rules": metrics["dev_term_rules"]["f1"],
                "train_cv_term_f1": metrics["train_cv_term"]["f1"],
                "train_cv_term_f1_rules": metrics["train_cv_term_rules"]["f1"],
                **(
                    {
                        "dev_polarity_accuracy": polarity["dev"],
                        "dev_polarity_accuracy_clause": polarity["dev_clause"],
                    }
                    if polarity
                    else {}
                ),
            },
        )
    )
    return metrics


def _train_polarity(
    examples: dict[str, polarity_training.PolarityExamples], sentiment_version: str, out_dir: Path
) -> dict:
    """Fit the polarity head on ``examples[TRAIN_SPLIT]`` (``C`` by grouped cross-validation), write
    ``polarity.json`` and return its figures: accuracy of the head and of the clause's own reading, on dev and
    cross-validated on train, per gold polarity on dev, and the grid."""
    train, dev = examples[TRAIN_SPLIT], examples["dev"]
    c, grid = polarity_training.choose(train)
    model = polarity_training.fit(train, c)
    head = polarity_training.export(model, sentiment_version)
    (out_dir / POLARITY_FILE).write_text(json.dumps(head.to_dict()) + "\n", encoding="utf-8")
    predicted = model.predict(dev.X)
    accuracy = lambda found, gold: round(float((found == gold).mean()), 4)  # noqa: E731
    return {
        "C": c,
        "train_targets": len(train.y),
        "dev_targets": len(dev.y),
        "train_cv": grid[f"C={c}"],
        "train_clause": accuracy(train.clause, train.y),
        "dev": accuracy(predicted, dev.y),
        "dev_clause": accuracy(dev.clause, dev.y),
        "dev_by_polarity": {
            label: {
                "targets": int((dev.y == label).sum()),
                "head": accuracy(predicted[dev.y == label], label),
                "clause": accuracy(dev.clause[dev.y == label], label),
            }
            for label in head.labels
        },
        "cv_grid": grid,
    }
