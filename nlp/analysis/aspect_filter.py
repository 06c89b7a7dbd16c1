"""A learned aspect-term filter: which candidate nouns (:func:`nlp.analysis.aspects.aspect_candidates`) are aspect
terms, by a logistic regression over their parse, the rules' reading and the head word's Word2Vec vector.

The rules of :mod:`nlp.analysis.aspects` decide from a few dozen cases each; written on the ABSA gold set's dev
split, they carried badly to other reviews (``nlp/data/absa_gold/README.md``). This filter keeps their reading as
features and learns from annotated sentences how much each one counts, as supervised aspect-term extraction with
hand-made and embedding features did in SemEval-2014 Task 4 (Toh & Wang 2014, "DLIREC: Aspect Term Extraction
and Term Polarity Classification System", SemEval; Chernyshevich 2014, "IHS R&D Belarus: Cross-domain extraction
of product features using CRF", SemEval). Trained by ``reviewpulse train aspects``
(:mod:`nlp.training.aspect_training`); the artifact is ``filter.json``: the feature names, the standardisation
and the model's coefficients, so applying it needs numpy only.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import numpy as np
from cachetools import LRUCache
from spacy.tokens import Doc, Token

from nlp.analysis.aspects import OPINION_VERBS, Candidate, first_conjunct, named_as_this
from nlp.analysis.categories import PRODUCT_WORDS
from nlp.analysis.embeddings import PhraseEmbeddings
from nlp.analysis.opinion import valences

FILTER_FILE = "filter.json"
#: Head words whose vectors :class:`AspectFilter` keeps (least recently used go first).
CACHED_WORDS = 50_000
#: Dependency relations of the head (of its coordination's first noun) with a feature of their own; others
#: count as ``other``.
DEPS = ("nsubj", "nsubjpass", "dobj", "pobj", "attr", "ROOT", "appos", "npadvmod", "conj", "dative")
#: Coarse parts of speech of the governor of the head's coordination with a feature of their own.
GOVERNOR_POS = ("VERB", "AUX", "ADP", "NOUN", "PROPN", "ADJ")
#: Absolute VADER valence (-4..4) of a word counted as an opinion word for the distance feature.
OPINION_WORD_VALENCE = 1.0
#: Token distances are capped here (and a sentence without an opinion word counts as this far).
MAX_DISTANCE = 10


def _flag_names() -> list[str]:
    return [
        "rules_keep",
        "known_term",
        "said_of",
        "not_the_product",
        "described",
        "has_opinion",
        "opinions",
        "negated_opinion",
        "term_words",
        "proper_noun",
        "plural",
        "named_as_this",
        "possessive",
        "definite",
        "product_word",
        "sentence_position",
        "opinion_distance",
        "opinion_verb_governor",
        "copula_governor",
        "have_governor",
        *(f"dep={d}" for d in (*DEPS, "other")),
        *(f"governor={p}" for p in (*GOVERNOR_POS, "other")),
        "no_vector",
    ]


@cache
def feature_names(dimensions: int) -> tuple[str, ...]:
    """The names of :func:`features`' columns for embeddings of ``dimensions``: flags, then ``w2v_0..``."""
    return (*_flag_names(), *(f"w2v_{k}" for k in range(dimensions)))


def opinion_positions(doc: Doc) -> np.ndarray:
    """Token indices of the words of ``doc`` that VADER rates at least :data:`OPINION_WORD_VALENCE` in size."""
    rated = valences()
    return np.array(
        [t.i for t in doc if abs(rated.get(t.lower_, 0.0)) >= OPINION_WORD_VALENCE], dtype=np.int64
    )


def head_vector(token: Token, embeddings: PhraseEmbeddings) -> np.ndarray | None:
    """The unit Word2Vec vector of the head word as written (the vectors were trained on surface words), else of
    its lemma; None when the vocabulary has neither."""
    vector = embeddings.vector(token.lower_)
    return vector if vector is not None else embeddings.vector(token.lemma_.lower())


