"""Product insights, the brand manager's report and its CSV, on hand-built records with known answers (over
records made by the real Analyzer: ``tests/integration/test_reports_real.py``)."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from api.reporting.spreadsheet import csv_cell, report_csv
from nlp.insights.report import (
    AspectRecord,
    ReviewRecord,
    drivers,
    period_start,
    product_insights,
    sentiment_report,
    shorten_around,
)

TOPICS = {"fabric": (0, "material"), "fit": (1, "fit & sizing"), "zip": (2, "construction")}
# aspect categories of the terms; "thing" has none (a mention stored before categories existed)
CATEGORIES = {
    "fabric": "fabric/material",
    "fit": "fit/size",
    "zip": "quality/durability",
    "price": "price/value",
}
_DEFAULT_SCORES = {
    "positive": {"negative": 0.05, "neutral": 0.05, "positive": 0.9},
    "neutral": {"negative": 0.1, "neutral": 0.8, "positive": 0.1},
    "negative": {"negative": 0.9, "neutral": 0.05, "positive": 0.05},
}


#: the opinion term a hand-built mention of each sentiment carries (a neutral one carries none)
OPINIONS = {"positive": ("lovely",), "negative": ("poor",), "neutral": ()}


def asp(
    term: str,
    sentiment: str,
    text: str | None = None,
    topic: tuple[int, str] | None = None,
    opinions: tuple[str, ...] | None = None,
    quote: str = "",
) -> AspectRecord:
    topic_id, label = topic or TOPICS.get(term, (9, "other"))
    said = OPINIONS[sentiment] if opinions is None else opinions
    return AspectRecord(text or term, term, topic_id, label, sentiment, said, CATEGORIES.get(term), quote)


def rec(
    review_id: int,
    sentiment: str,
    created_at: datetime = datetime(2024, 1, 3, 12, 0),
    rating: int | None = None,
    aspects: tuple[AspectRecord, ...] = (),
    topics: tuple[tuple[int, str, float], ...] = (),
    text: str | None = None,
    score: float | None = None,
    product_id: str = "DRS-101",
) -> ReviewRecord:
    scores = dict(_DEFAULT_SCORES[sentiment])
    if score is not None:
        scores[sentiment] = score
    return ReviewRecord(
        review_id=review_id,
        product_id=product_id,
        category="dresses",
        rating=rating,
        created_at=created_at,
        text=text or f"review {review_id} is {sentiment}",
        sentiment=sentiment,
        scores=scores,
        aspects=aspects,
        topics=topics,
    )


def filler(start_id: int, n: int, sentiment: str = "neutral") -> list[ReviewRecord]:
    """``n`` reviews without aspects (to lift a product over the few-reviews threshold)."""
    return [rec(start_id + i, sentiment) for i in range(n)]


# --- scores -----------------------------------------------------------------------------------------------


def test_shares_net_sentiment_and_average_rating() -> None:
    records = [
        rec(1, "positive", rating=5),
        rec(2, "positive", rating=4),
        rec(3, "neutral"),
        rec(4, "negative", rating=1),
    ]
    insights = product_insights(records)
    assert insights["review_count"] == 4
    assert insights["average_rating"] == pytest.approx(10 / 3, abs=0.005)
    assert insights["sentiment_distribution"] == {"negative": 0.25, "neutral": 0.25, "positive": 0.5}
    assert sum(insights["sentiment_distribution"].values()) == pytest.approx(1.0)
    assert insights["net_sentiment"] == pytest.approx(0.25)

    cards = sentiment_report(records, "month")["scorecards"]
    assert cards == {
        "reviews": 4,
        "unread_reviews": 0,
        "positive_share": 0.5,
        "neutral_share": 0.25,
        "negative_share": 0.25,
        "net_sentiment": 0.25,
        "average_rating": pytest.approx(3.33),
    }


def test_reviews_the_models_cannot_read_are_counted_but_left_out_of_every_reading() -> None:
    german = replace(
        rec(3, "neutral", rating=2, aspects=(asp("fabric", "neutral"),), topics=((0, "material", 1.0),)),
        flags=("unsupported_language",),
    )
    records = [rec(1, "positive", rating=5), rec(2, "negative", rating=1), german]
    insights = product_insights(records)
    assert insights["review_count"] == 3 and insights["unread_reviews"] == 1
    assert insights["average_rating"] == pytest.approx(8 / 3, abs=0.005)  # stars need no reading
    assert insights["sentiment_distribution"] == {"negative": 0.5, "neutral": 0.0, "positive": 0.5}
    [row] = insights["trend"]  # every review counted, the sentiment of the two read
    assert (row["reviews"], row["positive"] + row["neutral"] + row["negative"]) == (3, 2)
    assert row["average_rating"] == insights["average_rating"]
    report = sentiment_report(records, "month")
    assert report["scorecards"]["reviews"] == 3 and report["scorecards"]["unread_reviews"] == 1
    assert report["scorecards"]["neutral_share"] == 0.0 and report["distribution"]["neutral"] == 0.0
    assert report["drivers"]["topics"] == [] and all(q["review_id"] != 3 for q in report["quotes"])


def test_average_rating_is_none_without_ratings_and_labels_are_case_insensitive() -> None:
    insights = product_insights([rec(1, "positive"), replace(rec(2, "negative"), sentiment="NEGATIVE")])
    assert insights["average_rating"] is None
    assert insights["net_sentiment"] == 0.0


@pytest.mark.parametrize(
    ("labels", "net"),
    [
        (["positive"] * 3, 1.0),
        (["negative"] * 2, -1.0),
        (["neutral", "neutral"], 0.0),
        (["positive", "negative"], 0.0),
    ],
)
def test_net_sentiment_spans_minus_one_to_one(labels: list[str], net: float) -> None:
    records = [rec(i, label) for i, label in enumerate(labels)]
    assert product_insights(records)["net_sentiment"] == net
    assert sentiment_report(records)["scorecards"]["net_sentiment"] == net


def test_unknown_label_and_granularity_are_rejected() -> None:
    with pytest.raises(ValueError, match="unknown sentiment label 'mixed'"):
        product_insights([replace(rec(1, "positive"), sentiment="mixed")])
    with pytest.raises(ValueError, match="granularity 'day'"):
        sentiment_report([rec(1, "positive")], "day")
    with pytest.raises(ValueError, match="granularity 'quarter'"):
        product_insights([], "quarter")


def test_empty_input_gives_valid_reports() -> None:
    insights = product_insights([])
    assert insights == {
        "review_count": 0,
        "unread_reviews": 0,
        "average_rating": None,
        "sentiment_distribution": {"negative": 0.0, "neutral": 0.0, "positive": 0.0},
        "net_sentiment": None,
        "categories": [],
        "praised_aspects": [],
        "criticised_aspects": [],
        "trend": [],
    }
    report = sentiment_report([], "month", {"product_id": "NOPE", "from": date(2024, 1, 1)})
    assert report["filters"] == {"product_id": "NOPE", "from": "2024-01-01"}
    assert report["scorecards"] == {
        "reviews": 0,
        "unread_reviews": 0,
        "positive_share": 0.0,
        "neutral_share": 0.0,
        "negative_share": 0.0,
        "net_sentiment": None,
        "average_rating": None,
    }
    assert report["trend"] == [] and report["quotes"] == []
    assert report["drivers"] == {"categories": [], "aspects": [], "topics": []}
    json.dumps(report)  # JSON-ready
    rows = list(csv.reader(io.StringIO(report_csv(report))))
    assert ["metric", "value"] in rows


# --- time buckets -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("moment", "granularity", "start"),
    [
        (datetime(2024, 1, 1, 0, 0), "week", date(2024, 1, 1)),  # a Monday starts its own week
        (datetime(2024, 1, 7, 23, 59), "week", date(2024, 1, 1)),  # Sunday belongs to the week before
        (datetime(2024, 1, 8, 0, 0), "week", date(2024, 1, 8)),
        (datetime(2024, 1, 3, tzinfo=UTC), "week", date(2024, 1, 1)),
        (date(2023, 12, 31), "week", date(2023, 12, 25)),
        (datetime(2024, 2, 29, 18), "month", date(2024, 2, 1)),
        (datetime(2024, 12, 31, 23, 59, tzinfo=timezone(timedelta(hours=-5))), "month", date(2024, 12, 1)),
    ],
)
def test_period_start(moment: date, granularity: str, start: date) -> None:
    assert period_start(moment, granularity) == start


def test_weekly_trend_starts_monday_fills_gaps_and_is_sorted() -> None:
    records = [
        rec(3, "negative", datetime(2024, 1, 22, 9), rating=1),  # week of 22 Jan
        rec(1, "positive", datetime(2024, 1, 2, 9), rating=5),  # Tue -> week of 1 Jan
        rec(2, "neutral", datetime(2024, 1, 7, 21), rating=3),  # Sun -> week of 1 Jan
        rec(4, "positive", datetime(2024, 1, 28, 9)),  # Sun -> week of 22 Jan
    ]
    trend = sentiment_report(records, "week")["trend"]
    assert [row["period"] for row in trend] == ["2024-01-01", "2024-01-08", "2024-01-15", "2024-01-22"]
    assert trend[0] == {
        "period": "2024-01-01",
        "reviews": 2,
        "positive": 1,
        "neutral": 1,
        "negative": 0,
        "net_sentiment": 0.5,
        "average_rating": 4.0,
    }
    assert trend[1] == {
        "period": "2024-01-08",
        "reviews": 0,
        "positive": 0,
        "neutral": 0,
        "negative": 0,
        "net_sentiment": None,
        "average_rating": None,
    }
    assert trend[3]["reviews"] == 2 and trend[3]["net_sentiment"] == 0.0 and trend[3]["average_rating"] == 1.0
    assert sum(row["reviews"] for row in trend) == len(records)


def test_monthly_trend_crosses_the_year() -> None:
    records = [rec(1, "positive", datetime(2023, 11, 30)), rec(2, "negative", datetime(2024, 2, 1))]
    trend = product_insights(records, "month")["trend"]
    assert [row["period"] for row in trend] == ["2023-11-01", "2023-12-01", "2024-01-01", "2024-02-01"]
    assert [row["reviews"] for row in trend] == [1, 0, 0, 1]
    assert [row["net_sentiment"] for row in trend] == [1.0, None, None, -1.0]


# --- praised and criticised aspects -----------------------------------------------------------------------


def aspect_reviews() -> list[ReviewRecord]:
    """12 reviews: "fabric" 6 mentions (3 positive), "colour" 2 (both positive), "fit" 3 (all negative),
    "zip" 1 positive mention only (below the 2-mention minimum)."""
    long_text = (
        "I bought it for a wedding. " * 8 + "The Fabric is lovely and soft. " + "Shipping was fine. " * 8
    )
    records = [
        rec(1, "positive", aspects=(asp("fabric", "positive", "Fabric"),), text=long_text, score=0.97),
        rec(2, "positive", aspects=(asp("fabric", "positive"), asp("colour", "positive")), score=0.8),
        rec(3, "positive", aspects=(asp("fabric", "positive"), asp("colour", "positive")), score=0.99),
        rec(4, "negative", aspects=(asp("fabric", "negative"), asp("fit", "negative")), score=0.95),
        rec(5, "negative", aspects=(asp("fabric", "negative"), asp("fit", "negative")), score=0.7),
        rec(6, "neutral", aspects=(asp("fabric", "neutral"), asp("fit", "negative"), asp("zip", "positive"))),
    ]
    return records + filler(100, 6)


def test_praised_and_criticised_aspects_rank_by_mentions_times_share() -> None:
    insights = product_insights(aspect_reviews())
    praised = insights["praised_aspects"]
    # fabric: 6 x 0.5 = 3 positive mentions, colour: 2 x 1.0 = 2; zip has one mention only
    assert [(a["term"], a["mentions"], a["share"]) for a in praised] == [
        ("fabric", 6, 0.5),
        ("colour", 2, 1.0),
    ]
    assert praised[0]["aspect"] == "fabric"  # most frequent surface text ("Fabric" once, "fabric" 5 times)
    assert praised[0]["topic"] == {"id": 0, "label": "material"}
    criticised = insights["criticised_aspects"]
    assert [(a["term"], a["mentions"], a["share"]) for a in criticised] == [
        ("fit", 3, 1.0),
        ("fabric", 6, 0.3333),
    ]


def test_aspect_quotes_are_two_distinct_strongest_reviews_shortened_around_the_aspect() -> None:
    fabric = product_insights(aspect_reviews())["praised_aspects"][0]
    quotes = fabric["quotes"]
    assert [q["review_id"] for q in quotes] == [3, 1]  # positive probability .99, .97 (review 2: .8)
    assert all(q["sentiment"] == "positive" for q in quotes)
    assert quotes[0]["text"] == "review 3 is positive"
    long_quote = quotes[1]["text"]
    assert len(long_quote) <= 200 and "Fabric is lovely" in long_quote
    assert long_quote.startswith("…") and long_quote.endswith("…")


def test_min_mention_rule_falls_back_to_one_for_few_reviews() -> None:
    few = aspect_reviews()[:6]  # 6 reviews < 10: one mention is enough
    praised = product_insights(few)["praised_aspects"]
    assert "zip" in [a["term"] for a in praised]
    many = aspect_reviews()
    assert "zip" not in [a["term"] for a in product_insights(many)["praised_aspects"]]


def test_at_most_five_aspects_each() -> None:
    records = [
        rec(i, "positive", aspects=tuple(asp(f"a{k}", "positive") for k in range(8))) for i in range(3)
    ]
    assert len(product_insights(records)["praised_aspects"]) == 5
    assert product_insights(records)["criticised_aspects"] == []


@pytest.mark.parametrize("limit", [40, 80, 200])
def test_shorten_around_keeps_the_aspect_within_the_limit(limit: int) -> None:
    text = "word " * 100 + "the zipper broke" + " more" * 100
    out = shorten_around(text, "Zipper", limit)
    assert len(out) <= limit and "zipper" in out
    assert shorten_around("  short\n text ", "x") == "short text"


# --- drivers ----------------------------------------------------------------------------------------------


def driver_reviews() -> list[ReviewRecord]:
    """10 reviews, 5 positive / 2 neutral / 3 negative: overall net sentiment 0.2."""

    def fabric() -> AspectRecord:
        return asp("fabric", "positive")

    def zipper() -> AspectRecord:
        return asp("zip", "negative", "Zip")

    def price() -> AspectRecord:
        return asp("price", "neutral", topic=(3, "value"))

    def odd() -> AspectRecord:
        return asp("thing", "negative", topic=(-1, "outlier"))

    return [
        rec(1, "positive", aspects=(fabric(),)),
        rec(2, "positive", aspects=(fabric(), price())),
        rec(3, "positive", aspects=(fabric(),)),
        rec(4, "positive", aspects=(fabric(),)),
        rec(5, "positive"),
        rec(6, "neutral", aspects=(price(), odd())),
        rec(7, "neutral", aspects=(odd(),)),
        rec(8, "negative", aspects=(zipper(),)),
        rec(9, "negative", aspects=(zipper(),)),
        rec(10, "negative", aspects=(zipper(),)),
    ]


def test_driver_impact_sign_value_and_order() -> None:
    result = drivers(driver_reviews())
    got = [(d["name"], d["kind"], d["reviews"], d["net_sentiment"], d["impact"]) for d in result["aspects"]]
    # 9 judging aspect mentions: 4 praise the fabric, 3 criticise the zip, 2 "thing": net (4 - 5) / 9
    assert got == [
        ("fabric", "aspect", 4, 1.0, pytest.approx(4 / 9 * (1 + 1 / 9), abs=1e-4)),  # +0.49: pulls up
        ("Zip", "aspect", 3, -1.0, pytest.approx(3 / 9 * (-1 + 1 / 9), abs=1e-4)),  # -0.30
        ("thing", "aspect", 2, -1.0, pytest.approx(2 / 9 * (-1 + 1 / 9), abs=1e-4)),  # -0.20
    ]  # "price" is only named, never judged: no driver
    assert sum(d["impact"] for d in result["aspects"]) == pytest.approx(0.0, abs=1e-3)  # terms partition
    topics = result["topics"]
    assert [(t["name"], t["impact"]) for t in topics] == [
        ("material", pytest.approx(4 / 7 * (1 - 1 / 7), abs=1e-4)),
        ("construction", pytest.approx(3 / 7 * (-1 - 1 / 7), abs=1e-4)),
    ]  # the outlier topic (-1) is no driver, nor "value", whose mentions are all the neutral price
    assert all(t["kind"] == "topic" for t in topics)
    assert sentiment_report(driver_reviews())["drivers"] == result


def test_category_drivers_name_the_category_and_leave_out_mentions_without_one() -> None:
    records = [
        *driver_reviews(),
        rec(11, "negative", aspects=(asp("fit", "negative"), asp("fit", "negative"))),
    ]
    got = [(d["name"], d["kind"], d["mentions"], d["reviews"]) for d in drivers(records)["categories"]]
    # 9 judging mentions with a category (4 praise, 5 criticise); "thing" (no category) is in none
    assert got == [
        ("fabric/material", "category", 4, 4),  # 4/9 x (1 + 1/9) = +0.49
        ("quality/durability", "category", 3, 3),  # 3/9 x (-1 + 1/9) = -0.30
        ("fit/size", "category", 2, 1),
    ]  # price/value: named twice, judged never
    assert drivers(records)["categories"][2]["impact"] == pytest.approx(2 / 9 * (-1 + 1 / 9), abs=1e-4)


def test_aspects_of_a_product_its_reviews_love_are_not_all_drags() -> None:
    """QA: 8 of 10 categories had negative impact though each was mostly praised, measured against the
    reviews' net sentiment (nearly all positive) with named-only mentions counted as neutral."""
    records = [
        rec(i, "positive", aspects=(asp("fabric", "positive"), asp("fit", "neutral"), asp("zip", "neutral")))
        for i in range(8)
    ] + [
        rec(8, "positive", aspects=(asp("fabric", "negative"), asp("fit", "positive"))),
        rec(9, "negative", aspects=(asp("zip", "negative"), asp("fit", "negative"))),
    ]
    by_name = {d["name"]: d for d in drivers(records)["categories"]}
    assert by_name["fabric/material"]["net_sentiment"] == pytest.approx(7 / 9, abs=1e-4)
    assert by_name["fabric/material"]["impact"] > 0 > by_name["quality/durability"]["impact"]


