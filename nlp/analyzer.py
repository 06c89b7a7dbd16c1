"""``Analyzer``: texts in, one :class:`ReviewAnalysis` (or :class:`AnalysisError`) per text out.

Per text: document sentiment, sentence sentiment with character offsets, aspects with their opinions, the
sentiment of the aspect's clause and its topic, the review's topics, and named entities - the shape of
Azure AI Language opinion mining and AWS Comprehend targeted sentiment, offline. All offsets index the
prepared text (:meth:`nlp.text.TextPreparer.prepare`). Work is batched: one spaCy pass and one classifier
pass over every document, sentence and clause of the batch (duplicates classified once).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
from spacy.tokens import Doc

from nlp.aspects import Opinion, clause_spans, extract_aspects
from nlp.classifier import TextClassifier
from nlp.embeddings import PhraseEmbeddings
from nlp.paths import MODELS_DIR
from nlp.registry import Registry
from nlp.text import TextPreparer, UndecodableTextError
from nlp.topics import TopicModel, TopicScore


@dataclass
class Sentiment:
    """A label and the probability of every class (negative / neutral / positive), summing to 1."""

    label: str
    scores: dict[str, float]


@dataclass
class SentenceAnalysis:
    text: str
    offset: int
    length: int
    sentiment: Sentiment


@dataclass
class AspectAnalysis:
    """An aspect (opinion target) with its lemmatised ``term`` (``sleeves`` -> ``sleeve``, the key reports
    group by), its clause's sentiment, its topic ``{"id", "label"}`` and opinions."""

    text: str
    offset: int
    length: int
    term: str
    topic: dict
    sentiment: Sentiment
    opinions: list[Opinion]


@dataclass
class Entity:
    text: str
    label: str
    offset: int
    length: int


@dataclass
class ReviewAnalysis:
    """The analysis of one review. ``text`` is the prepared text that all offsets index."""

    text: str
    sentiment: Sentiment
    sentences: list[SentenceAnalysis]
    aspects: list[AspectAnalysis]
    topics: list[TopicScore]
    entities: list[Entity]
    model_version: str
    truncated: bool = False

    def to_dict(self) -> dict:
        """JSON-ready dict without ``text`` (callers decide whether to return it)."""
        out = asdict(self)
        out.pop("text")
        if not self.truncated:
            out.pop("truncated")
        return out


@dataclass
class AnalysisError:
    """Why one input could not be analysed; ``code`` is machine-readable."""

    code: str
    message: str

    def to_dict(self) -> dict:
        return {"error": asdict(self)}


def prepare_input(
    preparer: TextPreparer, raw: object, redact_pii: bool | None = None
) -> tuple[str, bool] | AnalysisError:
    """``(prepared text, truncated)`` for one input value, or the :class:`AnalysisError` that rejects it.

    Error codes: ``missing_text`` (None / NaN), ``invalid_type`` (not a string), ``empty_text`` (nothing
    left after normalisation), ``undecodable_text`` (invalid UTF-8 bytes).
    """
    if raw is None or (isinstance(raw, float) and np.isnan(raw)):
        return AnalysisError("missing_text", "no text in this row")
    if not isinstance(raw, str):
        return AnalysisError("invalid_type", f"text must be a string, got {type(raw).__name__}")
    try:
        text, truncated = preparer.prepare(raw, redact_pii)
    except UndecodableTextError as exc:
        return AnalysisError("undecodable_text", str(exc))
    if not text:
        return AnalysisError("empty_text", "text is empty or whitespace only")
    return text, truncated


@dataclass
class _Prepared:
    index: int
    text: str
    truncated: bool
    doc: Doc | None = None
    segments: dict[str, int] = field(default_factory=dict)


