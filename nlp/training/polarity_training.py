"""Training the aspect polarity head (:mod:`nlp.analysis.aspect_polarity`) on the ABSA gold set.

An example is a gold opinion target with its polarity: an explicit aspect term (its :func:`term_polarity`, as
:func:`nlp.training.absa_eval.evaluate` scores it) or an implicit target (placed at its first opinion term), read
through the clause it lies in (:func:`nlp.analysis.aspects.sentiment_spans`, :func:`nlp.analysis.aspects.span_at`;
the document when it lies in none), as :class:`nlp.analysis.analyzer.Analyzer` reads an aspect. ``conflict`` targets are left out: the head has no
such class. The feature is the clause's mean-pooled state of the one-pass sentiment encoder
(:meth:`nlp.analysis.span_classifier.SpanClassifier.predict_spans`). ``C`` is chosen by cross-validation grouped
by review on the train split; dev is measured, test is not read.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GroupKFold
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler
from spacy.tokens import Doc

from nlp.analysis.aspect_polarity import AspectPolarity
from nlp.analysis.aspects import sentiment_spans, span_at
from nlp.analysis.span_classifier import SpanClassifier
from nlp.training.absa_eval import GoldSentence, gold_terms

#: Inverse regularisation strengths tried by grouped cross-validation on train.
C_GRID = (0.003, 0.01, 0.03, 0.1, 0.3)
#: Folds of that cross-validation.
FOLDS = 5


@dataclass
class PolarityExamples:
    """Gold targets of a split: clause states ``X`` ``(n, H)``, gold polarity ``y`` ``(n,)`` (label strings),
    the sentiment model's own reading of the clause ``clause`` ``(n,)`` (the baseline) and ``reviews`` ``(n,)``
    (for grouped folds)."""

    X: np.ndarray
    y: np.ndarray
    clause: np.ndarray
    reviews: np.ndarray


def polarity_examples(
    gold: Sequence[GoldSentence], texts: dict[int, str], docs: dict[int, Doc], model: SpanClassifier
) -> PolarityExamples:
    """The gold targets of ``gold`` (``texts``: review id -> prepared text, ``docs`` its parse) with the state and
    reading of their clause by ``model``."""
    targets: dict[int, list[tuple[int, str]]] = {}
    for s in gold:
        places = [(a, polarity) for (a, _), polarity in gold_terms(s)]
        places += [(a.opinions[0][0], a.polarity) for a in s.aspects if a.target is None and a.opinions]
        targets.setdefault(s.review_id, []).extend(
            (s.offset + a, polarity) for a, polarity in places if polarity != "conflict"
        )
    reviews = [r for r in texts if targets.get(r)]
    spans = []
    for review_id in reviews:
        document = (0, len(texts[review_id]))
        clauses = sentiment_spans(docs[review_id])[1]
        spans.append([span_at(clauses, at, document) for at, _ in targets[review_id]])
    predictions = model.predict_spans([texts[r] for r in reviews], spans)
    states = [p.states for p in predictions]
    assert all(s is not None for s in states)
    return PolarityExamples(
        np.concatenate(states),  # type: ignore[arg-type]
        np.array([polarity for r in reviews for _, polarity in targets[r]]),
        np.array([label for p in predictions for label in p.labels]),
        np.array([r for r in reviews for _ in targets[r]]),
    )


def fit(examples: PolarityExamples, c: float, rows: np.ndarray | slice = slice(None)) -> Pipeline:
    """``StandardScaler`` + multinomial ``LogisticRegression(C=c)`` fitted on ``examples`` (its ``rows``)."""
    model = make_pipeline(StandardScaler(), LogisticRegression(C=c, max_iter=5000))
    return model.fit(examples.X[rows], examples.y[rows])


def cross_validate(examples: PolarityExamples, c: float) -> np.ndarray:
    """Each example's label by a head fitted on the other :data:`FOLDS` folds, grouped by review: ``(n,)``."""
    predicted = np.empty_like(examples.y)
    for train_rows, held in GroupKFold(FOLDS).split(examples.X, examples.y, examples.reviews):
        predicted[held] = fit(examples, c, train_rows).predict(examples.X[held])
    return predicted


def choose(train: PolarityExamples) -> tuple[float, dict[str, float]]:
    """``(C, {"C=<c>": accuracy})``: the :data:`C_GRID` value with the best grouped cross-validated accuracy on
    ``train`` (ties: the stronger regularisation)."""
    grid = {f"C={c}": round(float((cross_validate(train, c) == train.y).mean()), 4) for c in C_GRID}
    best = max(C_GRID, key=lambda c: grid[f"C={c}"])
    return best, grid


def export(model: Pipeline, sentiment_version: str) -> AspectPolarity:
    """The :class:`AspectPolarity` of a fitted :func:`fit` pipeline, for the encoder of ``sentiment_version``."""
    scaler, regression = model.named_steps["standardscaler"], model.named_steps["logisticregression"]
    return AspectPolarity(
        [str(label) for label in regression.classes_],
        sentiment_version,
        scaler.mean_,
        scaler.scale_,
        regression.coef_,
        regression.intercept_,
    )
