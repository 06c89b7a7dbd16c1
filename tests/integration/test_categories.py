"""Aspect categories over the registered Word2Vec vectors: seeds, neighbourhoods, opinions, spelling."""

from __future__ import annotations

import pytest

from nlp.analysis.categories import CATEGORIES, CATEGORY_DEFINITIONS, GENERAL, SEEDS, AspectCategorizer
from nlp.analysis.embeddings import PhraseEmbeddings
from nlp.artifacts.registry import Registry


@pytest.fixture(scope="module")
def categorizer() -> AspectCategorizer:
    return AspectCategorizer(PhraseEmbeddings.load(Registry().path("embeddings")))


def test_the_set_is_the_gold_sets() -> None:
    from nlp.training.absa_eval import CATEGORY_SEEDS

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
    # QA: "eye-catching design" was a service driver; an opinion never makes the product the shop's service
    assert categorizer.opinion_category(["catching"]) == "service"
    assert categorizer.category("design", ["catching"]) == "style/look"
    assert categorizer.category("dress", ["very patient"]) == GENERAL


def test_a_noun_in_ness_takes_its_adjectives_category(categorizer: AspectCategorizer) -> None:
    # "itchiness" alone is nearest "durability" (below the threshold); what is judged is what "itchy" names
    assert "itchiness" not in categorizer.seed_of
    assert categorizer.word_category("itchiness") == ("comfort", 1.0)
    assert categorizer.category("itchiness", ["slight"]) == "comfort"
    assert categorizer.category("softness") == "fabric/material"
    assert categorizer.category("tightness") == "fit/size"


def test_a_lemma_the_vocabulary_lacks_is_read_by_its_plural(categorizer: AspectCategorizer) -> None:
    # aspect terms are lemmas; the vectors know only the surface form reviews use
    assert "tassel" not in categorizer.embeddings.vectors and "tassels" in categorizer.embeddings.vectors
    assert categorizer.word_category("tassel") == categorizer.word_category("tassels")
    assert categorizer.category("tassel", ["not sure"]) == "style/look"


def test_a_tie_between_opinions_goes_to_the_terms_own_category(categorizer: AspectCategorizer) -> None:
    # "the gray floral print is very pretty": gray (colour) and pretty (style/look) are both seeds
    assert categorizer.category("print", ["gray", "floral", "very pretty"]) == "style/look"
    # with no tie the opinion still decides for a part, and for the product a tie goes to the first word
    assert categorizer.category("print", ["faded"]) == "colour"
    assert categorizer.category("dress", ["gray", "very pretty"]) == "colour"


def test_an_intensifier_is_read_only_as_the_last_word_of_an_opinion(categorizer: AspectCategorizer) -> None:
    assert categorizer.opinion_category(["very pretty"]) == "style/look"  # "pretty", the adjective
    assert categorizer.opinion_category(["pretty boxy"]) == "fit/size"  # "pretty", the intensifier


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
    monkeypatch.setattr("nlp.analysis.categories.CACHED_TERMS", 3)
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
        "from nlp.analysis.categories import AspectCategorizer; from nlp.analysis.embeddings import PhraseEmbeddings; "
        "from nlp.artifacts.registry import Registry; c = AspectCategorizer(PhraseEmbeddings.load(Registry().path('embeddings'))); "
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