class Analyzer:
    """The review-analysis pipeline over the registered models.

    Example::

        analyzer = Analyzer()
        [result] = analyzer.analyze(["The fabric is so soft but it runs small."])
        result.aspects[0].opinions[0].text   # "so soft"

    Args:
        models_dir: folder holding ``registry.json`` (default :data:`nlp.paths.MODELS_DIR`).
        sentiment_version: registered sentiment model version, or ``latest``.
        redact_pii: redact e-mails, phone and card numbers before analysis (nothing unredacted is returned).
        batch_size: texts per classifier batch.

    Raises:
        KeyError: a model or version is not registered (the message lists the known versions).
        FileNotFoundError: an artifact folder is missing.
    """

    def __init__(
        self,
        models_dir: Path = MODELS_DIR,
        sentiment_version: str = "latest",
        redact_pii: bool = False,
        batch_size: int = 64,
    ) -> None:
        registry = Registry(models_dir)
        self.sentiment = TextClassifier.load(registry.path("sentiment", sentiment_version))
        self.embeddings = PhraseEmbeddings.load(registry.path("embeddings"))
        self.topic_model = TopicModel.load(registry.path("topics"))
        self.known_terms = {term for topic in self.topic_model.topics for term, _ in topic.terms}
        self.preparer = TextPreparer(redact_pii=redact_pii)
        self.batch_size = batch_size
        topics_version = registry.get("topics").version
        self.model_version = f"sentiment-v{self.sentiment.config.model_version}+topics-v{topics_version}"

    def analyze(
        self, texts: Sequence[object], redact_pii: bool | None = None
    ) -> list[ReviewAnalysis | AnalysisError]:
        """Analyse ``texts`` in order; an input that is not usable text yields an :class:`AnalysisError`.

        ``redact_pii`` overrides the analyzer's setting for this call.

        Error codes: see :func:`prepare_input`.
        """
        results: list[ReviewAnalysis | AnalysisError | None] = [None] * len(texts)
        batch: list[_Prepared] = []
        for i, raw in enumerate(texts):
            outcome = self._prepare(i, raw, redact_pii)
            if isinstance(outcome, AnalysisError):
                results[i] = outcome
            else:
                batch.append(outcome)
        for item, doc in zip(batch, self.preparer.parse([p.text for p in batch]), strict=True):
            item.doc = doc
        results_ok = self._analyze_batch(batch)
        for item, analysis in zip(batch, results_ok, strict=True):
            results[item.index] = analysis
        return [r for r in results if r is not None]

    def aspect_topics(self, text: object) -> dict[str, int]:
        """The aspect terms of ``text`` (lemmatised, as ``AspectAnalysis.term``) and each one's topic id.

        spaCy and Word2Vec only, no sentiment: for callers that need what a text is about but not how it
        feels (the answer to a product question), without the transformer encoders :meth:`analyze` runs.
        A text that is not usable (see :func:`prepare_input`) has no aspects: ``{}``.
        """
        prepared = prepare_input(self.preparer, text)
        if isinstance(prepared, AnalysisError):
            return {}
        [doc] = self.preparer.parse([prepared[0]])
        return {m.term: self._topic_of(m.term) for m in extract_aspects(doc, self.known_terms)}

    def _topic_of(self, term: str) -> int:
        topic_id, _ = self.topic_model.assign(self.embeddings.vector(term))
        return topic_id

    def _prepare(self, index: int, raw: object, redact_pii: bool | None) -> _Prepared | AnalysisError:
        outcome = prepare_input(self.preparer, raw, redact_pii)
        return outcome if isinstance(outcome, AnalysisError) else _Prepared(index, *outcome)

    def _analyze_batch(self, batch: list[_Prepared]) -> list[ReviewAnalysis]:
        segments: dict[str, int] = {}

        def segment(text: str) -> int:
            return segments.setdefault(text, len(segments))

        plans = []
        for item in batch:
            assert item.doc is not None
            doc = item.doc
            sentences = [s for s in doc.sents if s.text.strip()]
            clauses = [c for s in sentences for c in clause_spans(s)]
            aspects = []
            for mention in extract_aspects(doc, self.known_terms):
                start, end = next((c for c in clauses if c[0] <= mention.offset < c[1]), (0, len(doc.text)))
                aspects.append((mention, segment(doc.text[start:end].strip())))
            sentence_plan = [(s, segment(s.text.strip())) for s in sentences]
            plans.append((segment(item.text), sentence_plan, aspects))

        prediction = self.sentiment.predict(list(segments), batch_size=self.batch_size)
        long_inputs = {k for k, cut in enumerate(prediction.truncated) if cut}

        def sentiment(k: int) -> Sentiment:
            scores = dict(
                zip(self.sentiment.labels, prediction.probabilities[k].round(4).tolist(), strict=True)
            )
            return Sentiment(prediction.labels[k], scores)

        out = []
        for item, (doc_k, sentence_plan, aspects) in zip(batch, plans, strict=True):
            aspect_results = []
            topic_ids = []
            for mention, k in aspects:
                topic_id = self._topic_of(mention.term)
                topic_ids.append(topic_id)
                topic = {"id": topic_id, "label": self.topic_model.label(topic_id)}
                aspect_results.append(
                    AspectAnalysis(
                        mention.text,
                        mention.offset,
                        mention.length,
                        mention.term,
                        topic,
                        sentiment(k),
                        list(mention.opinions),
                    )
                )
            assert item.doc is not None
            out.append(
                ReviewAnalysis(
                    text=item.text,
                    sentiment=sentiment(doc_k),
                    sentences=[
                        SentenceAnalysis(s.text.strip(), s.start_char, len(s.text.strip()), sentiment(k))
                        for s, k in sentence_plan
                    ],
                    aspects=aspect_results,
                    topics=self.topic_model.score([t for t in topic_ids if t != -1]),
                    entities=[Entity(e.text, e.label_, e.start_char, len(e.text)) for e in item.doc.ents],
                    model_version=self.model_version,
                    truncated=item.truncated or doc_k in long_inputs,
                )
            )
        return out
