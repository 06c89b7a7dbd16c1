"""The pure recommender (nlp.recommend.recommender): similarities, smoothing, reasons, cold start, empty input."""

from __future__ import annotations

import math
import zlib

import numpy as np
import pytest

from nlp.recommend.evaluation import evaluate_rankings, ndcg_at_k
from nlp.recommend.recommender import (
    Interactions,
    ItemKNN,
    Product,
    QualityModel,
    Recommender,
    ReviewStats,
    UnknownProductError,
    aspect_of_term,
    bayesian_average,
    co_occurrence,
    content_terms,
    cosine_neighbours,
    pearson_similarity,
    query_aspect,
)

# u1 bought A, B (and returned D: negative quantity, skipped); u2 A, B, C; u3 C; u4 D (3, twice: summed)
TRIPLES = [("u1", "A", 1), ("u1", "B", 2), ("u2", "A", 1), ("u2", "B", 1), ("u2", "C", 1), ("u3", "C", 1),
           ("u4", "D", 3), ("u4", "D", 3), ("u1", "D", -1)]  # fmt: skip
PRODUCTS = [
    Product("A", "Tea pot", "Kitchen", price=20.0),
    Product("B", "Tea cups", "Kitchen", price=8.0),
    Product("C", "Candle", "Home", price=5.0),
    Product("D", "Doormat", "Home", price=15.0),
    Product("E", "New vase", "Home", price=30.0),
]


def test_interactions_matrix():
    data = Interactions.from_triples(TRIPLES, items=["A", "B", "C", "D", "E"])
    assert data.matrix.shape == (4, 5)
    assert data.matrix[data.user_index["u4"], data.item_index["D"]] == 6  # repeats summed
    assert data.buyers().tolist() == [2, 2, 2, 1, 0]
    assert sorted(data.items[i] for i in data.history("u2")) == ["A", "B", "C"]
    assert len(data.history("nobody")) == 0


def test_cosine_and_pearson_by_hand():
    data = Interactions.from_triples(TRIPLES)
    a, b, c, d = (data.item_index[x] for x in "ABCD")
    cosine, co = cosine_neighbours(data.binary(), neighbours=100), co_occurrence(data.binary())
    assert cosine[a, b] == pytest.approx(2 / math.sqrt(2 * 2))  # 1.0
    assert cosine[a, c] == pytest.approx(1 / math.sqrt(2 * 2))  # 0.5
    assert cosine[a, d] == 0 and cosine[a, a] == 0 and co[a, b] == 2
    assert cosine_neighbours(data.binary(), neighbours=1)[c].nnz == 1  # the item itself is not a neighbour
    pearson = pearson_similarity(data.binary())
    n = 4  # (n c_ab - c_a c_b) / sqrt(c_a (n - c_a) c_b (n - c_b))
    assert pearson[a, b] == pytest.approx((n * 2 - 2 * 2) / math.sqrt(2 * 2 * 2 * 2))  # 1.0
    assert pearson[a, c] == pytest.approx((n * 1 - 2 * 2) / 4)  # 0: bought together as often as by chance
    with pytest.raises(ValueError, match="unknown similarity"):
        ItemKNN("jaccard")


def test_item_knn_scores_and_because():
    data = Interactions.from_triples(TRIPLES)
    knn = ItemKNN("cosine").fit(data)
    history = data.history("u1")  # A, B
    scores = knn.scores(history)
    assert np.isneginf(scores[history]).all()
    c = data.item_index["C"]
    assert scores[c] == pytest.approx(1.0)  # 0.5 from A + 0.5 from B
    source, together = knn.because(c, history)
    assert data.items[source] in {"A", "B"} and together == 1


def test_bayesian_average_two_glowing_reviews_do_not_beat_300_good_ones():
    assert bayesian_average(5.0, 0, 3.8, 10) == 3.8
    few = bayesian_average(5.0, 2, 3.8, 10)
    many = bayesian_average(4.5, 300, 3.8, 10)
    assert few == pytest.approx((10 * 3.8 + 2 * 5.0) / 12) and many > few
    quality = QualityModel(
        {
            "glowing": ReviewStats(reviews=2, ratings=2, mean_rating=5.0, positive=2),
            "good": ReviewStats(reviews=300, ratings=300, mean_rating=4.5, positive=270),
            "poor": ReviewStats(reviews=50, ratings=50, mean_rating=2.0, positive=10),
        }
    )
    assert quality.score("good") > quality.score("glowing") > quality.score("poor")
    assert quality.score("unknown") is None


