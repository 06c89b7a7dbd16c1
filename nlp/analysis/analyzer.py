"""``Analyzer``: texts in, one :class:`ReviewAnalysis` (or :class:`AnalysisError`) per text out.

Per text: document sentiment, sentence sentiment with character offsets, aspects with their opinions, the
aspect's polarity (read from its clause) and its topic, the review's topics, and named entities - the shape of
Azure AI Language opinion mining and AWS Comprehend targeted sentiment, offline. All offsets index the
prepared text (:meth:`nlp.analysis.text.TextPreparer.prepare`). Work is batched: one spaCy pass, then one sentiment
call for every document, sentence and aspect clause of the batch. A one-pass span model
(:class:`nlp.analysis.span_classifier.SpanClassifier`) reads each review once and classifies its spans from the
pooled token states; an older per-text model reads each distinct span as a text of its own.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
from pydantic import TypeAdapter
from spacy.tokens import Doc
from threadpoolctl import threadpool_limits

from nlp.analysis.aspect_filter import AspectFilter
from nlp.analysis.aspect_polarity import AspectPolarity
from nlp.analysis.aspects import AspectMention, Opinion, extract_aspects, sentiment_spans, span_at
from nlp.analysis.categories import GENERAL, AspectCategorizer
from nlp.analysis.classifier import SpanPrediction
from nlp.analysis.embeddings import PhraseEmbeddings
from nlp.analysis.entities import EntityRecogniser, EntitySpan
from nlp.analysis.language import UNSUPPORTED_LANGUAGE, LanguageGuess, LanguageIdentifier
from nlp.analysis.opinion import NO_OPINION, holds_no_opinion, opinion_polarity
from nlp.analysis.pii import overlaps_placeholder
from nlp.analysis.span_classifier import load_sentiment_model
from nlp.analysis.text import TextPreparer, UndecodableTextError
from nlp.analysis.topics import TopicModel, TopicScore
from nlp.artifacts.registry import Registry

#: What ``Analyzer(only=...)`` accepts: None (the full analysis) or ``"sentiment"`` (document sentiment).
ONLY = (None, "sentiment")


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
    """An aspect (opinion target) with its lemmatised ``term`` (``sleeves`` -> ``sleeve``, ``colour`` ->
    ``color``: the key reports group by), its polarity ``sentiment`` (the registered polarity head's reading of
    its clause's encoder state, :class:`nlp.analysis.aspect_polarity.AspectPolarity`, else the clause's
    sentiment; its opinion terms' polarity when that reading is neutral and they agree), its topic ``{"id",
    "label"}``, its aspect ``category`` (one of :data:`nlp.analysis.categories.CATEGORIES`) and opinions.
    ``implicit``: no noun names the target ("It runs small.", "It is so comfortable."): ``text`` is the opinion
    and ``term`` ``fit`` or ``comfort`` (:func:`nlp.analysis.aspects.implicit_fit`,
    :func:`nlp.analysis.aspects.implicit_comfort`).
    """

    text: str
    offset: int
    length: int
    term: str
    topic: dict
    category: str
    sentiment: Sentiment
    opinions: list[Opinion]
    implicit: bool = False


@dataclass
class Entity:
    text: str
    label: str
    offset: int
    length: int


@dataclass
class ReviewAnalysis:
    """The analysis of one review. ``text`` is the prepared text that all offsets index.

    ``language`` is its ISO 639-1 code (:class:`nlp.analysis.language.LanguageIdentifier`). ``flags`` says what
    the models could not read: ``["unsupported_language"]`` for a text confidently in another language than
    English, whose record then holds no English reading: sentiment neutral with every class at 1/3 (no
    information), and no sentences, aspects or entities (topics: the outlier, as for any text without
    aspects). ``["no_opinion"]`` for a short text without an opinion expression ("ok", "n/a", "I bought this
    for my sister's birthday last week.", :func:`nlp.analysis.opinion.holds_no_opinion`): its sentences and aspects
    are kept, and every sentiment in the record is that same no-information neutral. A sentence of a longer
    text that holds no opinion by the same rule ("I ordered a medium.") reads that neutral too.
    """

    text: str
    sentiment: Sentiment
    sentences: list[SentenceAnalysis]
    aspects: list[AspectAnalysis]
    topics: list[TopicScore]
    #: None when the analyzer was made without the entity recogniser (``Analyzer(entities=False)``).
    entities: list[Entity] | None
    #: The models that made the record: ``sentiment-v9+aspects-v3+topics-v1`` (no ``aspects`` part when the
    #: rules alone chose the aspect terms).
    model_version: str
    language: str = "en"
    flags: list[str] = field(default_factory=list)
    truncated: bool = False

    def to_dict(self) -> dict:
        """JSON-ready dict without ``text`` (callers decide whether to return it), and without ``entities``
        when they were not looked for."""
        return _record_dict(self, exclude={"text"} if self.entities is not None else {"text", "entities"})


@dataclass
class DocumentSentiment:
    """Document sentiment only (``Analyzer(only="sentiment")``): no parse, sentences, aspects or topics.

    ``language`` and the ``unsupported_language`` flag are :class:`ReviewAnalysis`'s (such a text gets the
    no-information neutral, not an English reading); ``no_opinion`` is not looked for, as its rule reads the
    parse."""

    sentiment: Sentiment
    model_version: str
    language: str = "en"
    flags: list[str] = field(default_factory=list)
    truncated: bool = False

    def to_dict(self) -> dict:
        return _record_dict(self, exclude=set())


_SERIALIZERS: dict[type, TypeAdapter] = {
    kind: TypeAdapter(kind) for kind in (ReviewAnalysis, DocumentSentiment)
}


def _record_dict(record: ReviewAnalysis | DocumentSentiment, exclude: set[str]) -> dict:
    """``record`` as a JSON-ready dict without the ``exclude`` fields, ``truncated`` only when true, by pydantic's
    compiled serialiser (:func:`dataclasses.asdict` deep-copies every leaf, several times slower)."""
    skip = exclude if record.truncated else exclude | {"truncated"}
    return _SERIALIZERS[type(record)].dump_python(record, exclude=skip)


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
    """One usable input on its way through :meth:`Analyzer.analyze`: its parse and the spans to classify
    (with, per sentence and aspect mention, the index of its span)."""

    index: int
    text: str
    truncated: bool
    language: LanguageGuess | None = None
    no_opinion: bool = False
    #: the sentences (their spans) that hold no opinion themselves
    toneless: set[tuple[int, int]] = field(default_factory=set)
    doc: Doc | None = None
    spans: list[tuple[int, int]] = field(default_factory=list)
    sentences: list[tuple[tuple[int, int], int]] = field(default_factory=list)
    mentions: list[tuple[AspectMention, int]] = field(default_factory=list)
    entities: list[EntitySpan] = field(default_factory=list)


def _aspect_models(
    registry: Registry, embeddings: PhraseEmbeddings
) -> tuple[AspectFilter, AspectPolarity | None, str] | None:
    """The registered aspects artifact (``latest``): its learned term filter over ``embeddings``, its polarity head
    (None when it has none) and its version; None when none is registered. Raises as
    :meth:`nlp.analysis.aspect_filter.AspectFilter.load` and :meth:`nlp.analysis.aspect_polarity.AspectPolarity.load`."""
    try:
        entry = registry.get("aspects")
    except KeyError:
        return None
    folder = registry.models_dir / entry.path
    return AspectFilter.load(folder, embeddings), AspectPolarity.load(folder), entry.version


class Analyzer:
    """The review-analysis pipeline over the registered models.

    Example::

        analyzer = Analyzer()
        [result] = analyzer.analyze(["The fabric is so soft but it runs small."])
        result.aspects[0].opinions[0].text   # "so soft"

    Args:
        models_dir: folder holding ``registry.json`` (default ``REVIEWPULSE_MODELS_DIR``).
        sentiment_version: registered sentiment model version, or ``latest``.
        redact_pii: redact e-mails, phone and card numbers before analysis (nothing unredacted is returned).
        batch_size: texts per pipeline stage (parse, entities, sentiment); the sentiment model batches them
            by length on its own.
        runtime: how a one-pass span model's encoder runs (:data:`nlp.analysis.span_classifier.RUNTIMES`).
        only: ``"sentiment"``: :meth:`analyze` gives document sentiment only (:class:`DocumentSentiment`),
            without the spaCy parse; None: the full analysis.
        threads: ONNX Runtime threads of a one-pass span model (0: one for the full analysis, whose stages
            share the cores; one per core for document sentiment only).
        topics_version: registered topics version, or ``latest`` (the pinned default, else the newest).
        entities: run the named-entity recogniser (:class:`nlp.analysis.entities.EntityRecogniser`, in a worker
            process of its own beside the parse); False leaves ``entities`` out of every record, starts no
            such process and saves its share of the work (the README's speed table gives both rates).
        aspect_filter: use the registered aspects artifact (model ``aspects``) when one is registered: its
            learned filter decides which candidate nouns are aspects
            (:class:`nlp.analysis.aspect_filter.AspectFilter`), and its polarity head, when it has one fitted on
            this sentiment model's encoder, reads each aspect's clause
            (:class:`nlp.analysis.aspect_polarity.AspectPolarity`). False, or none registered: the rules of
            :func:`nlp.analysis.aspects.extract_aspects` alone and the clause's sentiment.

    Raises:
        KeyError: a model or version is not registered (the message lists the known versions).
        FileNotFoundError: an artifact folder is missing.
    """

    def __init__(
        self,
        models_dir: Path | None = None,
        sentiment_version: str = "latest",
        redact_pii: bool = False,
        batch_size: int = 32,
        runtime: str = "onnx-int8",
        only: str | None = None,
        threads: int = 0,
        topics_version: str = "latest",
        entities: bool = True,
        aspect_filter: bool = True,
    ) -> None:
        if only not in ONLY:
            raise ValueError(f"only must be one of {ONLY}, got {only!r}")
        self.only = only
        registry = Registry(models_dir)
        # the full analysis encodes beside the parse and the entity recogniser, which share the cores
        self.sentiment = load_sentiment_model(
            registry.path("sentiment", sentiment_version), runtime, threads, shared_cores=only is None
        )
        self.embeddings = PhraseEmbeddings.load(registry.path("embeddings"))
        topics = registry.get("topics", topics_version)  # read once: a pin while loading cannot split it
        self.topic_model = TopicModel.load(registry.models_dir / topics.path)
        self.categorizer = AspectCategorizer(self.embeddings)
        self.identify_language = LanguageIdentifier()
        self.known_terms = {term for topic in self.topic_model.topics for term, _ in topic.terms}
        learned = _aspect_models(registry, self.embeddings) if aspect_filter else None
        self.aspect_filter = learned[0] if learned else None
        polarity = learned[1] if learned else None
        fitted_here = (
            polarity is not None and polarity.sentiment_version == self.sentiment.config.model_version
        )
        self.aspect_polarity = polarity if fitted_here else None
        self.preparer = TextPreparer(redact_pii=redact_pii)
        self.batch_size = batch_size
        self.entities = entities
        # the stages of :meth:`_analyze_parsed` that run beside the parse; spaCy's matrix products go to
        # OpenBLAS (:func:`nlp.analysis.text.load_spacy`), whose own threads would oversubscribe the cores these share
        threadpool_limits(1, user_api="blas")
        self._entity_recogniser = EntityRecogniser() if entities and only is None else None
        self._sentiment_worker = ThreadPoolExecutor(1, thread_name_prefix="sentiment")
        # every model a record depends on: a resumed run must not mix them, nor a re-topic of the store miss them
        parts = [f"sentiment-v{self.sentiment.config.model_version}"]
        if not only:
            parts += [f"aspects-v{learned[2]}"] if learned else []
            parts.append(f"topics-v{topics.version}")
        self.model_version = "+".join(parts)

    def analyze(
        self, texts: Sequence[object], redact_pii: bool | None = None
    ) -> list[ReviewAnalysis | DocumentSentiment | AnalysisError]:
        """Analyse ``texts`` in order; an input that is not usable text yields an :class:`AnalysisError`.

        ``redact_pii`` overrides the analyzer's setting for this call. Results are :class:`ReviewAnalysis`, or
        :class:`DocumentSentiment` when the analyzer was made with ``only="sentiment"``.

        Error codes: see :func:`prepare_input`.
        """
        results: list[ReviewAnalysis | DocumentSentiment | AnalysisError | None] = [None] * len(texts)
        batch: list[_Prepared] = []
        for i, raw in enumerate(texts):
            outcome = self._prepare(i, raw, redact_pii)
            if isinstance(outcome, AnalysisError):
                results[i] = outcome
            else:
                batch.append(outcome)
        if self.only == "sentiment":
            results_ok: Sequence[ReviewAnalysis | DocumentSentiment] = self._document_sentiment(batch)
        else:
            results_ok = self._analyze_parsed(batch)
        for item, analysis in zip(batch, results_ok, strict=True):
            results[item.index] = analysis
        return [r for r in results if r is not None]

    def close(self) -> None:
        """Stop the analysis stages' thread and process; the analyzer cannot analyse afterwards."""
        if self._entity_recogniser is not None:
            self._entity_recogniser.close()
        self._sentiment_worker.shutdown()

    def aspect_categories(self, text: object) -> dict[str, str]:
        """The aspect terms of ``text`` (lemmatised, as ``AspectAnalysis.term``; ``fit`` for an implicit fit
        opinion, "does it run small?") and each one's aspect category.

        A term whose head noun names the product (its category is ``general``: "linen dress", "cotton shirt")
        is that noun alone, categorised by its opinions: the compounds before it say which product, not what
        is asked about it ("does the linen dress run small?" asks about fit: ``dress``, fit/size, where
        ``linen dress`` reads as fabric/material).

        spaCy and Word2Vec only, no sentiment: for callers that need what a text is about but not how it
        feels (the answer to a product question), without the transformer encoders :meth:`analyze` runs.
        A text that is not usable (see :func:`prepare_input`) has no aspects: ``{}``.
        """
        prepared = prepare_input(self.preparer, text)
        if isinstance(prepared, AnalysisError):
            return {}
        [doc] = self.preparer.parse([prepared[0]])
        found = {}
        for mention in extract_aspects(doc, self.known_terms, self.aspect_filter):
            head = mention.term.split()[-1]
            term = head if self.categorizer.term_category(head) == GENERAL else mention.term
            opinions = [o.text for o in mention.opinions]
            found[term] = self.categorizer.category(term, opinions)
        return found

    def _topic_of(self, term: str) -> int:
        topic_id, _ = self.topic_model.assign(self.embeddings.vector(term))
        return topic_id

    def _prepare(self, index: int, raw: object, redact_pii: bool | None) -> _Prepared | AnalysisError:
        outcome = prepare_input(self.preparer, raw, redact_pii)
        return outcome if isinstance(outcome, AnalysisError) else _Prepared(index, *outcome)

    def _document_sentiment(self, batch: list[_Prepared]) -> list[DocumentSentiment]:
        languages = [self.identify_language(item.text) for item in batch]
        readable = [item for item, language in zip(batch, languages, strict=True) if not language.unsupported]
        read = self.sentiment.predict([item.text for item in readable])
        prediction = zip(read.probabilities, read.labels, read.truncated, strict=True)
        results = []
        for item, language in zip(batch, languages, strict=True):
            if language.unsupported:
                sentiment, flags, truncated = self._no_reading(), [UNSUPPORTED_LANGUAGE], False
            else:
                probs, label, truncated = next(prediction)
                sentiment, flags = self._sentiment(probs, label), []
            results.append(
                DocumentSentiment(
                    sentiment, self.model_version, language.language, flags, item.truncated or truncated
                )
            )
        return results

    def _sentiment(self, probs: np.ndarray, label: str, labels: Sequence[str] | None = None) -> Sentiment:
        """``label`` with ``probs`` as scores of ``labels`` (default: the sentiment model's)."""
        scores = probs.astype(np.float64).round(4).tolist()  # float32 would print 0.2608000040054
        return Sentiment(label, dict(zip(labels or self.sentiment.labels, scores, strict=True)))

    def _analyze_parsed(self, batch: list[_Prepared]) -> list[ReviewAnalysis]:
        """Parse, plan and classify ``batch`` in stages that overlap: the entity recogniser's process reads the
        whole batch while this thread parses it in sub-batches of at most ``batch_size``, and a worker thread reads
        each parsed sub-batch with the sentiment model (ONNX Runtime releases the GIL) while the next is parsed."""
        texts = [item.text for item in batch]
        recogniser = self._entity_recogniser
        entities = recogniser.submit(texts) if recogniser is not None else None
        # a small batch (an API micro-batch) is cut in two: the encoder reads one half while the other is parsed
        step = max(1, min(self.batch_size, -(-len(batch) // 2)))
        docs = self.preparer.parse(texts, batch_size=step)
        pending = []
        for start in range(0, len(batch), step):
            sub = batch[start : start + step]
            for item in sub:
                self._plan(item, next(docs))
            spans = [item.spans for item in sub]
            sentiment = self._sentiment_worker.submit(
                self.sentiment.predict_spans, texts[start : start + step], spans
            )
            pending.append((sub, sentiment))
        if recogniser is not None and entities is not None:
            for item, found in zip(batch, recogniser.wait(entities), strict=True):
                item.entities = found
        results: list[ReviewAnalysis] = []
        for sub, sentiment in pending:
            results += map(self._assemble, sub, sentiment.result())
        return results

    def _plan(self, item: _Prepared, doc: Doc) -> None:
        """Set ``item``'s language, parse and the spans to classify: the document first, then every distinct
        sentence and aspect clause (an aspect is read from its clause, from the document if it lies in
        none). A text in an unsupported language gets the document alone (its reading is withheld); a text
        without an opinion (:func:`nlp.analysis.opinion.holds_no_opinion`) is marked so, and so is each sentence
        without one."""
        item.doc = doc
        item.language = self.identify_language(item.text)
        document = (0, len(item.text))
        if item.language.unsupported:
            item.spans = [document]
            return
        sentences, clauses = sentiment_spans(doc)
        mentions = [
            (m, span_at(clauses, m.offset, document))
            for m in extract_aspects(doc, self.known_terms, self.aspect_filter)
        ]
        item.no_opinion = holds_no_opinion(item.text, [m for m, _ in mentions], doc)
        item.toneless = {
            (a, b)
            for a, b in sentences
            if holds_no_opinion(
                item.text[a:b],
                [m for m, _ in mentions if a <= m.offset < b],
                doc.char_span(a, b, alignment_mode="expand") or (),
            )
        }
        item.spans = list(dict.fromkeys([document, *sentences, *(c for _, c in mentions)]))
        where = {span: k for k, span in enumerate(item.spans)}
        item.sentences = [(span, where[span]) for span in sentences]
        item.mentions = [(m, where[c]) for m, c in mentions]

    def _assemble(self, item: _Prepared, pred: SpanPrediction) -> ReviewAnalysis:
        assert item.doc is not None and item.language is not None
        if item.language.unsupported:
            return self._unread(item, pred.truncated)

        mention_spans = [k for _, k in item.mentions]
        head = self.aspect_polarity
        if head is not None and pred.states is not None and mention_spans:
            polar = head.probabilities(pred.states[mention_spans])
            readings = {
                k: self._sentiment(p, head.labels[int(p.argmax())], head.labels)
                for k, p in zip(mention_spans, polar, strict=True)
            }
        else:
            readings = {k: self._sentiment(pred.probabilities[k], pred.labels[k]) for k in mention_spans}

        def sentiment(k: int, opinions: Sequence[Opinion] = (), aspect: bool = False) -> Sentiment:
            if item.no_opinion:
                return self._no_reading()
            reading = readings[k] if aspect else self._sentiment(pred.probabilities[k], pred.labels[k])
            said = (
                {p for o in opinions if (p := opinion_polarity(o))} if reading.label == "neutral" else set()
            )
            if len(said) == 1:  # the opinion terms outweigh a toneless clause when they agree
                return Sentiment(said.pop(), reading.scores)
            return reading

        aspects, topic_ids = [], []
        for mention, k in item.mentions:
            topic_id = self._topic_of(mention.term)
            topic_ids.append(topic_id)
            topic = {"id": topic_id, "label": self.topic_model.label(topic_id)}
            category = self.categorizer.category(mention.term, [o.text for o in mention.opinions])
            aspects.append(
                AspectAnalysis(
                    mention.text, mention.offset, mention.length, mention.term, topic, category,
                    sentiment(k, mention.opinions, aspect=True), list(mention.opinions), mention.implicit,
                )
            )  # fmt: skip
        return ReviewAnalysis(
            text=item.text,
            sentiment=sentiment(0),
            sentences=[
                SentenceAnalysis(
                    item.text[a:b], a, b - a, self._no_reading() if (a, b) in item.toneless else sentiment(k)
                )
                for (a, b), k in item.sentences
            ],
            aspects=aspects,
            topics=self.topic_model.score([t for t in topic_ids if t != -1]),
            entities=[
                Entity(item.text[a:b], label, a, b - a)
                for a, b, label in item.entities
                if not overlaps_placeholder(item.text, a, b)
            ]
            if self.entities
            else None,
            model_version=self.model_version,
            language=item.language.language,
            flags=[NO_OPINION] if item.no_opinion else [],
            truncated=item.truncated or pred.truncated,
        )

    def _no_reading(self) -> Sentiment:
        """Neutral with every class at 1/3: the sentiment of a text the models cannot or should not read."""
        return Sentiment(
            "neutral", dict.fromkeys(self.sentiment.labels, round(1 / len(self.sentiment.labels), 4))
        )

    def _unread(self, item: _Prepared, truncated: bool) -> ReviewAnalysis:
        """The record of a text in a language the models cannot read: see :class:`ReviewAnalysis`."""
        assert item.language is not None
        return ReviewAnalysis(
            text=item.text,
            sentiment=self._no_reading(),
            sentences=[],
            aspects=[],
            topics=self.topic_model.score([]),
            entities=[] if self.entities else None,
            model_version=self.model_version,
            language=item.language.language,
            flags=[UNSUPPORTED_LANGUAGE],
            truncated=item.truncated or truncated,
        )