def test_a_group_only_named_is_no_driver_however_the_reviews_lean() -> None:
    # every review criticises the zip; the hem is only named ("the hem comes to the knee") in two of them
    records = [rec(i, "negative", aspects=(asp("zip", "negative"), asp("hem", "neutral"))) for i in (1, 2)]
    records.append(rec(3, "negative", aspects=(asp("zip", "negative"),)))
    result = drivers(records)
    assert [d["name"] for d in result["aspects"]] == [
        "zip"
    ]  # the hem's 0 net against -1 overall is no praise
    assert [d["name"] for d in result["topics"]] == ["construction"]


def test_a_category_as_negative_as_the_whole_product_is_quoted_by_its_criticism() -> None:
    # impact 0 (its net sentiment is the product's, -1), yet it is what the reviews criticise
    records = [
        rec(
            1, "negative", aspects=(asp("fit", "negative", quote="It runs small.", opinions=("runs small",)),)
        ),
        rec(
            2, "negative", aspects=(asp("fit", "negative", quote="Way too tight.", opinions=("too tight",)),)
        ),
    ]
    (fit,) = product_insights(records)["categories"]
    assert fit["name"] == "fit/size" and fit["impact"] == 0.0 and fit["net_sentiment"] == -1.0
    assert fit["quote"] is not None and fit["quote"]["sentiment"] == "negative"
    assert fit["quote"]["text"] in {"It runs small.", "Way too tight."}


