"""Customer-question intents: a fine-tuned classifier, a calibrated out-of-scope threshold, and entities.

The classifier is the same MiniLM + LoRA recipe as sentiment (:mod:`nlp.analysis.classifier`), trained with an
:data:`OUT_OF_SCOPE` class of off-topic questions where the data has one. Out-of-scope questions ("what's the
weather?") are those whose top intent's probability falls below a threshold (the maximum-softmax-probability
detector of Hendrycks & Gimpel 2017, "A Baseline for Detecting Misclassified and Out-of-Distribution
Examples"), chosen on natural dev questions (:func:`balanced_threshold`) or, for user data, on in-scope
validation questions (:func:`calibrate_threshold`). The threshold lives in ``intent.json`` beside the
classifier files.

:func:`evaluate_intents` measures a model as a support chat meets it: on labelled questions that mix the
intents with off-topic ones (:data:`NATURAL_SETS`, written the way shoppers write), the share of in-scope
questions answered with the right intent and not flagged, the share of off-topic ones flagged, and the
trade-off between the two over the threshold.
"""

from __future__ import annotations

import json
import re
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np
import pandas as pd

from nlp.analysis.analyzer import AnalysisError, prepare_input
from nlp.analysis.classifier import ClassifierConfig, Prediction, TextClassifier
from nlp.analysis.text import TextPreparer
from nlp.io.tables import FlatLayout, flat_id, read_frame

INTENT_FILE = "intent.json"
#: Share of in-scope validation questions the calibrated threshold may flag as out of scope, for user data
#: without natural dev questions. Low, because a validation split of templated data is easier than traffic.
TARGET_IN_SCOPE_FLAG_RATE = 0.01
OUT_OF_SCOPE_QUESTIONS = Path(__file__).parents[1] / "data" / "out_of_scope.txt"
#: The gold label of an off-topic question in labelled question files.
OUT_OF_SCOPE = "out_of_scope"
#: Support questions and off-topic ones written the way shoppers write (``nlp/data/intents_natural/README.md``):
#: ``natural-dev`` for model choice and threshold calibration, ``natural-test`` reported only.
NATURAL_SETS = {
    f"natural-{split}": Path(__file__).parents[1] / "data" / "intents_natural" / f"{split}.csv"
    for split in ("dev", "test")
}
#: Questions written the way shoppers write, for training only (``nlp/data/intents_train/README.md``).
TRAINING_QUESTIONS = Path(__file__).parents[1] / "data" / "intents_train" / "train.csv"
#: Out-of-scope thresholds at which :func:`evaluate_intents` draws the trade-off curve.
CURVE_THRESHOLDS = tuple(round(0.05 * k, 2) for k in range(1, 20))


def out_of_scope_questions(path: Path = OUT_OF_SCOPE_QUESTIONS) -> list[str]:
    """The hand-written off-topic questions (comment lines starting with ``#`` skipped)."""
    lines = (line.strip() for line in path.read_text(encoding="utf-8").splitlines())
    return [line for line in lines if line and not line.startswith("#")]


def labelled_questions(path: Path) -> pd.DataFrame:
    """A labelled question file (CSV, JSONL or Parquet, by suffix) as a frame of ``text`` (str), ``intent``
    (str: an intent name or :data:`OUT_OF_SCOPE`) and ``near_miss`` (bool; a cell of 1, true or yes marks an
    off-topic question close to the shop's business; all False when the file has no such column).

    Raises:
        FileNotFoundError: no such file.
        ValueError: an unknown suffix, the ``text`` or ``intent`` column is missing, or a row has no text or
            no intent.
    """
    if not Path(path).exists():
        raise FileNotFoundError(f"question file {path} does not exist")
    frame = read_frame(Path(path))
    missing = [col for col in ("text", "intent") if col not in frame.columns]
    if missing:
        raise ValueError(
            f"{path}: column(s) {', '.join(missing)} not found; available columns: "
            f"{', '.join(map(str, frame.columns))}"
        )
    out = frame[["text", "intent"]].fillna("").astype(str)
    if ((out["text"].str.strip() == "") | (out["intent"].str.strip() == "")).any():
        raise ValueError(
            f"{path}: every row needs a text and an intent ({OUT_OF_SCOPE!r} for off-topic ones)"
        )
    flags = frame["near_miss"] if "near_miss" in frame.columns else pd.Series("", index=frame.index)
    out["near_miss"] = [str(v).strip().lower() in ("1", "1.0", "true", "yes") for v in flags]
    return out


