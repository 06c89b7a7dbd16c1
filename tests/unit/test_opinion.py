"""The no-opinion rule for short texts (nlp.analysis.opinion), without models: the aspects come from the caller."""

from __future__ import annotations

import pytest
from spacy.lang.en import English
from spacy.tokens import Doc

from nlp.analysis.aspects import AspectMention, Opinion
from nlp.analysis.opinion import MAX_WORDS, holds_no_opinion, names_a_fault, opinion_polarity, opinion_words


@pytest.mark.parametrize(
    "text", ["ok", "n/a", "I bought this for my sister's birthday last week.", "Okay.", "meh", "2.)"]
)
def test_short_texts_without_an_opinion_word_hold_none(text):
    assert holds_no_opinion(text)


@pytest.mark.parametrize(
    "text",
    [
        "Love it!",
        "Great",
        "Awful quality.",
        "Had to take it back.",
        "Too sheer",
        "Perfect :)",
        "\U0001f60d",
        "Sizing issues.",
        "Tts.",
    ],
)
def test_opinion_words_verdicts_and_emoji_are_opinions(text):
    assert not holds_no_opinion(text)


def _parsed(*tagged: str) -> Doc:
    """A Doc of ``word/POS`` tokens, tagged by hand (spaCy's English language data, no model)."""
    words, pos = zip(*(t.rsplit("/", 1) for t in tagged), strict=True)
    return Doc(English().vocab, words=list(words), pos=list(pos))


@pytest.mark.parametrize(
    ("text", "doc"),
    [
        (
            "Timeless and unique",
            _parsed("Timeless/ADJ", "and/CCONJ", "unique/ADJ"),
        ),  # words VADER does not rate
        ("Cheaply made", _parsed("Cheaply/ADV", "made/VERB")),
        ("Yuck.", _parsed("Yuck/INTJ", "./PUNCT")),
    ],
)
def test_judging_adjectives_adverbs_and_interjections_of_the_parse_are_opinions(text, doc):
    assert holds_no_opinion(text) and not holds_no_opinion(text, doc=doc)


@pytest.mark.parametrize(
    ("text", "doc"),
    [
        (
            "Ordered a medium last week.",
            _parsed("Ordered/VERB", "a/DET", "medium/ADJ", "last/ADJ", "week/NOUN", "./PUNCT"),
        ),
        ("It's ok", _parsed("It/PRON", "'s/AUX", "ok/ADJ")),
        ("Haven't worn it yet", _parsed("Have/AUX", "n't/PART", "worn/VERB", "it/PRON", "yet/ADV")),
    ],
)
def test_words_that_place_count_or_size_and_lukewarm_verdicts_are_not(text, doc):
    assert holds_no_opinion(text, doc=doc)


def test_an_exclamation_is_an_opinion():
    assert not holds_no_opinion("Comfy!") and not holds_no_opinion("Bought it in 4 colors!")


def test_an_aspect_opinion_is_an_opinion_and_a_bare_aspect_is_not():
    fit = Opinion("Runs small", 0, 10, False)
    assert not holds_no_opinion("Runs small.", [AspectMention("Runs small", 0, 10, "fit", (fit,), True)])
    assert holds_no_opinion("Runs small.", [AspectMention("sleeves", 0, 7, "sleeve", ())])


def test_long_texts_are_never_flagged():
    text = " ".join(["word"] * (MAX_WORDS + 1))
    assert holds_no_opinion(" ".join(["word"] * MAX_WORDS)) and not holds_no_opinion(text)


def test_lexicon_keeps_strong_words_and_drops_lukewarm_ones():
    words = opinion_words()
    assert {"love", "great", "awful", ":)", "back"} <= words
    assert not {"ok", "okay", "fine", "meh", "birthday"} & words


@pytest.mark.parametrize(
    "opinion",
    [
        "much too long",
        "Too sheer",
        "runs small",
        "ran large",
        "runs a bit large",
        "runs very small",
        "broke",
        "ripped",
        "fell apart",
        "came undone",
        "much baggier",  # a departure from the size expected
        "2 inches shorter",
    ],
)
def test_opinions_that_call_their_target_faulty(opinion):
    assert names_a_fault(opinion)


@pytest.mark.parametrize(
    "opinion",
    [
        "so soft",
        "fits perfectly",
        "runs true to size",
        "long",
        "tootsie",
        "broker",
        "a little shorter",  # hedged: the mild remark the gold set reads neutral
        "slightly longer",
    ],
)
def test_opinions_that_do_not(opinion):
    assert not names_a_fault(opinion)


@pytest.mark.parametrize(
    ("opinion", "negated", "polarity"),
    [
        ("nice", False, "positive"),  # "there is a nice hemstitch detail on the sleeve trim."
        ("fits perfectly", False, "positive"),
        ("disliked", False, "negative"),  # "i disliked the intense black color"
        ("not sure", True, "negative"),  # "not sure about the tassels at the sleeves."
        ("did not disappoint", True, "positive"),
        ("runs a bit large", False, "negative"),  # a fault, which VADER does not rate
        ("pretty boxy", False, None),  # the head "boxy" is unrated; the intensifier "pretty" does not count
        ("fine", False, None),  # lukewarm: below the valence a term needs
        ("not too long", True, None),  # a negated fault is no fault, and "long" is unrated
        ("thick enough", False, "positive"),  # sufficiency
        ("not warm enough", True, "negative"),
    ],
)
def test_an_opinion_terms_own_polarity(opinion, negated, polarity):
    assert opinion_polarity(Opinion(opinion, 0, len(opinion), negated)) == polarity
