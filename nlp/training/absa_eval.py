"""Aspect-based sentiment analysis (ABSA) measured on a gold set annotated here: the set's format and its
reproducible sample, the metrics, and the two systems measured (today's aspects and a noun-chunk baseline).

Conventions follow SemEval-2014 Task 4 (Pontiki et al. 2014, "SemEval-2014 Task 4: Aspect Based Sentiment
Analysis", SemEval) for aspect terms (explicit opinion targets with character offsets) and their polarity
(positive / negative / neutral / conflict), and SemEval-2016 Task 5 (Pontiki et al. 2016, "SemEval-2016 Task
5: Aspect Based Sentiment Analysis") for opinion tuples of target, aspect category and polarity, where an
implicit target is NULL ("Runs small." -> fit/size, target None). Each tuple also lists its opinion terms,
as target-oriented opinion word extraction annotates them (Fan et al. 2019, "Target-oriented Opinion Words
Extraction with Target-fused Neural Sequence Labeling", NAACL). Guidelines and counts:
``nlp/data/absa_gold/README.md``.

All spans are ``(start, end)`` character offsets into one sentence's text, end exclusive (SemEval's
``from`` / ``to``).
"""

from __future__ import annotations

import itertools
import json
import random
import re
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import pandas as pd

from nlp.analysis.aspects import sentiment_spans
from nlp.analysis.categories import CATEGORIES
from nlp.analysis.text import TextPreparer

if TYPE_CHECKING:
    from nlp.analysis.analyzer import Analyzer

GOLD_DIR = Path(__file__).parents[1] / "data" / "absa_gold"
#: The splits :func:`sample_sentences` draws, on which systems are measured.
GOLD_SPLITS = ("dev", "test")
#: The split of sentences annotated to train on (:func:`train_sentences`), drawn after the measured ones.
TRAIN_SPLIT = "train"
#: How many reviews of the draw :func:`sample_sentences` took for dev and test (draw positions 0..68); the train
#: split's reviews come next in the same draw.
MEASURED_REVIEWS = 69
POLARITIES = ("positive", "negative", "neutral", "conflict")


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


#: The category-mapping baseline: per category of the gold set (:data:`nlp.analysis.categories.CATEGORIES`), the head
#: words (lemmas, lower case) it reads as that category. The words were written from the definitions by the
#: annotator of the gold set, after annotating, so the mapping's figures are optimistic.
CATEGORY_SEEDS: dict[str, frozenset[str]] = {
    "fit/size": _words(
        "fit size sizing length waist waistline bust chest hip hips shoulder torso inseam rise armhole"
    ),
    "fabric/material": _words(
        "fabric material cotton wool linen silk knit lining texture weight polyester rayon fiber"
    ),
    "colour": _words("color colour shade tone hue white black red blue navy green pink grey gray"),
    "quality/durability": _words(
        "quality stitching seam craftsmanship craftmanship construction workmanship thread"
    ),
    "comfort": _words("comfort"),
    "style/look": _words(
        "style look design pattern print cut detail neckline neck collar sleeve pocket embroidery shape "
        "silhouette drape flow button zipper hemline hem"
    ),
    "price/value": _words("price value cost deal sale money"),
    "delivery": _words("delivery shipping package packaging box arrival"),
    "service": _words("service staff return exchange store"),
    "general": _words(
        "dress top shirt blouse sweater skirt jacket coat pant pants jean jeans tunic cardigan romper "
        "jumpsuit legging leggings product brand"
    ),
}
CATEGORY_OF_HEAD = {word: category for category, words in CATEGORY_SEEDS.items() for word in words}

#: The goals of issue 27 on the test split.
GOALS = {"term_f1": 0.75, "polarity_accuracy": 0.85}

Span = tuple[int, int]
_WORD = re.compile(r"\w+")


@dataclass(frozen=True)
class OpinionTuple:
    """One gold opinion: ``target`` span (None: implicit, SemEval-2016's NULL), aspect ``category`` (one of
    :data:`CATEGORIES`), ``polarity`` (one of :data:`POLARITIES`) and the ``opinions`` spans about it."""

    target: Span | None
    category: str
    polarity: str
    opinions: tuple[Span, ...] = ()


@dataclass(frozen=True)
class GoldSentence:
    """A sentence of a clothing review: ``id`` ``"<review_id>-<index>"``, ``review_id`` (the dataset's row
    index), ``index`` (the sentence's place in the review), ``offset`` (its start in the prepared review
    text), ``text``, the review's star ``rating`` and its opinion tuples."""

    id: str
    review_id: int
    index: int
    offset: int
    text: str
    rating: int
    aspects: tuple[OpinionTuple, ...] = ()


