"""Unit tests for nlp.analysis.topics.TopicModel on a hand-made model, and the pure parts of nlp.analysis.embeddings."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from gensim.models import KeyedVectors

from nlp.analysis.embeddings import PhraseEmbeddings, tokenize
from nlp.analysis.topics import OUTLIER_ID, OUTLIER_LABEL, TOPICS_FILE, Topic, TopicModel, TopicScore

THRESHOLD = 0.5


def _unit(*values: float) -> np.ndarray:
    vec = np.asarray(values, dtype=np.float32)
    return vec / np.linalg.norm(vec)


@pytest.fixture
def model() -> TopicModel:
    """Three topics on the first three axes of a 4-d space; the fourth axis belongs to no topic."""
    topics = [
        Topic(0, "fit, size, sizing", 120, [("fit", 50), ("size", 40), ("sizing", 9)]),
        Topic(1, "fabric, material", 80, [("fabric", 60), ("material", 20)]),
        Topic(2, "color, colour", 30, [(f"term{i}", 20 - i) for i in range(12)]),
    ]
    centroids = np.eye(3, 4, dtype=np.float32)
    return TopicModel(topics, centroids, THRESHOLD, {"silhouette_cosine": {"3": 0.41}, "chosen_k": 3})


@pytest.mark.parametrize(
    ("vector", "topic", "sim"),
    [
        (_unit(1, 0, 0, 0), 0, 1.0),
        (_unit(0, 1, 0, 0), 1, 1.0),
        (_unit(0.2, 0.1, 1, 0), 2, float(_unit(0.2, 0.1, 1, 0)[2])),
        (_unit(1, 0, 0, 1), 0, float(np.sqrt(0.5))),  # 0.707 >= threshold
        (np.array([0.5, 0, 0, np.sqrt(0.75)]), 0, 0.5),  # exactly at the threshold counts as inside
    ],
)
def test_assign_nearest_topic(model: TopicModel, vector: np.ndarray, topic: int, sim: float) -> None:
    assigned, similarity = model.assign(vector)
    assert assigned == topic
    assert similarity == pytest.approx(sim, abs=1e-5)
    assert isinstance(similarity, float)


@pytest.mark.parametrize(
    "vector",
    [_unit(0, 0, 0, 1), _unit(0.3, 0.2, 0.1, 1), _unit(-1, 0, 0, 0), _unit(1, 0, 0, 2)],
)
def test_assign_below_threshold_is_outlier(model: TopicModel, vector: np.ndarray) -> None:
    assigned, similarity = model.assign(vector)
    assert assigned == OUTLIER_ID == -1
    assert similarity < THRESHOLD
    # The similarity reported is still that of the nearest centroid.
    assert similarity == pytest.approx(float(np.max(model.centroids @ vector)), abs=1e-6)


def test_assign_none(model: TopicModel) -> None:
    assert model.assign(None) == (-1, 0.0)


def test_score_no_mentions_is_outlier(model: TopicModel) -> None:
    assert model.score([]) == [TopicScore(-1, OUTLIER_LABEL, 1.0)]


@pytest.mark.parametrize(
    ("ids", "expected"),
    [
        ([0, 0, 1], [(0, "fit, size, sizing", 0.6667), (1, "fabric, material", 0.3333)]),
        ([2], [(2, "color, colour", 1.0)]),
        ([1, -1, 1, 1], [(1, "fabric, material", 0.75), (-1, OUTLIER_LABEL, 0.25)]),
        (
            (0, 1, 2),
            [(0, "fit, size, sizing", 0.3333), (1, "fabric, material", 0.3333), (2, "color, colour", 0.3333)],
        ),
    ],
)
def test_score_shares_largest_first(model: TopicModel, ids: list[int], expected: list[tuple]) -> None:
    scores = model.score(ids)
    assert [(s.id, s.label, s.score) for s in scores] == expected
    assert sum(s.score for s in scores) == pytest.approx(1.0, abs=1e-3)


@pytest.mark.parametrize(
    ("topic_id", "label"), [(0, "fit, size, sizing"), (2, "color, colour"), (-1, "outlier")]
)
def test_label(model: TopicModel, topic_id: int, label: str) -> None:
    assert model.label(topic_id) == label


def test_label_unknown_id_raises(model: TopicModel) -> None:
    with pytest.raises(KeyError):
        model.label(7)


def test_info_table(model: TopicModel) -> None:
    info = model.info()
    assert [row["id"] for row in info] == [0, 1, 2]
    assert info[0] == {"id": 0, "label": "fit, size, sizing", "size": 120, "terms": ["fit", "size", "sizing"]}
    assert info[2]["terms"] == [f"term{i}" for i in range(10)]  # at most ten terms, in order


def test_save_load_round_trip(model: TopicModel, tmp_path: Path) -> None:
    folder = tmp_path / "topics" / "v1"
    model.save(folder)
    assert (folder / TOPICS_FILE).exists()
    loaded = TopicModel.load(folder)
    assert [model.label(t.id) for t in model.topics] == [loaded.label(t.id) for t in loaded.topics]
    assert loaded.info() == model.info()
    assert loaded.topics == model.topics  # terms come back as (term, count) tuples
    assert loaded.threshold == model.threshold
    assert loaded.selection == model.selection
    assert loaded.centroids.shape == model.centroids.shape
    assert np.allclose(loaded.centroids, model.centroids, atol=1e-5)
    vector = _unit(0.2, 1, 0.1, 0.3)
    assert loaded.assign(vector) == pytest.approx(model.assign(vector))


def test_save_load_keeps_non_axis_centroids(tmp_path: Path) -> None:
    centroids = np.stack([_unit(1, 2, 3), _unit(-3, 1, 0.5)])
    model = TopicModel([Topic(0, "a", 1, []), Topic(1, "b", 2, [])], centroids, 0.4321, {})
    model.save(tmp_path)
    loaded = TopicModel.load(tmp_path)
    assert np.allclose(loaded.centroids, centroids, atol=1e-5)
    assert loaded.threshold == 0.4321


def test_load_missing_raises(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=TOPICS_FILE):
        TopicModel.load(tmp_path)


# --- nlp.analysis.embeddings: tokenize, term_key and vector on hand-made KeyedVectors -----------------------


@pytest.fixture
def embeddings() -> PhraseEmbeddings:
    kv = KeyedVectors(vector_size=4)
    kv.add_vectors(
        ["battery_life", "battery", "life", "soft", "fabric", "empty"],
        np.array(
            [
                [0, 3, 4, 0],
                [2, 0, 0, 0],
                [0, 0, 0, 5],
                [0, 2, 0, 0],
                [1, 1, 1, 1],
                [0, 0, 0, 0],
            ],
            dtype=np.float32,
        ),
    )
    return PhraseEmbeddings([], kv)


@pytest.mark.parametrize(
    ("text", "tokens"),
    [
        ("Battery Life is GREAT!", ["battery", "life", "is", "great"]),
        ("Don't buy it, 10/10", ["don't", "buy", "it", "10", "10"]),
        ("Tom &amp; Jerry<br />again", ["tom", "jerry", "again"]),
        ("", []),
    ],
)
def test_tokenize(text: str, tokens: list[str]) -> None:
    assert tokenize(text) == tokens


@pytest.mark.parametrize(("text", "words"), [("naïve café", 2), ("Don\u2019t buy", 2)])
def test_tokenize_non_ascii_words(text: str, words: int) -> None:
    # Whatever the fix (keep the letters, strip accents, map \u2019 to '), each word stays one token.
    assert len(tokenize(text)) == words


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("Battery Life", "battery_life"),
        ("battery  life", "battery_life"),
        ("true to size", "true_to_size"),
        ("", ""),
    ],
)
def test_term_key(embeddings: PhraseEmbeddings, text: str, key: str) -> None:
    assert embeddings.term_key(text) == key


def test_phrase_without_phrasers_is_identity(embeddings: PhraseEmbeddings) -> None:
    assert embeddings.phrase(["battery", "life"]) == ["battery", "life"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Battery Life", [0, 0.6, 0.8, 0]),  # the phrase key wins over the mean of its words
        ("soft", [0, 1, 0, 0]),
        ("soft battery", [np.sqrt(0.5), np.sqrt(0.5), 0, 0]),  # mean of (2,0,0,0) and (0,2,0,0)
        ("soft unknownword", [0, 1, 0, 0]),  # unknown words are skipped
        ("FABRIC", [0.5, 0.5, 0.5, 0.5]),
    ],
)
def test_vector_is_unit(embeddings: PhraseEmbeddings, text: str, expected: list[float]) -> None:
    vec = embeddings.vector(text)
    assert vec is not None
    assert np.linalg.norm(vec) == pytest.approx(1.0, abs=1e-6)
    assert np.allclose(vec, expected, atol=1e-6)


@pytest.mark.parametrize("text", ["unknownword", "", "!!!", "empty"])
def test_vector_none(embeddings: PhraseEmbeddings, text: str) -> None:
    assert embeddings.vector(text) is None


def test_embedding_vector_assigns_to_topic(embeddings: PhraseEmbeddings) -> None:
    centroids = np.stack([_unit(0, 1, 0, 0), _unit(0, 0, 0, 1)])
    model = TopicModel([Topic(0, "soft", 1, []), Topic(1, "life", 1, [])], centroids, 0.9, {})
    assert model.assign(embeddings.vector("soft")) == (0, pytest.approx(1.0))
    assert model.assign(embeddings.vector("life")) == (1, pytest.approx(1.0))
    assert model.assign(embeddings.vector("unknownword")) == (OUTLIER_ID, 0.0)
    assert model.assign(embeddings.vector("battery life"))[0] == OUTLIER_ID  # 0.6 < 0.9


def test_npmi_coherence_by_hand() -> None:
    """gensim's c_npmi with whole documents as the window, against the formula worked by hand; on pairs that
    co-occur it equals the hand-written function it replaced (checked on this corpus to 1e-6), on a pair that
    never does it scores (log eps - log p(a)p(b)) / -log eps instead of that function's -1."""
    from nlp.analysis.topics import npmi_coherence

    eps = 1e-12
    # whole documents, in any order and with repeats: only presence counts; the empty one counts as a document
    docs = [["a", "b"], ["b", "a", "a"], ["c"], ["a"], [], ["c", "d", "a"]]
    n = len(docs)
    p_a, p_b, p_c, p_d = 4 / n, 2 / n, 2 / n, 1 / n

    def npmi(joint: float, first: float, second: float) -> float:
        return math.log((joint + eps) / (first * second)) / -math.log(joint + eps)

    together, apart, mixed = npmi_coherence([["a", "b"], ["b", "c"], ["a", "c", "d"]], docs)
    assert together == pytest.approx(npmi(2 / n, p_a, p_b), abs=1e-9)
    assert together == pytest.approx(math.log((2 / n) / (p_a * p_b)) / -math.log(2 / n), abs=1e-9)
    assert apart == pytest.approx(npmi(0.0, p_b, p_c), abs=1e-9)
    assert -1.0 < apart < -0.9  # never together: -0.92 here, where the old function said -1
    assert mixed == pytest.approx(
        (npmi(1 / n, p_a, p_c) + npmi(1 / n, p_a, p_d) + npmi(1 / n, p_c, p_d)) / 3, abs=1e-9
    )


