"""Topics discovered in the Word2Vec space by clustering aspect terms (BERTopic-style topic table).

Frequent aspect terms of the review corpus are embedded (:class:`nlp.analysis.embeddings.PhraseEmbeddings`) and
clustered with spherical k-means (k-means on unit vectors, weighted by term frequency). The number of topics
k is the one whose topics are most coherent (mean NPMI of their top terms over the reviews, gensim's C_NPMI:
:func:`npmi_coherence`) among a range of candidates; NPMI and the cosine silhouette (Rousseeuw 1987) of every
candidate are kept in the artifact. A topic's label is its three most central frequent terms. A term
whose similarity to its nearest centroid is below the 10th percentile of the training terms' similarities is
an outlier: topic -1, as in BERTopic.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from gensim.corpora import Dictionary
from gensim.models import CoherenceModel
from sklearn.cluster import KMeans
from sklearn.metrics import silhouette_score
from tqdm.auto import tqdm

from nlp.analysis.embeddings import PhraseEmbeddings

OUTLIER_ID = -1
OUTLIER_LABEL = "outlier"
TOPICS_FILE = "topics.json"


@dataclass
class Topic:
    """One topic: ``id`` (0..k-1), readable ``label``, ``size`` (corpus reviews mentioning it), its terms
    with corpus counts (most central first)."""

    id: int
    label: str
    size: int
    terms: list[tuple[str, int]]


@dataclass
class TopicScore:
    """A review's share of aspect mentions that fall in a topic (0..1)."""

    id: int
    label: str
    score: float


class TopicModel:
    """Aspect-term topics: assign a term to a topic, score a review's aspects, and print the topic table."""

    def __init__(self, topics: list[Topic], centroids: np.ndarray, threshold: float, selection: dict) -> None:
        self.topics = topics
        self.centroids = centroids  # (k, dim), unit rows
        self.threshold = threshold
        self.selection = selection
        self._by_id = {t.id: t for t in topics}

    def label(self, topic_id: int) -> str:
        return OUTLIER_LABEL if topic_id == OUTLIER_ID else self._by_id[topic_id].label

    def assign(self, vector: np.ndarray | None) -> tuple[int, float]:
        """``(topic id, cosine similarity)`` for a unit term vector; ``(-1, 0.0)`` for none or an outlier."""
        if vector is None:
            return OUTLIER_ID, 0.0
        sims = self.centroids @ vector
        best = int(np.argmax(sims))
        return (best, float(sims[best])) if sims[best] >= self.threshold else (OUTLIER_ID, float(sims[best]))

    def score(self, topic_ids: Sequence[int]) -> list[TopicScore]:
        """Topic shares of a review's aspect mentions, largest first; no mentions -> ``[outlier 1.0]``."""
        counts = Counter(topic_ids) if topic_ids else Counter({OUTLIER_ID: 1})
        total = sum(counts.values())
        return [TopicScore(t, self.label(t), round(c / total, 4)) for t, c in counts.most_common()]

    def info(self) -> list[dict]:
        """The topic table, like BERTopic's ``get_topic_info()``: id, label, size, top terms."""
        return [
            {"id": t.id, "label": t.label, "size": t.size, "terms": [w for w, _ in t.terms[:10]]}
            for t in self.topics
        ]

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        payload = {
            "threshold": self.threshold,
            "selection": self.selection,
            "topics": [asdict(t) for t in self.topics],
            "centroids": np.round(self.centroids, 5).tolist(),
        }
        (folder / TOPICS_FILE).write_text(json.dumps(payload) + "\n")

    @classmethod
    def load(cls, folder: Path) -> TopicModel:
        """Raises ``FileNotFoundError`` when ``folder`` holds no topic table."""
        if not (folder / TOPICS_FILE).exists():
            raise FileNotFoundError(f"{folder} holds no {TOPICS_FILE}; run `reviewpulse train topics`")
        data = json.loads((folder / TOPICS_FILE).read_text())
        topics = [
            Topic(t["id"], t["label"], t["size"], [tuple(x) for x in t["terms"]]) for t in data["topics"]
        ]
        return cls(
            topics, np.asarray(data["centroids"], dtype=np.float32), data["threshold"], data["selection"]
        )


def npmi_coherence(topic_terms: Sequence[Sequence[str]], docs: Sequence[Iterable[str]]) -> list[float]:
    """Per topic, the mean NPMI of its term pairs over ``docs``, with whole documents as the window.

    gensim's ``CoherenceModel(coherence="c_npmi")``: C_NPMI of Roeder et al. (2015), NPMI of Bouma (2009),
    ``log((p(a,b) + eps) / (p(a) p(b))) / -log(p(a,b) + eps)`` with ``eps = 1e-12``, averaged over the term
    pairs of a topic. gensim counts co-occurrences in sliding windows of ``window_size`` tokens and takes a
    shorter document whole (``ignore_below_size=False``), so a window as long as the longest document makes
    every document one window: the boolean-document estimate, as a review's aspect terms have no order.
    A pair that never co-occurs scores ``(log eps - log p(a) p(b)) / -log eps``, not -1: from -0.67 to -0.92
    as ``p(a) p(b)`` goes from 1e-4 to 0.1.

    Args:
        topic_terms: per topic, its top terms (best first).
        docs: the reference corpus: per document, its terms (order and repeats do not matter).

    Returns:
        One score in [-1, 1] per topic; NaN for a topic with fewer than two terms that occur in ``docs``
        (terms absent from ``docs`` are left out, as gensim cannot estimate their probability).
    """
    texts = [sorted(set(doc)) for doc in docs]
    dictionary = Dictionary(texts)
    present = [[t for t in terms if t in dictionary.token2id] for terms in topic_terms]
    scored = [terms for terms in present if len(terms) >= 2]
    values = iter(
        CoherenceModel(
            topics=scored,
            texts=texts,
            dictionary=dictionary,
            coherence="c_npmi",
            window_size=max(max((len(t) for t in texts), default=1), 1),
            topn=max(len(t) for t in scored),
            processes=1,
        ).get_coherence_per_topic()
        if scored
        else []
    )
    return [float(next(values)) if len(terms) >= 2 else math.nan for terms in present]