@dataclass(frozen=True)
class PredictedAspect:
    """A system's aspect term: ``target`` span, ``polarity`` (negative / neutral / positive), ``opinions``
    spans, ``head`` (the lemma of its head word, lower case) for the category mapping, and the system's own
    aspect ``category`` (None: it gives none). ``implicit``: an opinion without a named target (``target`` is
    then the opinion's span, which places it in its sentence); it counts for aspect categories only."""

    target: Span
    polarity: str
    opinions: tuple[Span, ...]
    head: str
    category: str | None = None
    implicit: bool = False


# -- the gold set --------------------------------------------------------------------------------------


def sample_sentences(
    frame: pd.DataFrame,
    preparer: TextPreparer,
    sentences: int = 430,
    seed: int = 27,
    pool: int = 200,
    dev_share: float = 0.4,
) -> dict[str, list[GoldSentence]]:
    """The unannotated sentences of the gold set, ``{"dev": [...], "test": [...]}``, as they were drawn.

    ``frame`` is :func:`nlp.training.datasets.clothing_reviews`. ``pool`` review ids are drawn with
    ``random.Random(seed).sample`` from the train-split ids in ascending order; in draw order, every
    sentence of a review (its prepared text split as the analyzer splits it,
    :func:`nlp.analysis.aspects.sentiment_spans`) is taken until there are at least ``sentences``. Reviews go to dev,
    in draw order, until dev holds ``dev_share`` of the sentences; the rest go to test, so no review is in
    both.
    """
    reviews: list[list[GoldSentence]] = []
    for review in _drawn_reviews(frame, preparer, seed, pool):
        reviews.append(review)
        if sum(map(len, reviews)) >= sentences:
            break
    total = sum(map(len, reviews))
    out: dict[str, list[GoldSentence]] = {"dev": [], "test": []}
    for review in reviews:
        out["dev" if len(out["dev"]) < dev_share * total else "test"].extend(review)
    return out


def train_sentences(
    frame: pd.DataFrame,
    preparer: TextPreparer,
    first: int = MEASURED_REVIEWS,
    reviews: int = 131,
    seed: int = 27,
    pool: int = 200,
) -> list[GoldSentence]:
    """The unannotated sentences of the train split: every sentence of the reviews at draw positions ``first`` ..
    ``first + reviews - 1`` of :func:`sample_sentences`' draw (the same ``seed`` and ``pool``), in draw order, so
    no review is in dev or test. The defaults are the annotated train split: positions 69..199, the rest of the
    pool."""
    drawn = itertools.islice(_drawn_reviews(frame, preparer, seed, pool), first, first + reviews)
    return [sentence for review in drawn for sentence in review]


def _drawn_reviews(
    frame: pd.DataFrame, preparer: TextPreparer, seed: int, pool: int
) -> Iterator[list[GoldSentence]]:
    """Every sentence of each of ``pool`` train-split reviews drawn with ``random.Random(seed).sample`` from the
    ids in ascending order, one list per review in draw order (see :func:`sample_sentences`)."""
    train = frame[frame["split"] == "train"].sort_values("id").set_index("id")
    drawn = random.Random(seed).sample(list(train.index), pool)
    texts, ratings = train["text"].astype(str).to_dict(), train["rating"].astype(int).to_dict()
    for review_id in drawn:
        text, _ = preparer.prepare(texts[review_id])
        bounds, _ = sentiment_spans(next(preparer.parse([text])))
        yield [
            GoldSentence(f"{review_id}-{k}", int(review_id), k, a, text[a:b], ratings[review_id])
            for k, (a, b) in enumerate(bounds)
        ]


def load_gold(split: str, gold_dir: Path = GOLD_DIR) -> list[GoldSentence]:
    """The gold sentences of ``split`` (``dev``, ``test`` or ``train``) from ``gold_dir/<split>.jsonl``.

    A line is ``{"id", "review_id", "sentence", "offset", "text", "rating", "aspects": [{"target", "from",
    "to", "category", "polarity", "opinions": [{"text", "from", "to"}]}]}`` (``target``, ``from``, ``to``
    null for an implicit target).

    Raises:
        ValueError: an unknown split, or a line whose category or polarity is not in the documented set or
            whose ``text[from:to]`` is not the span's text (the message names the file and line).
        FileNotFoundError: the file is missing.
    """
    if split not in (*GOLD_SPLITS, TRAIN_SPLIT):
        raise ValueError(f"split must be one of {(*GOLD_SPLITS, TRAIN_SPLIT)}, got {split!r}")
    path = gold_dir / f"{split}.jsonl"
    out = []
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, 1):
            try:
                out.append(_gold_sentence(json.loads(line)))
            except (ValueError, KeyError) as exc:
                raise ValueError(f"{path}:{number}: {exc}") from exc
    return out


