"""``product_answer`` (the answer to a product question from its reviews) on hand-built records with known
answers; over the real analyzer and store: ``tests/integration/test_api_answer.py``."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from nlp.insights.report import AspectRecord, ReviewRecord
from nlp.intents.answers import asked_overview, asked_property, phrase_answer, product_answer


def _review(review_id: int, label: str, score: float, *mentions: tuple[str, str, str, tuple[str, ...]]):
    """A review whose document ``label`` has probability ``score``, with ``(text, category, clause sentiment,
    opinions)`` mentions; each mention's quote is its own text."""
    rest = round((1 - score) / 2, 4)
    scores = {k: score if k == label else rest for k in ("negative", "neutral", "positive")}
    aspects = tuple(
        AspectRecord(text, text.lower(), 4, "fit", sentiment, opinions, category, text)
        for text, category, sentiment, opinions in mentions
    )
    return ReviewRecord(review_id, "DRS-101", "dresses", 4, datetime(2026, 1, 1, tzinfo=UTC),
                        " ".join(a.text for a in aspects), label, scores, aspects)  # fmt: skip


def test_the_quote_has_its_mentions_stance_and_agrees_with_the_majority():
    """QA: "2 of 3 reviews ... are negative" quoted a glowing review's praise, labelled with its document's
    sentiment; a complaint in a positive review was quoted as "positive"."""
    records = [
        _review(1, "positive", 0.99, ("The fit is perfect", "fit/size", "positive", ("perfect",))),
        _review(2, "positive", 0.8, ("Love it but the sizing is off", "fit/size", "negative", ("off",))),
        _review(3, "neutral", 0.6, ("The waist is tight", "fit/size", "negative", ("tight",))),
    ]
    found = product_answer(records, set(), {"fit"}, {"fit/size"})
    assert found is not None and found["opinion"] is None
    # of the two complaints, the review more likely negative (0.2 against 0.1), with its mention's stance
    assert found["quote"] == {"review_id": 3, "text": "The waist is tight", "sentiment": "negative"}
    assert found["answer"].startswith("2 of 3 reviews that mention fit are negative. One reviewer wrote:")


def test_the_quote_says_the_opinion_the_answer_reports():
    """QA: a review that loves the dress but says it runs small was quoted as "positive", its document's
    label, and the strongest review saying any of the question's words was quoted, not the opinion reported."""
    records = [
        _review(1, "positive", 0.99, ("Fits well", "fit/size", "positive", ("well",))),
        _review(2, "positive", 0.9, ("Love it, too small", "fit/size", "negative", ("too small",))),
        _review(3, "negative", 0.7, ("Runs small", "fit/size", "negative", ("runs small",))),
        _review(4, "neutral", 0.5, ("Runs small", "fit/size", "negative", ("runs small",))),
    ]
    found = product_answer(records, set(), {"run", "small"}, {"fit/size"})
    assert found is not None and found["opinion"] == {
        "text": "runs small",
        "reviews": 3,
        "share": 0.75,
        "opposite": None,
    }
    assert found["answer"].startswith("3 of 4 reviews that mention fit say \u201cruns small\u201d.")
    assert found["quote"] == {"review_id": 3, "text": "Runs small", "sentiment": "negative"}


def test_one_review_agrees_in_number():
    records = [_review(1, "positive", 0.9, ("Colour", "colour", "positive", ("lovely",)))]
    found = product_answer(records, set(), {"bright"}, {"colour"})
    assert found is not None
    assert found["answer"] == (
        "1 of 1 review that mentions colour is positive. One reviewer wrote: \u201cColour\u201d"
    )
    said = product_answer(records, set(), {"lovely"}, {"colour"})
    assert said is not None and said["answer"].startswith("1 of 1 review that mentions colour says")


def test_a_question_naming_no_aspect_finds_the_aspect_described_with_its_words():
    """ "is it itchy?" names no aspect: the mentions of the aspect the reviews call itchy answer it."""
    records = [
        _review(1, "negative", 0.9, ("Wool", "fabric/material", "negative", ("so itchy",))),
        _review(2, "positive", 0.9, ("Wool", "fabric/material", "positive", ("soft",))),
        _review(3, "positive", 0.9, ("The colour", "colour", "positive", ("lovely",))),
    ]
    found = product_answer(records, set(), {"itchy"})
    assert found is not None and (found["aspect"], found["reviews"]) == ("wool", 2)
    assert found["opinion"] == {"text": "so itchy", "reviews": 1, "share": 0.5, "opposite": None}
    assert found["quote"] == {"review_id": 1, "text": "Wool", "sentiment": "negative"}