def _ranked_members(terms, counts, labels, sims, cluster: int, threshold: float) -> list[str]:
    """A cluster's non-outlier terms, most central and frequent first (similarity x log count)."""
    members = [(t, s) for t, c, s in zip(terms, labels, sims, strict=True) if c == cluster and s >= threshold]
    members.sort(key=lambda ts: -ts[1] * math.log1p(counts[ts[0]]))
    return [t for t, _ in members]


def default_min_count(documents: int) -> int:
    """Mentions a term needs to take part in topics: one per 1,200 documents, between 3 and 15 (12 for
    15,000 reviews; 3 below 4,800, a shop's first reviews)."""
    return max(3, min(15, documents // 1200))


def candidate_terms(
    docs: Sequence[Iterable[str]], embeddings: PhraseEmbeddings, min_count: int, max_terms: int = 2000
) -> list[str]:
    """The terms topics are made of: the ``max_terms`` most frequent terms of ``docs`` (counted once per
    document) with at least ``min_count`` mentions and a vector in ``embeddings``, most frequent first."""
    counts = Counter(t for terms in docs for t in set(terms))
    return [
        term
        for term, count in counts.most_common(max_terms)
        if count >= min_count and embeddings.vector(term) is not None
    ]


def discover_topics(
    doc_terms: Iterable[list[str]],
    embeddings: PhraseEmbeddings,
    k_candidates: Sequence[int] = tuple(range(6, 31, 2)),
    min_count: int | None = None,
    max_terms: int = 2000,
    seed: int = 13,
    progress: bool = True,
) -> TopicModel:
    """Cluster the aspect terms of a corpus into topics, choosing k by topic coherence (NPMI).

    For every candidate k (those with at least two terms per topic), spherical k-means clusters the term
    vectors; k is the one whose topics' top-10 terms have the highest mean NPMI over the reviews
    (:func:`npmi_coherence`; a topic with fewer than two terms is left out of the mean). The cosine
    silhouette of every k is recorded too (it favours the fewest, broadest clusters on these data).

    Args:
        doc_terms: per review, its aspect terms (:func:`nlp.analysis.aspects.aspect_terms`).
        min_count: a term needs this many mentions to take part (default: :func:`default_min_count`).

    Raises:
        ValueError: fewer usable terms than twice the smallest candidate k.
    """
    docs = [set(terms) for terms in doc_terms]
    min_count = default_min_count(len(docs)) if min_count is None else min_count
    counts = Counter(t for terms in docs for t in terms)
    terms = candidate_terms(docs, embeddings, min_count, max_terms)
    k_candidates = [k for k in k_candidates if 2 * k <= len(terms)]
    if not k_candidates:
        raise ValueError(
            f"only {len(terms)} aspect terms with >= {min_count} mentions in {len(docs)} reviews: too few for topics"
        )
    vectors = [embeddings.vector(t) for t in terms]
    x = np.asarray(vectors, dtype=np.float32)
    weights = np.array([math.log1p(counts[t]) for t in terms])

    coherence, silhouette, fits = {}, {}, {}
    for k in tqdm(k_candidates, desc="choosing k", disable=not progress):
        km = KMeans(n_clusters=k, n_init=5, random_state=seed).fit(x, sample_weight=weights)
        centroids = km.cluster_centers_ / np.linalg.norm(km.cluster_centers_, axis=1, keepdims=True)
        sims = np.einsum("ij,ij->i", x, centroids[km.labels_])
        threshold = float(np.percentile(sims, 10))
        ranked = [_ranked_members(terms, counts, km.labels_, sims, c, threshold) for c in range(k)]
        coherence[str(k)] = round(float(np.nanmean(npmi_coherence([r[:10] for r in ranked], docs))), 4)
        silhouette[str(k)] = round(
            float(silhouette_score(x, km.labels_, metric="cosine", random_state=seed)), 4
        )
        fits[k] = (centroids, threshold, ranked)
    chosen = max(k_candidates, key=lambda k: coherence[str(k)])
    centroids, threshold, ranked = fits[chosen]

    term_topic = {t: c for c, members in enumerate(ranked) for t in members}
    sizes = Counter(topic for terms_ in docs for topic in {term_topic[t] for t in terms_ if t in term_topic})
    topics = [
        Topic(c, ", ".join(members[:3]), sizes.get(c, 0), [(t, counts[t]) for t in members[:30]])
        for c, members in enumerate(ranked)
    ]
    selection = {
        "criterion": "npmi",
        "min_count": min_count,
        "npmi": coherence,
        "silhouette_cosine": silhouette,
        "chosen_k": chosen,
    }
    return TopicModel(topics, centroids.astype(np.float32), round(threshold, 4), selection)