def _span(text: str, item: dict, key: str) -> Span:
    start, end = item["from"], item["to"]
    if not (0 <= start < end <= len(text)) or text[start:end] != item[key]:
        raise ValueError(f"{key} {item[key]!r} is not text[{start}:{end}] of {text!r}")
    return start, end


def _gold_sentence(row: dict) -> GoldSentence:
    text, aspects = row["text"], []
    for a in row["aspects"]:
        if a["category"] not in CATEGORIES or a["polarity"] not in POLARITIES:
            raise ValueError(f"unknown category or polarity: {a['category']!r}, {a['polarity']!r}")
        target = None if a["target"] is None else _span(text, a, "target")
        opinions = tuple(_span(text, o, "text") for o in a["opinions"])
        aspects.append(OpinionTuple(target, a["category"], a["polarity"], opinions))
    return GoldSentence(
        row["id"], row["review_id"], row["sentence"], row["offset"], text, row["rating"], tuple(aspects)
    )


def gold_record(sentence: GoldSentence) -> dict:
    """The JSONL record of ``sentence`` (the inverse of :func:`load_gold`'s reading of a line)."""

    def span(s: Span, key: str) -> dict:
        return {key: sentence.text[s[0] : s[1]], "from": s[0], "to": s[1]}

    aspects = [
        {
            **(span(a.target, "target") if a.target else {"target": None, "from": None, "to": None}),
            "category": a.category,
            "polarity": a.polarity,
            "opinions": [span(o, "text") for o in a.opinions],
        }
        for a in sentence.aspects
    ]
    return {
        "id": sentence.id,
        "review_id": sentence.review_id,
        "sentence": sentence.index,
        "offset": sentence.offset,
        "text": sentence.text,
        "rating": sentence.rating,
        "aspects": aspects,
    }


# -- metrics -------------------------------------------------------------------------------------------


@dataclass
class Score:
    """Micro-averaged counts: ``true_positives`` matched, ``predicted`` and ``gold`` items."""

    true_positives: int = 0
    predicted: int = 0
    gold: int = 0

    @property
    def precision(self) -> float:
        return self.true_positives / self.predicted if self.predicted else 0.0

    @property
    def recall(self) -> float:
        return self.true_positives / self.gold if self.gold else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def add(self, true_positives: int, predicted: int, gold: int) -> None:
        self.true_positives += true_positives
        self.predicted += predicted
        self.gold += gold

    def to_dict(self) -> dict:
        return {
            "precision": round(self.precision, 4),
            "recall": round(self.recall, 4),
            "f1": round(self.f1, 4),
            "true_positives": self.true_positives,
            "predicted": self.predicted,
            "gold": self.gold,
        }


def head_word(text: str, span: Span) -> Span:
    """The span of the last word in ``text[span]`` (the head of an English noun phrase: ``back zipper`` ->
    ``zipper``); ``span`` itself when it holds no word character."""
    words = list(_WORD.finditer(text, span[0], span[1]))
    return (words[-1].start(), words[-1].end()) if words else span


def spans_match(text: str, gold: Span, predicted: Span, lenient: bool = False) -> bool:
    """Exact: the same offsets. Lenient (head-word match): the spans overlap and end in the same word
    (``the zipper`` / ``zipper`` / ``back zipper`` match; ``fabric`` / ``fabric quality`` do not)."""
    if not lenient:
        return gold == predicted
    overlap = gold[0] < predicted[1] and predicted[0] < gold[1]
    return overlap and head_word(text, gold) == head_word(text, predicted)


def pairs_match(
    text: str, gold: tuple[Span, Span], predicted: tuple[Span, Span], lenient: bool = False
) -> bool:
    """Two (target, opinion) pairs match when their targets and their opinions do (:func:`spans_match`)."""
    return spans_match(text, gold[0], predicted[0], lenient) and spans_match(
        text, gold[1], predicted[1], lenient
    )


T = TypeVar("T")