def features(
    candidate: Candidate, vector: np.ndarray | None, opinions: np.ndarray, dimensions: int
) -> np.ndarray:
    """One row of floats, :func:`feature_names` order: the rules' reading of ``candidate``, its parse (relation
    of its head and of its governor, determiners, number), token distance to the nearest opinion word of its
    sentence (``opinions``: :func:`opinion_positions` of its doc), and its head word's Word2Vec ``vector``
    (:func:`head_vector`; zeros of ``dimensions`` and ``no_vector`` when None)."""
    token, mention = candidate.token, candidate.mention
    sentence = token.sent
    first = first_conjunct(token)
    governor = first.head
    dets = {c.lower_ for c in token.children if c.dep_ in {"det", "poss"}}
    dep = first.dep_ if first.dep_ in DEPS else "other"
    governor_pos = governor.pos_ if governor is not first and governor.pos_ in GOVERNOR_POS else "other"
    near = opinions[(opinions >= sentence.start) & (opinions < sentence.end) & (opinions != token.i)]
    distance = min(int(np.abs(near - token.i).min()), MAX_DISTANCE) if len(near) else MAX_DISTANCE
    flags = [
        candidate.kept,
        candidate.known,
        candidate.said_of,
        candidate.not_the_product,
        candidate.described,
        bool(mention.opinions),
        min(len(mention.opinions), 3),
        any(o.negated for o in mention.opinions),
        min(len(mention.term.split()), 3),
        token.pos_ == "PROPN",
        token.tag_ in {"NNS", "NNPS"},
        named_as_this(token),
        bool(dets & {"my", "our", "her", "his", "your", "their"}),
        "the" in dets,
        token.lemma_.lower() in PRODUCT_WORDS,
        min(token.i - sentence.start, MAX_DISTANCE) / MAX_DISTANCE,
        distance / MAX_DISTANCE,
        governor.lemma_.lower() in OPINION_VERBS,
        governor.lemma_ == "be",
        governor.lemma_ == "have",
        *(dep == d for d in (*DEPS, "other")),
        *(governor_pos == p for p in (*GOVERNOR_POS, "other")),
    ]
    return np.concatenate(
        [
            np.asarray(flags, dtype=np.float64),
            [float(vector is None)],
            np.zeros(dimensions) if vector is None else vector.astype(np.float64),
        ]
    )


def feature_rows(
    candidates: Sequence[Candidate], vector_of: Callable[[Token], np.ndarray | None], dimensions: int
) -> np.ndarray:
    """:func:`features` of ``candidates`` (all of one doc), shape ``(len(candidates), len(feature_names(dimensions)))``;
    ``vector_of`` gives a head token's vector (:func:`head_vector`)."""
    if not candidates:
        return np.zeros((0, len(feature_names(dimensions))))
    opinions = opinion_positions(candidates[0].token.doc)
    return np.stack([features(c, vector_of(c.token), opinions, dimensions) for c in candidates])


@dataclass(frozen=True)
class AspectFilter:
    """A logistic regression over :func:`features`: a candidate is kept when its probability is at least
    ``threshold``; the head words' vectors are cached. ``mean`` / ``scale`` standardise the features (scikit-learn's ``StandardScaler``), ``coef`` /
    ``intercept`` are the model's (``LogisticRegression``), all over :func:`feature_names`."""

    embeddings: PhraseEmbeddings
    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray
    intercept: float
    threshold: float
    #: head word (as written, lemma) -> :func:`head_vector`, the most recently used kept
    vectors: LRUCache = field(default_factory=lambda: LRUCache(CACHED_WORDS), compare=False, repr=False)

    def probabilities(self, candidates: Sequence[Candidate]) -> np.ndarray:
        """The probability that each candidate (all of one doc) is an aspect term, shape ``(len(candidates),)``."""
        if not candidates:
            return np.zeros(0)
        rows = feature_rows(candidates, self._vector, self.embeddings.vectors.vector_size)
        logits = ((rows - self.mean) / self.scale) @ self.coef + self.intercept
        return 1.0 / (1.0 + np.exp(-logits))

    def _vector(self, token: Token) -> np.ndarray | None:
        key = (token.lower_, token.lemma_.lower())
        if key not in self.vectors:
            self.vectors[key] = head_vector(token, self.embeddings)
        return self.vectors[key]

    def keep(self, candidates: Sequence[Candidate]) -> list[bool]:
        """Whether each candidate is an aspect term (:class:`nlp.analysis.aspects.CandidateFilter`)."""
        return (self.probabilities(candidates) >= self.threshold).tolist()

    @classmethod
    def load(cls, folder: Path, embeddings: PhraseEmbeddings) -> AspectFilter:
        """The filter in ``folder/filter.json``, over ``embeddings`` (those it was trained with).

        Raises:
            FileNotFoundError: no ``filter.json`` in ``folder``.
            ValueError: its feature names are not :func:`feature_names` of these embeddings (the features
                changed since training, or other embeddings).
        """
        payload = json.loads((folder / FILTER_FILE).read_text(encoding="utf-8"))
        expected = list(feature_names(embeddings.vectors.vector_size))
        if payload["features"] != expected:
            raise ValueError(f"{folder / FILTER_FILE} was trained on other features; retrain it")
        as_array = lambda key: np.asarray(payload[key], dtype=np.float64)  # noqa: E731
        return cls(
            embeddings,
            as_array("mean"),
            as_array("scale"),
            as_array("coef"),
            float(payload["intercept"]),
            float(payload["threshold"]),
        )