def test_a_quote_holds_the_opinion_its_clause_left_out() -> None:
    """QA: the colour was "praised" with the quote "the color," (its clause ended before "nice")."""
    text = "The color, I think, is really nice. Shipping was slow."
    colour = asp("colour", "positive", "color", opinions=("really nice",), quote="The color,")
    [quote] = product_insights([rec(1, "positive", aspects=(colour,), text=text)])["praised_aspects"][0][
        "quotes"
    ]
    assert "really nice" in quote["text"] and "color" in quote["text"]


def test_topic_impacts_of_a_partition_sum_to_zero() -> None:
    labels = ["positive", "positive", "negative", "neutral", "negative", "positive", "positive", "neutral"]
    records = [
        rec(i, label, topics=((i % 3, f"topic {i % 3}", 1.0),)) for i, label in enumerate(labels * 2)
    ]  # 16 reviews, each in exactly one topic; impact uses the document label when no aspect carries it
    topics = drivers(records)["topics"]
    assert len(topics) == 3
    assert sum(t["impact"] for t in topics) == pytest.approx(0.0, abs=1e-3)


def test_drivers_cap_at_ten() -> None:
    records = [
        rec(i, "positive", aspects=tuple(asp(f"t{k}", "negative") for k in range(15))) for i in range(12)
    ]
    assert len(drivers(records)["aspects"]) == 10