def match(gold: Sequence[T], predicted: Sequence[T], same: Callable[[T, T], bool]) -> list[tuple[int, int]]:
    """One-to-one matching, greedy in order: each gold item takes the first unmatched predicted item it is
    ``same`` as. Returns ``(gold index, predicted index)`` pairs, so a duplicate prediction counts once."""
    taken: set[int] = set()
    pairs = []
    for g, gold_item in enumerate(gold):
        p = next((p for p, item in enumerate(predicted) if p not in taken and same(gold_item, item)), None)
        if p is not None:
            taken.add(p)
            pairs.append((g, p))
    return pairs


def term_polarity(polarities: Iterable[str]) -> str:
    """The polarity of an aspect term that several tuples share (SemEval-2014 keeps one per term): neutral
    gives way to an opinion; positive with negative, or any conflict, is ``conflict``."""
    found = set(polarities)
    if "conflict" in found or {"positive", "negative"} <= found:
        return "conflict"
    opinionated = found - {"neutral"}
    return opinionated.pop() if opinionated else "neutral"


def gold_terms(sentence: GoldSentence) -> list[tuple[Span, str]]:
    """The sentence's explicit aspect terms, each once, in text order, with :func:`term_polarity`."""
    by_span: dict[Span, list[str]] = {}
    for a in sentence.aspects:
        if a.target is not None:
            by_span.setdefault(a.target, []).append(a.polarity)
    return [(span, term_polarity(pols)) for span, pols in sorted(by_span.items())]


@dataclass
class AbsaReport:
    """Figures of one system on gold sentences (see :func:`evaluate`)."""

    terms_exact: Score = field(default_factory=Score)
    terms_head: Score = field(default_factory=Score)
    pairs_exact: Score = field(default_factory=Score)
    pairs_head: Score = field(default_factory=Score)
    categories: Score = field(default_factory=Score)
    categories_by_mapping: Score = field(default_factory=Score)
    polarity_correct: int = 0
    polarity_total: int = 0

    @property
    def polarity_accuracy(self) -> float:
        return self.polarity_correct / self.polarity_total if self.polarity_total else 0.0

    def to_dict(self) -> dict:
        return {
            "aspect_terms_exact": self.terms_exact.to_dict(),
            "aspect_terms_head_word": self.terms_head.to_dict(),
            "polarity_accuracy": round(self.polarity_accuracy, 4),
            "polarity_terms": self.polarity_total,
            "opinion_target_pairs_exact": self.pairs_exact.to_dict(),
            "opinion_target_pairs_head_word": self.pairs_head.to_dict(),
            "aspect_categories": self.categories.to_dict(),
            "aspect_categories_by_mapping": self.categories_by_mapping.to_dict(),
        }


def evaluate(gold: Sequence[GoldSentence], predictions: dict[str, list[PredictedAspect]]) -> AbsaReport:
    """Score ``predictions`` (per gold sentence id; a missing id predicts nothing) against ``gold``.

    - aspect-term extraction (SemEval-2014 Task 4 subtask 1): micro P / R / F1 over explicit targets, each
      distinct span once, by exact offsets and by head word (:func:`spans_match`);
    - aspect-term polarity accuracy on the exactly matched terms (the gold term's :func:`term_polarity`;
      a ``conflict`` term is never right for a system that has no such class);
    - opinion-target pairs (target span, opinion span) of explicit targets: micro F1, both spans exact, or
      both by head word;
    - aspect categories (SemEval-2016 Task 5 slot 1): micro F1 over each sentence's set of categories, the
      gold's including implicit targets', the system's its aspects' own ``category`` (``categories``) and
      those of their heads by :data:`CATEGORY_OF_HEAD` (``categories_by_mapping``).
    """
    report = AbsaReport()
    for sentence in gold:
        _score_sentence(report, sentence, predictions.get(sentence.id, []))
    return report