def test_aspect_mapping_and_reasons_text():
    assert query_aspect("a dress that runs true to size") == "fit"
    assert query_aspect("soft fabric") == "fabric" and query_aspect("bright colour") == "colour"
    assert query_aspect("a gift for a tea lover") is None and query_aspect(None) is None
    assert aspect_of_term("sizing") == "fit" and aspect_of_term("zipper") is None
    quality = QualityModel({"P": ReviewStats(reviews=120, ratings=100, mean_rating=4.36, positive=90,
                                              aspects={"fit": (73, 120)})})  # fmt: skip
    assert quality.reasons("P", "fit") == [
        "praised for fit in 61% of 120 mentions",
        "rated 4.4/5 over 100 reviews",
    ]


def test_reasons_never_contradict_themselves():
    """Issue 27: "rated 1.0/5 over 1 review; positive in 100% of 1 review", "praised for fit in 0% of 1
    mentions"."""
    quality = QualityModel({
        "sarcastic": ReviewStats(reviews=1, ratings=1, mean_rating=1.0, positive=1, aspects={"fit": (0, 1)}),
        "unrated": ReviewStats(reviews=3, positive=2, aspects={"fit": (1, 3)}),
    })  # fmt: skip
    assert quality.reasons("sarcastic", "fit") == [
        "fit praised in only 0 of 1 mention",
        "rated 1.0/5 over 1 review",
    ]
    assert quality.reasons("unrated", "fit") == [
        "fit praised in only 1 of 3 mentions",
        "positive in 67% of 3 reviews",
    ]
    assert quality.aspect_score("P", "fabric") is None


def test_recommender_strategies_and_reasons():
    rec = Recommender(PRODUCTS, TRIPLES, content=False)
    bought = rec.recommend(product_id="A", k=5)
    assert bought.strategy == "also_bought"
    assert bought.items[0].product_id == "B"
    assert bought.items[0].reasons == ["bought together with Tea pot by 2 customers"]
    assert all(item.reasons for item in bought.items)
    for category in ("Home", "home", "HOME"):  # any case
        assert [i.product_id for i in rec.recommend(product_id="A", category=category).items] == ["C"]
    assert rec.recommend(product_id="A", max_price=6).items[0].product_id == "C"

    mine = rec.recommend(user_id="u1")
    assert mine.strategy == "for_you" and "A" not in {i.product_id for i in mine.items}
    with pytest.raises(UnknownProductError, match="ZZZ"):
        rec.recommend(product_id="ZZZ")
    with pytest.raises(ValueError):
        rec.recommend(k=0)


def test_cold_start_and_nothing_to_go_on():
    rec = Recommender(PRODUCTS, TRIPLES, content=False)
    cold = rec.recommend(user_id="new-customer", category="Home")
    assert cold.strategy == "popular" and "new-customer" in (cold.reason or "")
    assert [i.product_id for i in cold.items] == ["C", "D"]  # E: nobody bought it, no reviews
    assert cold.items[0].reasons == ["popular: bought by 2 customers"]
    # a new product nobody bought yet (and no text index): popular items of its category
    new = rec.recommend(product_id="E")
    assert new.strategy == "popular" and [i.product_id for i in new.items] == ["C", "D"]

    empty = Recommender(PRODUCTS, [], content=False).recommend(user_id="x")
    assert empty.items == [] and empty.strategy == "none" and "no interactions" in (empty.reason or "")
    reviewed = Recommender(
        PRODUCTS, [], QualityModel({"E": ReviewStats(reviews=3, positive=3)}), content=False
    ).recommend()
    assert [i.product_id for i in reviewed.items] == ["E"] and reviewed.items[0].reasons


def bag_of_words(texts: list[str]) -> np.ndarray:
    """A stand-in for MiniLM: one dimension every text shares (so, like MiniLM, any two texts are somewhat
    similar) plus one per word (hashed)."""
    out = np.zeros((len(texts), 64), dtype=np.float32)
    out[:, 0] = 1.0
    for i, text in enumerate(texts):
        for word in content_terms(text):
            out[i, 1 + zlib.crc32(word.encode()) % 63] += 1.0
    return out


