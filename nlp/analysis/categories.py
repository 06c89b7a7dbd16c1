"""Aspect categories a shop recognises: a fixed set, and the category of each aspect term.

The categories are the attributes fashion and general retail sort feedback by (issue 27; SemEval-2016 Task 5,
Pontiki et al. 2016, groups opinions as ENTITY#ATTRIBUTE; here the attribute alone, since the entity is
nearly always the garment). Their definitions are those the ABSA gold set was annotated with
(``nlp/data/absa_gold/README.md``).

An aspect term is mapped by seed words and its Word2Vec neighbourhood (:class:`nlp.analysis.embeddings.PhraseEmbeddings`):
a word in a category's :data:`SEEDS` belongs to it; any other word belongs to the category of its nearest seed
in the embedding space (cosine), when that seed is at least :data:`DEFAULT_THRESHOLD` similar, else to none
(a 1-nearest-neighbour classifier over the seeds with a reject option). A term that names an attribute
(``fabric``, ``colour``, ``price``) takes that attribute's category; a term that names the product or a part
of it (``dress``, ``hem``, ``zipper``: ``general`` or ``style/look``) takes the category of its opinion
terms when they name a more specific one ("the hem was too long" -> fit/size, "the zipper broke" ->
quality/durability), since what is judged is then an attribute of that part.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

import numpy as np
from cachetools import LRUCache, cachedmethod

from nlp.analysis.embeddings import PhraseEmbeddings, tokenize

#: The categories and what each covers (the gold set's definitions), in report order.
CATEGORY_DEFINITIONS: dict[str, str] = {
    "fit/size": "how it fits and is sized: runs small or large, true to size, length, tight, loose",
    "fabric/material": "what it is made of and how that feels or behaves: soft, thin, stretchy, sheer, warm",
    "colour": "colours and shades, and how true they are to the photo",
    "quality/durability": "how well it is made and how it lasts: stitching, shrinking, holes, pilling",
    "comfort": "comfortable, itchy, easy to move in",
    "style/look": "how it looks and its design: cute, flattering, pattern, print, cut, details, drape",
    "price/value": "price, sale, worth the money",
    "delivery": "arrival, shipping, condition on arrival",
    "service": "the shop's staff, returns and exchanges, customer service",
    "general": "the product as a whole (love it, disappointed, returning it), or nothing more specific",
}
CATEGORIES: tuple[str, ...] = tuple(CATEGORY_DEFINITIONS)
GENERAL = "general"
#: Categories of the product and its parts, whose opinion terms may name a more specific category.
PRODUCT_CATEGORIES = frozenset({GENERAL, "style/look"})
#: Categories an opinion of the product never gives it: the shop's, not the product's ("eye-catching design" is
#: not service, though "catching" lies near it), and the product as a whole.
NOT_OF_THE_PRODUCT = frozenset({GENERAL, "delivery", "service"})


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


#: Seed words per category (lower case; Word2Vec phrase tokens join words with ``_``): aspect terms and
#: opinion words, written from the definitions above and the embedding neighbourhoods, checked on the gold
#: set's dev split only.
SEEDS: dict[str, frozenset[str]] = {
    "fit/size": _words(
        "fit fits fitting size sizing sized length waist waistline bust chest hip hips shoulders torso "
        "inseam rise armhole small large big huge tiny tight loose snug baggy roomy boxy long short petite "
        "true_to_size tts runs_small runs_large size_down size_up"
    ),
    "fabric/material": _words(
        "fabric material cotton wool linen silk knit lining texture polyester rayon fiber cashmere denim "
        "lace jersey chiffon velvet soft thin thick sheer stretchy stretch warm lightweight heavy see_through"
    ),
    "colour": _words(
        "color shade tone hue white black red blue navy green pink gray ivory beige coral vibrant bright "
        "faded muted colorful"
    ),
    "quality/durability": _words(
        "quality durability stitching seam seams craftsmanship construction workmanship thread hole holes pilling pill "
        "snag durable flimsy cheap sturdy shrink shrank shrunk ripped torn tear unraveled broke well_made"
    ),
    "comfort": _words("comfort comfortable comfy cozy itchy scratchy breathable"),
    "style/look": _words(
        "style look design pattern print cut detail details neckline neck collar sleeve sleeves pocket "
        "pockets embroidery shape silhouette drape flow button buttons zipper hemline hem bodice ruffle "
        "cute flattering pretty beautiful gorgeous stylish elegant chic lovely adorable unflattering "
        "frumpy classy compliments"
    ),
    "price/value": _words("price value cost deal sale money expensive pricey overpriced worth bargain"),
    "delivery": _words("delivery shipping shipment package packaging arrival arrived shipped"),
    "service": _words("service staff customer_service return returns exchange refund store"),
    GENERAL: _words(
        "dress top shirt blouse sweater skirt jacket coat pants jeans tunic cardigan romper jumpsuit "
        "leggings product brand love great perfect amazing disappointed recommend"
    ),
}
#: Garment words: the product itself (the ``general`` seeds that are garments).
PRODUCT_WORDS = frozenset(
    w for w in SEEDS[GENERAL] if w not in {"love", "great", "perfect", "amazing", "disappointed", "recommend"}
)

#: Cosine similarity to the nearest seed below which a word gets no category (chosen on the dev split).
DEFAULT_THRESHOLD = 0.65
#: Terms whose category :meth:`AspectCategorizer.word_category` remembers (least recently used go first).
CACHED_TERMS = 50_000

#: Words of an opinion term that say nothing about its category (negation, intensifiers, function words),
#: except as its last word, the head of an adjective phrase ("pretty boxy" reads "boxy", "very pretty" "pretty").
_OPINION_FILLERS = _words(
    "not no never so very too really super quite a bit little way much more less than just pretty is was are"
)


def _plural(noun: str) -> str:
    """The regular English plural of a singular noun: ``tassel`` -> ``tassels``, ``dress`` -> ``dresses``,
    ``body`` -> ``bodies``."""
    if noun.endswith(("s", "x", "z", "ch", "sh")):
        return noun + "es"
    if len(noun) > 1 and noun[-1] == "y" and noun[-2] not in "aeiou":
        return noun[:-1] + "ies"
    return noun + "s"


def _adjective_of(noun: str) -> str | None:
    """The adjective an English quality noun is made from by the suffix -ness, or None: ``itchiness`` ->
    ``itchy``, ``softness`` -> ``soft``, ``tightness`` -> ``tight`` (y becomes i before -ness)."""
    if not noun.endswith("ness") or len(noun) < 7:
        return None
    stem = noun[: -len("ness")]
    return stem[:-1] + "y" if stem.endswith("i") else stem


class AspectCategorizer:
    """The aspect category (one of :data:`CATEGORIES`) of an aspect term and its opinion terms.

    Example::

        categorizer = AspectCategorizer(embeddings)
        categorizer.category("sleeve length")          # "fit/size" (its head word's seed)
        categorizer.category("hem", ["too long"])       # "fit/size" (a part judged by its length)

    Args:
        embeddings: the registered Word2Vec vectors (``Registry.path("embeddings")``).
        seeds: category -> seed words; every category needs at least one seed the embeddings know.
        threshold: cosine similarity to the nearest seed a word needs to take its category.

    Raises:
        ValueError: a seed category is not in :data:`CATEGORIES`, or a category has no embedded seed.
    """

    def __init__(
        self,
        embeddings: PhraseEmbeddings,
        seeds: dict[str, frozenset[str]] = SEEDS,
        threshold: float = DEFAULT_THRESHOLD,
    ) -> None:
        unknown = set(seeds) - set(CATEGORIES)
        if unknown:
            raise ValueError(f"unknown categories {sorted(unknown)}; expected some of {CATEGORIES}")
        self.embeddings = embeddings
        self.threshold = threshold
        self.seed_of = {word: category for category, words in seeds.items() for word in words}
        embedded = [(w, embeddings.vector(w)) for w in sorted(self.seed_of)]
        known = [(w, v) for w, v in embedded if v is not None]
        empty = set(seeds) - {self.seed_of[w] for w, _ in known}
        if empty:
            raise ValueError(f"no seed of {sorted(empty)} has a vector in the embeddings")
        self._seed_words = [w for w, _ in known]
        self._seed_matrix = np.stack([v for _, v in known]).astype(np.float32)  # (seeds, dim), unit rows
        # one entry per distinct term seen, bounded for a long-running service (the analysis threads share it)
        self._cache: LRUCache[str, tuple[str | None, float]] = LRUCache(maxsize=CACHED_TERMS)
        self._lock = threading.Lock()

    @cachedmethod(
        lambda self: self._cache,
        key=lambda self, text: self.embeddings.term_key(text),
        lock=lambda self: self._lock,
    )
    def word_category(self, text: str) -> tuple[str | None, float]:
        """``(category, similarity)`` of a word or phrase: ``(seed's category, 1.0)`` for a seed (its
        vocabulary key, e.g. ``"true to size"`` -> ``true_to_size``); for a quality noun in -ness, its
        adjective's when that has one (``itchiness`` -> ``itchy``: comfort); else that of the nearest seed with
        their cosine similarity, or ``(None, similarity)`` below the threshold or ``(None, 0.0)`` with no
        vector. A lemma the vocabulary lacks is looked up by its plural (the vectors were trained on surface
        words: ``tassel`` -> ``tassels``). Remembered for the last :data:`CACHED_TERMS` terms."""
        key = self.embeddings.term_key(text)
        if key in self.seed_of:
            return self.seed_of[key], 1.0
        if (adjective := _adjective_of(key)) and (found := self.word_category(adjective))[0] is not None:
            return found  # "itchiness" is judged as what is "itchy"
        vector = self.embeddings.vector(text)
        if vector is None and key.isalpha():
            vector = self.embeddings.vector(_plural(key))
        if vector is None:
            return None, 0.0
        sims = self._seed_matrix @ vector.astype(np.float32)
        best = int(np.argmax(sims))
        return (self.seed_of[self._seed_words[best]] if sims[best] >= self.threshold else None), float(
            sims[best]
        )

    def term_category(self, term: str) -> str | None:
        """The category of an aspect term (lemmatised, e.g. ``sleeve length``): the whole term's if it has
        one (seed or neighbourhood), else its head word's (the last word, the head of an English noun
        compound), else None."""
        category, _ = self.word_category(term)
        words = term.split()
        if category is None and len(words) > 1:
            category, _ = self.word_category(words[-1])
        return category

    def opinion_category(self, opinions: Sequence[str], prefer: str | None = None) -> str | None:
        """The category the opinion terms' words name most surely (highest similarity; seeds first), or
        None. Negations and intensifiers (:data:`_OPINION_FILLERS`) are skipped but as the last word:
        ``"not soft enough"`` is read from ``soft`` and ``enough``, ``"very pretty"`` from ``pretty``; whole
        phrases the embeddings know count (``runs small``). A tie goes to ``prefer`` when it is among the tied
        categories, else to the first word in text order."""
        best: tuple[float, str] | None = None
        for opinion in opinions:
            words = tokenize(opinion)
            tokens = [t for k, t in enumerate(words) if t not in _OPINION_FILLERS or k == len(words) - 1]
            # in text order, not a set's (whose order varies between processes): a tie goes to the first word
            for word in dict.fromkeys([*tokens, *self.embeddings.phrase(tokens)]):
                category, similarity = self.word_category(word)
                if category is not None and (
                    best is None or similarity > best[0] or (similarity == best[0] and category == prefer)
                ):
                    best = (similarity, category)
        return None if best is None else best[1]

    def category(self, term: str, opinions: Sequence[str] = ()) -> str:
        """The aspect category of ``term`` with its opinion terms: the term's own when it names an attribute
        (anything but :data:`PRODUCT_CATEGORIES`); for the product or a part of it, the opinions' category
        when it is more specific and one of the product's (not :data:`NOT_OF_THE_PRODUCT`), and the term's own
        when an opinion names it as surely as another category ("gray floral print, very pretty": ``gray`` and
        ``pretty`` are both seeds, the print stays style/look);
        else the term's, else :data:`GENERAL`."""
        own = self.term_category(term)
        if own is not None and own not in PRODUCT_CATEGORIES:
            return own
        judged = self.opinion_category(opinions, prefer=own)
        if judged is not None and judged not in NOT_OF_THE_PRODUCT:
            return judged
        return own or GENERAL