def _score_sentence(report: AbsaReport, sentence: GoldSentence, predictions: list[PredictedAspect]) -> None:
    text = sentence.text
    explicit = [p for p in predictions if not p.implicit]
    predicted = list({p.target: p for p in reversed(explicit)}.values())[::-1]  # one per span, the first
    terms = gold_terms(sentence)
    gold_spans, pred_spans = [span for span, _ in terms], [p.target for p in predicted]
    for lenient, score in ((False, report.terms_exact), (True, report.terms_head)):
        matched = match(gold_spans, pred_spans, partial(spans_match, text, lenient=lenient))
        score.add(len(matched), len(predicted), len(terms))
        if not lenient:
            report.polarity_total += len(matched)
            report.polarity_correct += sum(terms[g][1] == predicted[p].polarity for g, p in matched)
    gold_pairs = sorted({(a.target, o) for a in sentence.aspects if a.target for o in a.opinions})
    pred_pairs = sorted({(p.target, o) for p in predicted for o in p.opinions})
    for lenient, score in ((False, report.pairs_exact), (True, report.pairs_head)):
        matched = match(gold_pairs, pred_pairs, partial(pairs_match, text, lenient=lenient))
        score.add(len(matched), len(pred_pairs), len(gold_pairs))
    gold_categories = {a.category for a in sentence.aspects}
    own = {p.category for p in predictions if p.category is not None}
    mapped = {CATEGORY_OF_HEAD[p.head] for p in predictions if p.head in CATEGORY_OF_HEAD}
    for score, found in ((report.categories, own), (report.categories_by_mapping, mapped)):
        score.add(len(gold_categories & found), len(found), len(gold_categories))


# -- the systems ---------------------------------------------------------------------------------------

_NOUNS = {"NOUN", "PROPN"}


def review_texts(gold: Sequence[GoldSentence], frame: pd.DataFrame, preparer: TextPreparer) -> dict[int, str]:
    """The prepared text of every review in ``gold``, from ``frame`` (:func:`nlp.training.datasets.clothing_reviews`).

    Raises:
        ValueError: a gold sentence is not its review's text at its offset (the dataset or the text
            preparation changed since annotation), or a review is missing from ``frame``.
    """
    rows = frame.set_index("id")["text"]
    texts: dict[int, str] = {}
    for sentence in gold:
        if sentence.review_id not in texts:
            if sentence.review_id not in rows.index:
                raise ValueError(f"review {sentence.review_id} is not in the clothing reviews")
            texts[sentence.review_id] = preparer.prepare(str(rows[sentence.review_id]))[0]
        start = sentence.offset
        if texts[sentence.review_id][start : start + len(sentence.text)] != sentence.text:
            raise ValueError(f"gold sentence {sentence.id} is not in its review's prepared text")
    return texts


def _ends(offset: int, length: int) -> Span:
    return offset, offset + length


def system_aspects(analyzer: Analyzer, texts: Sequence[str]) -> list[list[PredictedAspect]]:
    """Today's method: the aspects :meth:`nlp.analysis.analyzer.Analyzer.analyze` returns for each prepared text
    (:func:`nlp.analysis.aspects.extract_aspects`, each with its clause's sentiment and its aspect category),
    offsets in the text.

    Raises:
        ValueError: a text is not analysed as given (an error record, or a different prepared text).
    """
    out = []
    for text, result in zip(texts, analyzer.analyze(list(texts)), strict=True):
        if getattr(result, "text", None) != text:
            raise ValueError(f"the analyzer did not read the text as given: {text[:60]!r}")
        out.append(
            [
                PredictedAspect(
                    _ends(a.offset, a.length),
                    a.sentiment.label,
                    tuple(_ends(o.offset, o.length) for o in a.opinions),
                    a.term.split()[-1],
                    a.category,
                    a.implicit,
                )
                for a in result.aspects  # type: ignore[union-attr]
            ]
        )
    return out


def rules_aspects(analyzer: Analyzer, texts: Sequence[str]) -> list[list[PredictedAspect]]:
    """Today's method without what is learned from the gold set: the rules alone decide which candidate nouns are
    aspects and an aspect takes its clause's sentiment (:func:`system_aspects` with the analyzer's learned filter
    and polarity head, ``Analyzer.aspect_filter`` and ``Analyzer.aspect_polarity``, set aside for the call)."""
    kept = analyzer.aspect_filter, analyzer.aspect_polarity
    analyzer.aspect_filter = analyzer.aspect_polarity = None
    try:
        return system_aspects(analyzer, texts)
    finally:
        analyzer.aspect_filter, analyzer.aspect_polarity = kept