def _share(mask: np.ndarray) -> float | None:
    return round(float(mask.mean()), 4) if len(mask) else None


def evaluate_intents(
    clf: IntentClassifier, questions: pd.DataFrame, thresholds: Sequence[float] = CURVE_THRESHOLDS
) -> dict:
    """Measure ``clf`` on labelled questions as the answer service uses it (:meth:`IntentClassifier.predict`).

    Args:
        questions: N rows of ``text``, ``intent`` (one of ``clf.labels`` or :data:`OUT_OF_SCOPE`) and
            ``near_miss`` (bool), as :func:`labelled_questions` reads them.
        thresholds: out-of-scope thresholds of the trade-off curve (confidence below one = flagged).

    Returns:
        ``{"questions", "in_scope", "off_topic", "near_miss"}`` counts; at the model's own ``threshold``:
        ``in_scope_correct`` (share of in-scope questions given the right intent and not flagged),
        ``in_scope_flagged``, ``top1_accuracy`` (right intent, flag ignored), ``off_topic_flagged``,
        ``near_miss_flagged``; ``per_intent`` ``{intent: {"n", "correct", "top1"}}``; ``curve``, one
        ``{"threshold", "in_scope_correct", "off_topic_flagged", "near_miss_flagged"}`` per threshold; and
        ``questions_per_second`` of the prediction (batched). Shares are rounded to 4 places, None over no
        questions.

    Raises:
        ValueError: no questions, or a gold intent is neither an intent of ``clf`` nor :data:`OUT_OF_SCOPE`
            (a typo would otherwise count as a miss).
    """
    if questions.empty:
        raise ValueError("no questions to evaluate")
    gold = questions["intent"].to_numpy(dtype=object)
    unknown = sorted(set(gold) - set(clf.labels) - {OUT_OF_SCOPE})
    if unknown:
        raise ValueError(f"unknown intents {unknown}; the model knows {clf.labels} and {OUT_OF_SCOPE!r}")
    started = time.perf_counter()
    results = clf.predict(questions["text"].tolist(), top_k=1)
    seconds = time.perf_counter() - started
    top1 = np.array([r.intent for r in results], dtype=object) == gold
    flagged = np.array([r.out_of_scope for r in results])
    confidence = np.array([r.confidence for r in results])
    inside, outside = gold != OUT_OF_SCOPE, gold == OUT_OF_SCOPE
    near = questions["near_miss"].to_numpy(dtype=bool) & outside
    curve = [
        {
            "threshold": float(t),
            "in_scope_correct": _share((top1 & (confidence >= t))[inside]),
            "off_topic_flagged": _share((confidence < t)[outside]),
            "near_miss_flagged": _share((confidence < t)[near]),
        }
        for t in thresholds
    ]
    return {
        "questions": len(gold),
        "in_scope": int(inside.sum()),
        "off_topic": int(outside.sum()),
        "near_miss": int(near.sum()),
        "threshold": clf.threshold,
        "in_scope_correct": _share((top1 & ~flagged)[inside]),
        "in_scope_flagged": _share(flagged[inside]),
        "top1_accuracy": _share(top1[inside]),
        "off_topic_flagged": _share(flagged[outside]),
        "near_miss_flagged": _share(flagged[near]),
        "per_intent": {
            intent: {
                "n": int((gold == intent).sum()),
                "correct": _share((top1 & ~flagged)[gold == intent]),
                "top1": _share(top1[gold == intent]),
            }
            for intent in sorted(set(gold) - {OUT_OF_SCOPE})
        },
        "curve": curve,
        "questions_per_second": round(len(gold) / seconds, 1) if seconds else None,
    }


def calibrate_threshold(
    in_scope_confidence: Sequence[float], flag_rate: float = TARGET_IN_SCOPE_FLAG_RATE
) -> float:
    """The confidence below which ``flag_rate`` of these in-scope questions fall (their ``flag_rate`` quantile)."""
    if not len(in_scope_confidence):
        raise ValueError("cannot calibrate the out-of-scope threshold without validation questions")
    return round(float(np.quantile(np.asarray(in_scope_confidence), flag_rate)), 4)


def balanced_threshold(curve: Sequence[dict]) -> float:
    """The threshold of a trade-off ``curve`` (:func:`evaluate_intents`) at which the worse of its two goals,
    in-scope questions right and unflagged and off-topic questions flagged, is best (the lower one on ties).

    Raises:
        ValueError: an empty curve.
    """
    if not curve:
        raise ValueError("cannot choose an out-of-scope threshold from an empty curve")
    best = max(curve, key=lambda p: (min(p["in_scope_correct"], p["off_topic_flagged"]), -p["threshold"]))
    return float(best["threshold"])