# --- quotes -----------------------------------------------------------------------------------------------


def test_report_quotes_are_three_most_positive_then_three_most_negative() -> None:
    records = [
        rec(1, "positive", score=0.9, text="Lovely dress, I wear it all the time."),
        rec(2, "positive", score=0.8),
        rec(3, "positive", score=0.95),
        rec(4, "positive", score=0.7),
        rec(5, "negative", score=0.6),
        rec(6, "negative", score=0.99, product_id="KNT-220"),
        rec(7, "neutral", score=0.99),
        rec(8, "negative", score=0.75),
        rec(9, "negative", score=0.85),
    ]
    quotes = sentiment_report(records)["quotes"]
    assert [(q["review_id"], q["sentiment"]) for q in quotes] == [
        (3, "positive"),
        (1, "positive"),
        (2, "positive"),
        (6, "negative"),
        (9, "negative"),
        (8, "negative"),
    ]
    assert quotes[1]["text"] == "Lovely dress, I wear it all the time."  # verbatim
    assert quotes[3] == {
        "review_id": 6,
        "product_id": "KNT-220",
        "text": "review 6 is negative",
        "sentiment": "negative",
        "created_at": "2024-01-03T12:00:00",
    }


def test_report_echoes_filters_and_stamps_time() -> None:
    stamp = datetime(2024, 4, 1, 8, 30, tzinfo=UTC)
    report = sentiment_report(
        [rec(1, "positive")], "month", {"category": "dresses", "to": datetime(2024, 3, 31, 23, 59)}, stamp
    )
    assert report["filters"] == {"category": "dresses", "to": "2024-03-31T23:59:00"}
    assert report["granularity"] == "month"
    assert report["generated_at"] == "2024-04-01T08:30:00+00:00"
    assert (
        "positive" in report["definitions"]["net_sentiment"]
        and "impact" in report["definitions"]["impact"].lower()
    )


