"""Aspect polarity: how a review judges an aspect, read from its clause's pooled encoder state by a head trained
on aspect-level labels.

The sentiment model's span head was trained on whole texts and sentences, so a clause that criticises one aspect
("the sleeves are a little long") often reads neutral: the text around it is praise, or the criticism is mild.
This head is a logistic regression on the same frozen one-pass encoder's mean-pooled clause state (the
feature-based use of a pretrained encoder, Devlin et al. 2019, "BERT", section 5.3), fitted on the ABSA gold set's
aspect polarities (``reviewpulse train aspects``, :mod:`nlp.training.aspect_training`). It is stored beside the
aspect-term filter as ``polarity.json`` (standardisation, coefficients and the sentiment model version whose
encoder it reads), so applying it needs numpy only and no encoder pass of its own.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

POLARITY_FILE = "polarity.json"


@dataclass(frozen=True)
class AspectPolarity:
    """A multinomial logistic regression over pooled clause states ``(n, H)``: ``mean`` / ``scale`` standardise
    them (scikit-learn's ``StandardScaler``), ``coef`` ``(C, H)`` and ``intercept`` ``(C,)`` are the model's
    (``LogisticRegression``), one row per label of ``labels``. ``sentiment_version`` is the sentiment model whose
    encoder states it was fitted on; any other encoder's states mean nothing to it."""

    labels: list[str]
    sentiment_version: str
    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray
    intercept: np.ndarray

    def probabilities(self, states: np.ndarray) -> np.ndarray:
        """The probability of each label for each clause state: ``(n, H)`` -> ``(n, len(labels))``, rows sum to 1."""
        logits = ((states - self.mean) / self.scale) @ self.coef.T + self.intercept
        logits -= logits.max(1, keepdims=True)
        probs = np.exp(logits)
        return probs / probs.sum(1, keepdims=True)

    def to_dict(self) -> dict:
        """The ``polarity.json`` payload (read back by :meth:`load`)."""
        return {
            "labels": self.labels,
            "sentiment_version": self.sentiment_version,
            **{key: getattr(self, key).tolist() for key in ("mean", "scale", "coef", "intercept")},
        }

    @classmethod
    def load(cls, folder: Path) -> AspectPolarity | None:
        """The head in ``folder/polarity.json``; None when the folder holds none (an artifact of the filter alone).

        Raises:
            ValueError: its shapes do not agree (a damaged file).
        """
        path = folder / POLARITY_FILE
        if not path.exists():
            return None
        payload = json.loads(path.read_text(encoding="utf-8"))
        arrays = {
            key: np.asarray(payload[key], dtype=np.float64) for key in ("mean", "scale", "coef", "intercept")
        }
        if arrays["coef"].shape != (len(payload["labels"]), len(arrays["mean"])) or arrays[
            "intercept"
        ].shape != (len(payload["labels"]),):
            raise ValueError(f"{path}: coefficients do not match its labels and state size; retrain it")
        return cls(list(payload["labels"]), str(payload["sentiment_version"]), **arrays)