@dataclass
class IntentScore:
    """One intent and its probability (0..1)."""

    name: str
    confidence: float


@dataclass
class IntentResult:
    """The decided intent of one question, its confidence, the top-k ranking and the out-of-scope flag."""

    intent: str
    confidence: float
    out_of_scope: bool
    ranking: list[IntentScore]
    model_version: str
    truncated: bool = False

    def to_dict(self) -> dict:
        """The ``reviewpulse intent`` record body: ``intent, confidence, out_of_scope, model_version``."""
        body = {k: v for k, v in asdict(self).items() if k not in ("ranking", "truncated")}
        return body | ({"truncated": True} if self.truncated else {})


class ProbabilisticClassifier(Protocol):
    """What :class:`IntentClassifier` needs of a classifier: :class:`~nlp.analysis.classifier.TextClassifier` is one."""

    @property
    def labels(self) -> list[str]: ...

    @property
    def config(self) -> ClassifierConfig: ...

    def predict(self, texts: Sequence[str]) -> Prediction: ...


class IntentClassifier:
    """A fine-tuned intent classifier with its out-of-scope threshold, loaded from an artifact folder.

    Example::

        clf = IntentClassifier.load(Path("models/intent/v2"))
        [result] = clf.predict(["where is my order 12345?"])   # result.intent == "track_order"

    Raises:
        FileNotFoundError: ``folder`` is not an intent artifact.
    """

    def __init__(self, classifier: ProbabilisticClassifier, threshold: float) -> None:
        self.classifier = classifier
        self.threshold = threshold
        self.preparer = TextPreparer()

    @classmethod
    def load(cls, folder: Path) -> IntentClassifier:
        folder = Path(folder)
        if not (folder / INTENT_FILE).exists():
            raise FileNotFoundError(f"{folder} is not an intent model (no {INTENT_FILE}); train one first")
        threshold = json.loads((folder / INTENT_FILE).read_text())["out_of_scope_threshold"]
        return cls(TextClassifier.load(folder), float(threshold))

    @property
    def labels(self) -> list[str]:
        """The support intents (an :data:`OUT_OF_SCOPE` training class, if the model has one, left out)."""
        return [name for name in self.classifier.labels if name != OUT_OF_SCOPE]

    @property
    def model_version(self) -> str:
        return f"intent-v{self.classifier.config.model_version}"

    def predict(self, texts: Sequence[str], top_k: int = 5) -> list[IntentResult]:
        """Classify prepared question texts; ``ranking`` holds the ``top_k`` most probable intents.

        A model trained with an :data:`OUT_OF_SCOPE` class never names it: its probability is simply not
        any intent's, so off-topic questions get a low confidence and fall below the threshold.
        """
        pred = self.classifier.predict(list(texts))
        names = self.classifier.labels
        intents = np.array([k for k, name in enumerate(names) if name != OUT_OF_SCOPE])
        results = []
        for probs, truncated in zip(pred.probabilities, pred.truncated, strict=True):
            order = intents[np.argsort(-probs[intents])][:top_k]
            ranking = [IntentScore(names[k], round(float(probs[k]), 4)) for k in order]
            top = ranking[0]
            out_of_scope = float(probs[order[0]]) < self.threshold
            results.append(
                IntentResult(top.name, top.confidence, out_of_scope, ranking, self.model_version, truncated)
            )
        return results

    def analyze(self, texts: Sequence[object], top_k: int = 5) -> list[IntentResult | AnalysisError]:
        """Like :meth:`predict` for raw input values: unusable ones yield an :class:`AnalysisError` in place."""
        prepared = [prepare_input(self.preparer, raw) for raw in texts]
        ok = [p[0] for p in prepared if not isinstance(p, AnalysisError)]
        predicted = iter(self.predict(ok, top_k))
        return [p if isinstance(p, AnalysisError) else next(predicted) for p in prepared]


@dataclass
class EntityMention:
    """An entity found in a question: ``type`` (e.g. ``order_id``), its ``value``, character offset and length."""

    type: str
    value: str
    offset: int
    length: int


