"""Topic quality: a BERTopic-style baseline built from the same Word2Vec embeddings, and the two measures the
topics card reports for it and for :func:`nlp.analysis.topics.discover_topics`.

The baseline follows BERTopic (Grootendorst 2022, "BERTopic: Neural topic modeling with a class-based TF-IDF
procedure", arXiv:2203.05794): embed every document, cluster the document vectors, and describe each cluster
by its class-based TF-IDF (c-TF-IDF) top terms. Here the document vector is the registered phrase-aware
Word2Vec's unit mean of the review's words (:meth:`nlp.analysis.embeddings.PhraseEmbeddings.vector`), the clustering
is k-means with the same number of topics as ours (BERTopic's documented ``hdbscan_model=KMeans(...)``
option, without UMAP, whose numba stack is not worth a baseline), and the c-TF-IDF vocabulary is the same
aspect terms ours clusters (BERTopic's ``vectorizer_model`` restricted to them), so that both are scored on
one reference corpus. c-TF-IDF as BERTopic's ``ClassTfidfTransformer``: per cluster, the l1-normalised term
counts times ``log(1 + A / f_t)``, with ``A`` the mean number of term mentions per cluster and ``f_t`` the
term's mentions over all clusters.

Measures: NPMI coherence (:func:`nlp.analysis.topics.npmi_coherence`, gensim's C_NPMI with whole reviews as the
window) of each topic's top-10 terms over held-out reviews, and topic diversity (Dieng et al. 2020, "Topic
Modeling in Embedding Spaces"): the share of unique terms among all topics' top-25 terms.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Sequence

import numpy as np
from sklearn.cluster import KMeans

from nlp.analysis.embeddings import PhraseEmbeddings
from nlp.analysis.topics import TopicModel, npmi_coherence

#: Terms per topic scored by NPMI, and by diversity (Dieng et al. 2020 use 25).
NPMI_TOP_N = 10
DIVERSITY_TOP_N = 25


def topic_diversity(topic_terms: Sequence[Sequence[str]], top_n: int = DIVERSITY_TOP_N) -> float:
    """Share of unique terms among all topics' first ``top_n`` terms, in [0, 1] (Dieng et al. 2020);
    1.0 when no term is in two topics. 0.0 for no terms."""
    words = [t for terms in topic_terms for t in terms[:top_n]]
    return len(set(words)) / len(words) if words else 0.0


def ctfidf_topics(
    doc_vectors: np.ndarray,
    doc_terms: Sequence[Sequence[str]],
    vocabulary: Sequence[str],
    k: int,
    seed: int = 13,
    top_n: int = 30,
) -> list[list[str]]:
    """BERTopic-style topics: k-means on the document vectors, then each cluster's top c-TF-IDF terms.

    Args:
        doc_vectors: ``(documents, dim)`` unit document embeddings.
        doc_terms: per document (same order), its terms.
        vocabulary: the terms c-TF-IDF may rank (others are ignored).
        k: number of clusters (topics).
        top_n: terms kept per topic, best first.

    Returns:
        ``k`` lists of terms; a cluster without vocabulary terms gives an empty list.

    Raises:
        ValueError: fewer documents than ``k``, or ``doc_vectors`` and ``doc_terms`` differ in length.
    """
    if len(doc_vectors) != len(doc_terms):
        raise ValueError(f"{len(doc_vectors)} document vectors for {len(doc_terms)} documents")
    if len(doc_vectors) < k:
        raise ValueError(f"{len(doc_vectors)} documents cannot make {k} clusters")
    labels = KMeans(n_clusters=k, n_init=5, random_state=seed).fit_predict(doc_vectors)
    index = {t: i for i, t in enumerate(vocabulary)}
    counts = np.zeros((k, len(vocabulary)))
    for label, terms in zip(labels, doc_terms, strict=True):
        for term, n in Counter(terms).items():
            if term in index:
                counts[label, index[term]] += n
    frequency = counts.sum(axis=0)
    average = counts.sum(axis=1).mean()
    idf = np.log(1 + average / np.maximum(frequency, 1))
    tf = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
    weights = tf * idf
    ranked = np.argsort(-weights, axis=1, kind="stable")
    return [[vocabulary[j] for j in row[:top_n] if weights[c, j] > 0] for c, row in enumerate(ranked)]


def bertopic_style_baseline(
    texts: Sequence[str],
    doc_terms: Sequence[Sequence[str]],
    embeddings: PhraseEmbeddings,
    vocabulary: Sequence[str],
    k: int,
    seed: int = 13,
) -> tuple[list[list[str]], float]:
    """``(topics, seconds)``: :func:`ctfidf_topics` over ``texts`` embedded with ``embeddings`` (a text
    with no known word is left out); ``seconds`` is the wall time of embedding, clustering and ranking.

    Raises:
        ValueError: see :func:`ctfidf_topics`.
    """
    started = time.perf_counter()
    vectors, kept = [], []
    for text, terms in zip(texts, doc_terms, strict=True):
        vec = embeddings.vector(text)
        if vec is not None:
            vectors.append(vec)
            kept.append(terms)
    topics = ctfidf_topics(np.asarray(vectors, dtype=np.float32), kept, vocabulary, k, seed)
    return topics, time.perf_counter() - started


def topic_quality(topic_terms: Sequence[Sequence[str]], held_out: Sequence[Sequence[str]]) -> dict:
    """``{"npmi", "npmi_topics", "diversity"}``: the mean NPMI of the topics' top-10 terms over the held-out
    documents' terms (over the topics with at least two of them present, counted in ``npmi_topics``), and the
    topic diversity of their top-25 terms; rounded to 4 places."""
    scores = npmi_coherence([list(t[:NPMI_TOP_N]) for t in topic_terms], held_out)
    scored = [s for s in scores if not np.isnan(s)]
    return {
        "npmi": round(float(np.mean(scored)), 4) if scored else None,
        "npmi_topics": len(scored),
        "diversity": round(topic_diversity(topic_terms), 4),
    }


def model_terms(model: TopicModel) -> list[list[str]]:
    """Each topic's terms, best first, as :func:`topic_quality` takes them."""
    return [[t for t, _ in topic.terms] for topic in model.topics]