# --- CSV --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        ('=HYPERLINK("http://evil.example","x")', '\'=HYPERLINK("http://evil.example","x")'),
        ("@SUM(A1:A9)", "'@SUM(A1:A9)"),
        ("+1", "'+1"),
        ("-2+3", "'-2+3"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("-0.25", "-0.25"),  # a plain negative number as text stays a number
        ("-3", "-3"),
        (-0.25, -0.25),
        (7, 7),
        ("a = b", "a = b"),
        (None, ""),
    ],
)
def test_csv_cell_neutralises_formulas_only(value: object, cell: object) -> None:
    assert csv_cell(value) == cell


def sections(text: str) -> dict[str, list[list[str]]]:
    """CSV text -> {section title: [header, rows...]} (sections are separated by empty rows)."""
    out: dict[str, list[list[str]]] = {}
    block: list[list[str]] = []
    for row in csv.reader(io.StringIO(text)):
        if row:
            block.append(row)
        elif block:
            out[block[0][0]] = block[1:]
            block = []
    return out


def test_report_csv_parses_back_and_is_safe_against_formula_injection() -> None:
    records = [
        rec(1, "positive", text='=HYPERLINK("http://evil.example","click me")', score=0.99),
        rec(2, "negative", text="@SUM(A1:A9)", score=0.99, product_id="+1"),
        rec(3, "negative", text="-2+3", score=0.8),
        rec(4, "neutral", text="fine"),
    ]  # net sentiment (1 - 2) / 4 = -0.25
    report = sentiment_report(records, "month", {"product_id": "=cmd|' /C calc'!A0"})
    text = report_csv(report)
    assert text.endswith("\r\n")
    parsed = sections(text)
    assert set(parsed) == {"Report", "Scorecards", "Trend", "Drivers", "Quotes"}

    scorecards = dict(parsed["Scorecards"][1:])
    assert parsed["Scorecards"][0] == ["metric", "value"]
    assert scorecards["net_sentiment"] == "-0.25" and float(scorecards["net_sentiment"]) == -0.25
    assert scorecards["reviews"] == "4" and scorecards["average_rating"] == ""

    assert ["filter:product_id", "'=cmd|' /C calc'!A0"] in parsed["Report"]
    trend = parsed["Trend"]
    assert trend[0] == [
        "period",
        "reviews",
        "positive",
        "neutral",
        "negative",
        "net_sentiment",
        "average_rating",
    ]
    assert trend[1] == ["2024-01-01", "4", "1", "1", "2", "-0.25", ""]

    quotes = {row[0]: row for row in parsed["Quotes"][1:]}
    assert parsed["Quotes"][0] == ["review_id", "product_id", "created_at", "sentiment", "text"]
    assert quotes["1"][4] == '\'=HYPERLINK("http://evil.example","click me")'
    assert quotes["2"][1:] == ["'+1", "2024-01-03T12:00:00", "negative", "'@SUM(A1:A9)"]
    assert quotes["3"][4] == "'-2+3"
    every_cell = [cell for block in parsed.values() for row in block for cell in row]
    risky = [
        c for c in every_cell if c[:1] in ("=", "+", "@", "\t", "\r") or (c.startswith("-") and "+" in c)
    ]
    assert risky == []