def noun_chunk_aspects(analyzer: Analyzer, texts: Sequence[str]) -> list[list[PredictedAspect]]:
    """The baseline: every spaCy noun chunk headed by a noun, cut to start at its first noun (``the soft
    fabric`` -> ``fabric``), with the sentiment of its clause (the same clauses and sentiment model as
    today's method) and, as opinion, the adjective of that clause nearest its head (Hu & Liu 2004, "Mining
    and Summarizing Customer Reviews", KDD, pair nouns with nearby adjectives); its category is the analyzer's
    :class:`nlp.analysis.categories.AspectCategorizer` on the head lemma and that adjective."""
    docs = list(analyzer.preparer.parse(texts))
    clauses = [sentiment_spans(doc)[1] for doc in docs]
    predictions = analyzer.sentiment.predict_spans(list(texts), clauses, analyzer.batch_size)
    out = []
    for doc, doc_clauses, prediction in zip(docs, clauses, predictions, strict=True):
        aspects = []
        for chunk in doc.noun_chunks:
            if chunk.root.pos_ not in _NOUNS:
                continue
            target = doc[next(t.i for t in chunk if t.pos_ in _NOUNS) : chunk.end]
            k = next((k for k, (a, b) in enumerate(doc_clauses) if a <= target.start_char < b), None)
            if k is None:
                continue
            a, b = doc_clauses[k]
            adjectives = [t for t in doc if t.pos_ == "ADJ" and a <= t.idx < b]
            nearest = min(adjectives, key=lambda t: abs(t.i - chunk.root.i), default=None)
            head = chunk.root.lemma_.lower()
            aspects.append(
                PredictedAspect(
                    (target.start_char, target.end_char),
                    prediction.labels[k],
                    () if nearest is None else ((nearest.idx, nearest.idx + len(nearest)),),
                    head,
                    analyzer.categorizer.category(head, [] if nearest is None else [nearest.text]),
                )
            )
        out.append(aspects)
    return out


def by_sentence(
    gold: Sequence[GoldSentence], reviews: dict[int, list[PredictedAspect]]
) -> dict[str, list[PredictedAspect]]:
    """Review-level predictions (offsets in the prepared review text) given to the gold sentence their
    target starts in, with offsets moved to be the sentence's; a target in no gold sentence is dropped."""
    out: dict[str, list[PredictedAspect]] = {}
    for sentence in gold:
        start, end = sentence.offset, sentence.offset + len(sentence.text)

        def shift(span: Span, start: int = start) -> Span:
            return span[0] - start, span[1] - start

        out[sentence.id] = [
            PredictedAspect(
                shift(p.target), p.polarity, tuple(map(shift, p.opinions)), p.head, p.category, p.implicit
            )
            for p in reviews.get(sentence.review_id, [])
            if start <= p.target[0] < end
        ]
    return out


#: The systems :func:`run` measures: name -> (description, predictor).
SYSTEMS: dict[str, tuple[str, Callable[[Analyzer, Sequence[str]], list[list[PredictedAspect]]]]] = {
    "system": (
        "today's method: extract_aspects (learned filter if registered) + aspect polarity head (if registered)",
        system_aspects,
    ),
    "rules": ("extract_aspects with its rules alone + clause sentiment", rules_aspects),
    "baseline": ("noun chunks + clause sentiment + nearest adjective", noun_chunk_aspects),
}


def run(split: str, analyzer: Analyzer, frame: pd.DataFrame, gold_dir: Path = GOLD_DIR) -> dict:
    """Measure every system of :data:`SYSTEMS` on the gold ``split``, reading each whole review as deployed.

    Returns ``{"split", "sentences", "reviews", "opinion_tuples", "aspect_terms", "model_version",
    "systems": {name: {"description", "seconds", ...:meth:`AbsaReport.to_dict`}}}``; ``seconds`` is the
    wall time of that system's analysis of the split's reviews (after one warm-up analysis). Raises as
    :func:`load_gold` and :func:`review_texts`.
    """
    gold = load_gold(split, gold_dir)
    texts = review_texts(gold, frame, analyzer.preparer)
    ids, bodies = list(texts), list(texts.values())
    analyzer.analyze(bodies[:1])  # first-call loading, so that neither system's time includes it
    systems = {}
    for name, (description, predict) in SYSTEMS.items():
        started = time.perf_counter()
        predicted = predict(analyzer, bodies)
        seconds = time.perf_counter() - started
        report = evaluate(gold, by_sentence(gold, dict(zip(ids, predicted, strict=True))))
        systems[name] = {"description": description, "seconds": round(seconds, 2), **report.to_dict()}
    return {
        "split": split,
        "sentences": len(gold),
        "reviews": len(texts),
        "opinion_tuples": sum(len(s.aspects) for s in gold),
        "aspect_terms": sum(len(gold_terms(s)) for s in gold),
        "model_version": analyzer.model_version,
        "systems": systems,
    }