_ID = r"#?[A-Za-z0-9][A-Za-z0-9-]*\d[A-Za-z0-9-]*"
_PATTERNS = {
    "invoice_id": re.compile(
        rf"\b(?:invoice|bill|receipt)s?\s+(?:(?:number|no\.?|id)\s*)?[:#]?\s*({_ID})", re.I
    ),
    "order_id": re.compile(
        rf"\b(?:order|purchase)s?\s+(?:(?:number|no\.?|id)\s*)?[:#]?\s*({_ID})|(?<![\w#$€£.])(\d{{6,}})\b"
        r"|(?<![\w&#])#(?=[A-Za-z0-9]{4})([A-Za-z0-9]*\d[A-Za-z0-9-]*)",
        re.I,
    ),
    "refund_amount": re.compile(
        r"([$€£]\s?\d[\d,]*(?:\.\d{1,2})?|\b\d[\d,]*(?:\.\d{1,2})?\s?(?:dollars|euros|pounds|usd|eur|gbp)\b)",
        re.I,
    ),
    "person_name": re.compile(r"\b((?:Mr|Mrs|Ms|Miss|Dr)\.?\s+[A-Z][a-z]+(?:\s+[A-Z][a-z]+)?)"),
    "account_type": re.compile(
        r"\b(free|freemium|standard|basic|pro|premium|platinum|gold|business|personal)\b(?=\s+(?:account|plan|profile|user))",
        re.I,
    ),
}
_SPACY_TYPES = {"GPE": "location", "PERSON": "person_name"}


def extract_entities(text: str, preparer: TextPreparer | None = None) -> list[EntityMention]:
    """Order and invoice numbers, amounts and account types by pattern; places and names by spaCy NER.

    Offsets index ``text``. An order number is one after "order" / "purchase", any run of six or more
    digits, or an id after a ``#`` that starts with four letters or digits and holds a digit ("my ordr
    #A12345": :mod:`nlp.analysis.pii` too reads a number after ``#`` as an order's), that is not already an
    invoice number. Returns mentions sorted by offset, without overlaps.

    The patterns are character regexes rather than a spaCy ``EntityRuler``: a ruler labels whole token
    spans, while the value here is a part of the match (the id after "order number:", the plan before
    "account"), must not follow a ``#`` or a currency sign, and can cross token boundaries (spaCy splits
    ``INV-2024-0042`` into three tokens).
    """
    found: list[EntityMention] = []
    taken: list[range] = []
    for kind, pattern in _PATTERNS.items():
        for match in pattern.finditer(text):
            group = next(g for g in range(1, (match.lastindex or 0) + 1) if match.group(g))
            start, end = match.span(group)
            if any(start < r.stop and r.start < end for r in taken):
                continue
            taken.append(range(start, end))
            found.append(EntityMention(kind, match.group(group).lstrip("#"), start, end - start))
    if preparer is not None:
        for ent in preparer.nlp(text).ents:
            label = _SPACY_TYPES.get(ent.label_)
            if label and not any(ent.start_char < r.stop and r.start < ent.end_char for r in taken):
                found.append(EntityMention(label, ent.text, ent.start_char, len(ent.text)))
    return sorted(found, key=lambda e: e.offset)


def _flat_intent(record: dict) -> dict:
    error = record.get("error") or {}
    return {
        "id": flat_id(record["id"]),
        **{k: record.get(k) for k in ("intent", "confidence", "out_of_scope", "model_version")},
        "truncated": bool(record.get("truncated", False)),
        "error_code": error.get("code"),
        "error_message": error.get("message"),
    }


INTENT_LAYOUT = FlatLayout(
    [
        "id",
        "intent",
        "confidence",
        "out_of_scope",
        "model_version",
        "truncated",
        "error_code",
        "error_message",
    ],
    _flat_intent,
    floats=frozenset({"confidence"}),
    bools=frozenset({"out_of_scope", "truncated"}),
)


@dataclass
class IntentSummary:
    """Counts over a ``reviewpulse intent`` run: rows, errors by code, intents, out-of-scope questions."""

    rows: int = 0
    errors: Counter = field(default_factory=Counter)
    intents: Counter = field(default_factory=Counter)
    out_of_scope: int = 0

    def add(self, record: dict) -> None:
        self.rows += 1
        if "error" in record:
            self.errors[record["error"]["code"]] += 1
        elif record["out_of_scope"]:
            self.out_of_scope += 1
        else:
            self.intents[record["intent"]] += 1

    def render(self) -> str:
        errors = sum(self.errors.values())
        lines = [
            f"rows: {self.rows}  classified: {self.rows - errors}  errors: {errors} {dict(self.errors) or ''}"
        ]
        lines.append(f"out of scope: {self.out_of_scope}")
        if self.intents:
            lines.append("top intents: " + "; ".join(f"{k} ({n})" for k, n in self.intents.most_common(5)))
        return "\n".join(lines)