def test_report_csv_lists_drivers_and_can_start_with_a_bom() -> None:
    report = sentiment_report(driver_reviews())
    rows = sections(report_csv(report))["Drivers"]
    assert rows[0] == ["kind", "name", "mentions", "reviews", "net_sentiment", "impact"]
    assert rows[1] == ["category", "fabric/material", "4", "4", "1.0", "0.4898"]
    assert [r[0] for r in rows[1:]] == ["category"] * 2 + ["aspect"] * 3 + [
        "topic"
    ] * 2  # no price: only named
    assert report_csv(report, bom=True).startswith("\ufeffReport\r\n")


def test_a_decades_long_span_lists_only_periods_with_reviews_and_the_chart_stays_bounded():
    from api.reporting.html import MAX_CHART_PERIODS, report_html

    records = [rec(1, "positive", datetime(1996, 3, 4)), rec(2, "negative", datetime(2026, 3, 2))]
    records += [rec(10 + i, "neutral", datetime(2024, 1, 1) + timedelta(weeks=i)) for i in range(150)]
    report = sentiment_report(records, granularity="week", filters={})
    assert len(report["trend"]) == 151  # weeks with reviews, not the ~1,560 weeks between 1996 and 2026
    page = report_html(report)
    trend_chart = page.split('data-chart="trend"')[1].split("</svg>")[0]
    assert 0 < trend_chart.count('aria-roledescription="bar"') <= 3 * MAX_CHART_PERIODS  # 3 segments a bar
    assert f"latest {MAX_CHART_PERIODS} of 151 periods" in page