@pytest.mark.parametrize(
    ("question", "phrases"),
    [
        ("Is it itchy?", ["itchy"]),
        ("is it see through", ["see-through"]),
        ("Are they see-thru??", ["see-through"]),
        ("does it shrink in the wash?", ["shrink in the wash", "shrink in the", "shrink in", "shrink"]),
        ("is this really scratchy", ["scratchy"]),
        ("does it come in blue?", ["come in blue"]),
        ("does it come in?", []),  # a light verb and a stop word say nothing of the product
        ("will it be sunny in Brighton on Saturday?", []),  # too long to be a property
        ("where is my order?", []),
        ("write me a poem about the sea", []),
    ],
)
def test_asked_property(question: str, phrases: list[str]) -> None:
    assert asked_property(question) == phrases


def test_phrase_answer_counts_who_says_it_and_who_says_not_and_quotes_the_sentence() -> None:
    """QA: "2 of 3 reviews mention “itchy”" counted "Soft, not itchy at all." as saying it is itchy."""
    texts = ["Lovely colour. It's so itchy I can't wear it.", "Soft, not itchy at all.", "Great fit."]
    records = [
        ReviewRecord(i, "KNT-220", "knitwear", 3, datetime(2026, 1, 1, tzinfo=UTC), text, label, {label: 0.9})
        for i, (text, label) in enumerate(zip(texts, ["negative", "positive", "positive"], strict=True))
    ]
    found = phrase_answer(records, ["itchy"])
    assert found is not None
    assert found["answer"] == (
        "1 of 3 reviews says \u201citchy\u201d, 1 \u201cnot itchy\u201d."
        " One reviewer wrote: \u201cIt's so itchy I can't wear it.\u201d"
    )  # a tie goes to the words asked
    assert (found["reviews"], found["opinion"], found["quote"]["sentiment"]) == (
        2,
        {"text": "itchy", "reviews": 1, "share": 0.3333, "opposite": None},
        "negative",
    )
    assert phrase_answer(records, ["see-through"]) is None
    denied = phrase_answer(
        [*records[1:], replace(records[1], review_id=9, text="I did not find it itchy.")], ["itchy"]
    )
    assert denied is not None and denied["answer"].startswith("2 of 3 reviews say \u201cnot itchy\u201d.")
    assert phrase_answer(records[:1], ["itchy"])["answer"].startswith("1 of 1 review says")  # type: ignore[index]


def test_phrase_answer_finds_irregular_inflections() -> None:
    """QA (issue 27): "does it shrink?" did not find "it shrank a size" (regular endings only)."""
    texts = [
        "It shrank a size in the wash.",
        "Has not shrunk at all.",
        "Shrinking was my worry.",
        "Some shrinkage.",
    ]
    records = [
        ReviewRecord(
            i, "KNT-220", "knitwear", 3, datetime(2026, 1, 1, tzinfo=UTC), text, "neutral", {"neutral": 0.9}
        )
        for i, text in enumerate(texts)
    ]
    found = phrase_answer(records, ["shrink"])
    assert found is not None and found["reviews"] == 3
    assert found["answer"].startswith("2 of 4 reviews say \u201cshrink\u201d, 1 \u201cnot shrink\u201d.")
    assert phrase_answer(records, ["shrinking"])["reviews"] == 3  # type: ignore[index]  # "shrinkage": another word
    lined = [replace(records[0], review_id=7, text="The lining is soft and the lines are clean.")]
    assert phrase_answer(lined, ["lined"]) is None  # "lining" and "lines" are other things than "lined"


def test_an_opinion_negated_in_its_clause_is_not_the_opinion() -> None:
    """QA: "i did not find the sweater to be itchy" was counted among the reviews saying "itchy"."""
    records = [
        _review(
            1, "positive", 0.9, ("i did not find the sweater to be itchy", "comfort", "positive", ("itchy",))
        ),
        _review(2, "negative", 0.8, ("the sweater is itchy", "comfort", "negative", ("itchy",))),
        _review(
            3, "positive", 0.7, ("the sweater is not itchy at all", "comfort", "positive", ("not itchy",))
        ),
    ]
    found = product_answer(records, set(), {"itchy"}, {"comfort"})
    assert found is not None and found["opinion"] == {
        "text": "not itchy",
        "reviews": 2,
        "share": 0.6667,
        "opposite": None,
    }
    assert found["quote"]["review_id"] == 1 and found["answer"].startswith(
        "2 of 3 reviews that mention comfort"
    )


@pytest.mark.parametrize(
    ("question", "side"),
    [
        ("Would you recommend it?", "overall"),
        ("is it worth it?", "overall"),
        ("What do people dislike about it?", "negative"),
        ("what's wrong with it", "negative"),
        ("any complaints?", "negative"),
        ("what do people like about it?", "positive"),
        ("does it run small?", None),
        ("what's the weather like?", None),
    ],
)
def test_asked_overview(question: str, side: str | None) -> None:
    assert asked_overview(question) == side
