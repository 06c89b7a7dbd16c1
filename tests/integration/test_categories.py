"""Aspect categories over the registered Word2Vec vectors: seeds, neighbourhoods, opinions, spelling."""

from __future__ import annotations

import pytest

from nlp.categories import CATEGORIES, CATEGORY_DEFINITIONS, GENERAL, SEEDS, AspectCategorizer
from nlp.embeddings import PhraseEmbeddings
from nlp.paths import MODELS_DIR
from nlp.registry import Registry


@pytest.fixture(scope="module")
def categorizer() -> AspectCategorizer:
    return AspectCategorizer(PhraseEmbeddings.load(Registry(MODELS_DIR).path("embeddings")))


def test_the_set_is_the_gold_sets() -> None:
    from nlp.absa_eval import CATEGORY_SEEDS

    assert CATEGORIES == tuple(CATEGORY_DEFINITIONS) == tuple(SEEDS) == tuple(CATEGORY_SEEDS)
    assert GENERAL in CATEGORIES


@pytest.mark.parametrize(
    ("term", "category"),
    [
        ("fabric", "fabric/material"),
        ("color", "colour"),
        ("price", "price/value"),
        ("sleeve length", "fit/size"),  # not a seed: its head word "length" is
        ("stitching", "quality/durability"),
        ("dress", GENERAL),
        ("embroidery", "style/look"),
    ],
)
def test_seed_terms(categorizer: AspectCategorizer, term: str, category: str) -> None:
    assert categorizer.category(term) == category


@pytest.mark.parametrize(
    ("term", "category"),
    [
        ("mauve", "colour"),  # no seed; its nearest seeds are colours
        ("ruffles", "style/look"),
        ("discount", "price/value"),
    ],
)
def test_terms_without_a_seed_take_their_neighbourhoods_category(
    categorizer: AspectCategorizer, term: str, category: str
) -> None:
    assert term not in categorizer.seed_of
    assert categorizer.category(term) == category


def test_a_product_or_part_takes_the_category_its_opinion_names(categorizer: AspectCategorizer) -> None:
    assert categorizer.category("hem", ["too long"]) == "fit/size"
    assert categorizer.category("dress", ["runs small"]) == "fit/size"
    assert categorizer.category("zipper", ["broke"]) == "quality/durability"
    assert categorizer.category("dress", ["love"]) == GENERAL
    # an attribute keeps its own category whatever the opinion says
    assert categorizer.category("fabric", ["too long"]) == "fabric/material"


def test_unknown_words_fall_back_to_general(categorizer: AspectCategorizer) -> None:
    assert categorizer.word_category("qwzxv") == (None, 0.0)
    assert categorizer.category("qwzxv", ["zzzq"]) == GENERAL


def test_bad_seeds_are_refused(categorizer: AspectCategorizer) -> None:
    with pytest.raises(ValueError, match="unknown categories"):
        AspectCategorizer(categorizer.embeddings, {"sizing": frozenset(["fit"])})
    with pytest.raises(ValueError, match="no seed of"):
        AspectCategorizer(categorizer.embeddings, {"comfort": frozenset(["qwzxv"])})


def test_remembered_terms_are_bounded_and_answers_unchanged(
    categorizer: AspectCategorizer, monkeypatch: pytest.MonkeyPatch
) -> None:
    words = ["fabric", "colour", "color", "stitching", "sleeve", "zipper", "qwzxv", "true to size", "price"]
    expected = [categorizer.word_category(w) for w in words]
    monkeypatch.setattr("nlp.categories.CACHED_TERMS", 3)
    small = AspectCategorizer(categorizer.embeddings)
    assert [small.word_category(w) for w in words * 2] == expected * 2
    assert len(small._cache) == 3


def test_a_tie_between_opinion_words_goes_to_the_first_in_every_process() -> None:
    """Two seeds of different categories in one opinion tie at similarity 1.0: the first word decides, whatever
    the process's string-hash seed (a set's order would differ between processes and runs)."""
    import os
    import subprocess
    import sys

    script = (
        "from nlp.categories import AspectCategorizer; from nlp.embeddings import PhraseEmbeddings; "
        "from nlp.registry import Registry; c = AspectCategorizer(PhraseEmbeddings.load(Registry().path('embeddings'))); "
        "print(c.category('dress', ['comfortable and overpriced']), c.category('dress', ['overpriced and comfortable']))"
    )
    answers = {
        subprocess.run(
            [sys.executable, "-c", script], env={**os.environ, "PYTHONHASHSEED": str(seed)},
            capture_output=True, text=True, check=True,
        ).stdout.strip()
        for seed in range(4)
    }  # fmt: skip
    assert answers == {"comfort price/value"}