def test_npmi_coherence_leaves_out_terms_absent_from_the_corpus() -> None:
    from nlp.analysis.topics import npmi_coherence

    docs = [["a", "b"], ["a"], ["b", "c"]]
    both, lone = npmi_coherence([["a", "zz", "b"], ["a", "zz"]], docs)
    assert both == npmi_coherence([["a", "b"]], docs)[0]
    assert math.isnan(lone)  # one known term: no pair to score


def test_npmi_coherence_window_is_the_whole_document() -> None:
    """Terms far apart in a long document co-occur (gensim's default c_npmi window of 10 tokens would miss
    them): a and b are together in every document, so their NPMI is 1 up to eps."""
    from nlp.analysis.topics import npmi_coherence

    filler = [f"w{i}" for i in range(30)]
    docs = [["a", *filler, "b"], ["a", *filler, "b"], ["c"]]
    [score] = npmi_coherence([["a", "b"]], docs)
    assert score == pytest.approx(1.0, abs=1e-6)


# --- nlp.training.topics_eval: topic diversity and the BERTopic-style c-TF-IDF baseline ----------------------


def test_topic_diversity() -> None:
    from nlp.training.topics_eval import topic_diversity

    assert topic_diversity([["a", "b"], ["c", "d"]]) == 1.0
    assert topic_diversity([["a", "b"], ["a", "c"]]) == 0.75
    assert topic_diversity([[f"t{i}" for i in range(30)], [f"t{i}" for i in range(30)]]) == 0.5  # top-25 each
    assert topic_diversity([]) == 0.0


def test_ctfidf_topics_describe_each_cluster_by_its_own_terms() -> None:
    from nlp.training.topics_eval import ctfidf_topics

    # two tight groups of documents; "dress" is everywhere, so c-TF-IDF ranks it below each group's own terms
    vectors = np.array(
        [_unit(1, 0.01 * i, 0, 0) for i in range(5)] + [_unit(0, 0.01 * i, 1, 0) for i in range(5)]
    )
    terms = [["fit", "size", "dress"]] * 5 + [["colour", "print", "dress"]] * 5
    topics = ctfidf_topics(
        vectors, terms, ["dress", "fit", "size", "colour", "print", "unused"], k=2, top_n=3
    )
    first, second = sorted(topics, key=lambda t: t[0])
    assert set(first[:2]) == {"colour", "print"} and first[2] == "dress"
    assert set(second[:2]) == {"fit", "size"} and second[2] == "dress"
    with pytest.raises(ValueError, match="cannot make 3 clusters"):
        ctfidf_topics(vectors[:2], terms[:2], ["fit"], k=3)
    with pytest.raises(ValueError, match="2 document vectors for 3 documents"):
        ctfidf_topics(vectors[:2], terms[:3], ["fit"], k=1)