SHOP = [
    Product("T1", "Earl Grey tea", "Tea", price=5.0),
    Product("C1", "Wool winter coat", "Coats", price=120.0),
    Product("H1", "Linen wrap dress", "Dresses", price=89.0),
    Product("K1", "Scented candles", "Home", price=8.0),
]


def test_a_query_no_product_or_review_mentions_gets_an_empty_list_with_a_reason():
    """QA: "xqzzv blorp" and "cheap headphones" (max_price 10) got Earl Grey tea, 'matches "<query>"'."""
    shop = Recommender(SHOP, [("u1", "T1", 1), ("u2", "T1", 1)], encode=bag_of_words)
    for query, max_price in (("xqzzv blorp", None), ("cheap headphones", 10.0), ("something for me", None)):
        result = shop.recommend(query=query, max_price=max_price, k=3)
        assert (result.items, result.strategy) == ([], "none")
        assert result.reason == f'no product or review mentions any word of "{query}"'


def test_query_reasons_name_only_the_words_an_item_holds():
    reviews = [("C1", "So warm and cosy."), ("H1", "Looks cheap.")]
    shop = Recommender(SHOP, [("u1", "T1", 1), ("u2", "K1", 1)], encode=bag_of_words, review_texts=reviews)
    coat = shop.recommend(query="warm coat", k=3)
    assert coat.strategy == "query"
    assert (coat.items[0].product_id, coat.items[0].reasons) == (
        "C1",
        ['matches "coat"', 'reviews mention "warm"'],
    )
    # others may be close in meaning, but none claims a word it does not hold
    assert all(i.reasons[0] == 'close in meaning to "warm coat"' for i in coat.items[1:])
    candles = shop.recommend(query="a scented candle", k=3).items
    assert (candles[0].product_id, candles[0].reasons) == ("K1", ['matches "a scented candle"'])
    assert all(i.reasons[0].startswith("close in meaning") for i in candles[1:])
    # a known word, but nothing holding it within the filters: what comes claims no match of it
    home = shop.recommend(query="tea", category="Home", k=3)
    assert home.items and all(not r.startswith("matches") for i in home.items for r in i.reasons)
    assert content_terms("Gifts for a tea lover, boxes and dresses") == [
        "gift",
        "tea",
        "lover",
        "box",
        "dress",
    ]


def test_ranking_metrics():
    assert ndcg_at_k(["x", "a"], {"a"}, 10) == pytest.approx(1 / math.log2(3))
    assert ndcg_at_k(["a", "b"], {"a", "b"}, 10) == 1.0
    metrics = evaluate_rankings({"u": ["x", "a"], "v": ["y"]}, {"u": {"a"}, "v": {"z"}}, n_items=4, k=10)
    assert metrics["hit_rate@10"] == 0.5 and metrics["coverage"] == 0.75


@pytest.mark.filterwarnings("ignore:Method expects CSR input")  # raised inside CosineRecommender.fit
def test_ndcg_agrees_with_implicit_when_every_target_is_in_the_catalogue():
    """Our NDCG@k and implicit's ranking_metrics_at_k on the same rankings (implicit's CosineRecommender)."""
    import scipy.sparse as sp
    from implicit.evaluation import ranking_metrics_at_k
    from implicit.nearest_neighbours import CosineRecommender

    rng = np.random.default_rng(13)
    bought = (rng.random((60, 40)) < 0.15) * (1 + rng.random((60, 40)))  # users x items
    held_out = (rng.random((60, 40)) < 0.05) & (bought == 0)
    train, test = sp.csr_matrix(bought, dtype=np.float32), sp.csr_matrix(held_out.astype(np.float32))
    model = CosineRecommender(K=10, num_threads=1)
    model.fit(train, show_progress=False)
    implicit_ndcg = ranking_metrics_at_k(model, train, test, K=5, show_progress=False)["ndcg"]
    users = [u for u in range(60) if test[u].nnz]
    ids, _ = model.recommend(np.array(users), train[users], N=5)
    rankings = {str(u): [str(i) for i in row if i >= 0] for u, row in zip(users, ids, strict=True)}
    targets = {str(u): {str(i) for i in test[u].indices} for u in users}
    ours = np.mean([ndcg_at_k(rankings[u], targets[u], 5) for u in targets])
    assert 0 < implicit_ndcg < 1 and ours == pytest.approx(implicit_ndcg, abs=1e-12)
