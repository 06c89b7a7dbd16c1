"""The brand manager's HTML report: structure checked with the standard library's HTML parser (the same
pages opened in headless Chromium: ``tests/e2e/test_report_chromium.py``)."""

from __future__ import annotations

import random
import re
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser

import pytest

from api.reporting.html import COLOURS, report_html
from nlp.insights.report import AspectRecord, ReviewRecord, sentiment_report

XSS = "<script>alert(1)</script>"
CHARTS = ("trend", "distribution", "drivers-aspects", "drivers-topics")

# term -> (surface text, topic id, topic label, chance the mention is positive, chance it is negative)
ASPECTS = {
    "fabric": ("fabric", 0, "material & feel", 0.8, 0.1),
    "colour": ("colour", 2, "look & colour", 0.75, 0.1),
    "fit": ("fit", 1, "fit & sizing", 0.25, 0.6),
    "sizing": ("sizing", 1, "fit & sizing", 0.1, 0.8),
    "zip": ("zip", 3, "construction", 0.1, 0.75),
    "delivery": ("delivery", 4, "delivery & service", 0.5, 0.3),
    "price": ("price", 5, "value", 0.3, 0.2),
}
SENTENCES = {
    "positive": "I love the {a}, it is {o}.",
    "neutral": "The {a} is {o}.",
    "negative": "Sadly the {a} is {o}.",
}
OPINIONS = {"positive": "really lovely", "neutral": "as described", "negative": "a real letdown"}


def realistic_records(seed: int = 7) -> list[ReviewRecord]:
    """About 70 reviews of two dresses from January to March 2024, souring in March (sizing complaints)."""
    rng = random.Random(seed)
    records = []
    start = datetime(2024, 1, 1, 9, 0, tzinfo=UTC)
    for i in range(70):
        created = start + timedelta(hours=rng.randrange(0, 91 * 24))
        march = created.month == 3
        terms = rng.sample(list(ASPECTS), k=rng.randint(1, 3))
        if march and "sizing" not in terms:
            terms.append("sizing")
        aspects = []
        for term in terms:
            surface, topic_id, topic_label, p_pos, p_neg = ASPECTS[term]
            draw = rng.random()
            sentiment = "positive" if draw < p_pos else "negative" if draw < p_pos + p_neg else "neutral"
            aspects.append(
                AspectRecord(surface, term, topic_id, topic_label, sentiment, (OPINIONS[sentiment],))
            )
        votes = [a.sentiment for a in aspects]
        label = max(("negative", "neutral", "positive"), key=lambda s: (votes.count(s), s == "neutral"))
        confidence = round(rng.uniform(0.55, 0.97), 3)
        rest = (1 - confidence) / 2
        scores = {s: confidence if s == label else rest for s in ("negative", "neutral", "positive")}
        text = " ".join(SENTENCES[a.sentiment].format(a=a.text, o=OPINIONS[a.sentiment]) for a in aspects)
        rating = {"positive": rng.choice([4, 5]), "neutral": 3, "negative": rng.choice([1, 2])}[label]
        topics = tuple(sorted({(a.topic_id, a.topic_label) for a in aspects}))
        records.append(
            ReviewRecord(
                review_id=1000 + i,
                product_id=rng.choice(["DRS-101", "DRS-102"]),
                category="dresses",
                rating=rating if rng.random() > 0.1 else None,
                created_at=created,
                text=text,
                sentiment=label,
                scores=scores,
                aspects=tuple(aspects),
                topics=tuple((t, name, round(1 / len(topics), 3)) for t, name in topics),
            )
        )
    # a hostile review that must be quoted as text, never run: the strongest positive review of all
    records.append(
        ReviewRecord(
            review_id=1,
            product_id="DRS-101",
            category="dresses",
            rating=5,
            created_at=datetime(2024, 2, 14, 12, 0, tzinfo=UTC),
            text=f"Best dress ever {XSS} & the fabric is <b>perfect</b>",
            sentiment="positive",
            scores={"negative": 0.001, "neutral": 0.001, "positive": 0.998},
            aspects=(AspectRecord("fabric", "fabric", 0, "material & feel", "positive", ("perfect",)),),
            topics=((0, "material & feel", 1.0),),
        )
    )
    return records


def realistic_report(granularity: str = "week") -> dict:
    filters = {"category": "dresses", "from": "2024-01-01", "to": "2024-03-31", "product_id": None}
    stamp = datetime(2024, 4, 1, 8, 0, tzinfo=UTC)
    return sentiment_report(realistic_records(), granularity, filters, stamp)


def empty_report() -> dict:
    filters = {"product_id": "NO-SUCH-PRODUCT", "from": "2030-01-01"}
    return sentiment_report([], "month", filters, datetime(2024, 4, 1, tzinfo=UTC))


BAR_PATH = re.compile(r"M(-?[\d.e-]+),(-?[\d.e-]+)h(-?[\d.e-]+)v(-?[\d.e-]+)h")
TREND_BAR = re.compile(r"(\d{4}-\d\d-\d\d): (\d+) (negative|neutral|positive) of (\d+) reviews?")
SHARE_BAR = re.compile(r"(Negative|Neutral|Positive): (<?\d+%) \((\d+) reviews?\)")
DRIVER_BAR = re.compile(
    r"(.+): impact ([+\u2212]?[\d.]+) points of net sentiment \((\d+) reviews? · its net ([+\u2212]?\d+)\)"
)


class PageParser(HTMLParser):
    """Collects what the tests check: charts and their data bars (the elements Vega marks as bars, with the
    ARIA label that states their figures), scripts, tags, external references, text."""

    def __init__(self) -> None:
        super().__init__()
        self.svgs: list[dict[str, str | None]] = []
        self.svg_first_child: list[str] = []
        self.bars: dict[str, list[dict[str, str | None]]] = defaultdict(list)
        self.tags: set[str] = set()
        self.scripts = 0
        self.external: list[str] = []
        self.text: list[str] = []
        self._chart: str | None = None
        self._expect_first_child = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        self.tags.add(tag)
        if self._expect_first_child:
            self.svg_first_child.append(tag)
            self._expect_first_child = False
        if tag == "svg":
            self.svgs.append(attributes)
            self._chart = attributes.get("data-chart") or f"svg{len(self.svgs)}"
            self._expect_first_child = True
        elif attributes.get("aria-roledescription") == "bar" and self._chart:
            self.bars[self._chart].append(attributes)
        elif tag == "script":
            self.scripts += 1
        for name, value in attrs:
            if value and ("://" in value or value.strip().lower().startswith(("//", "url("))):
                self.external.append(f"{tag}[{name}]={value}")
            if name in {"src", "href"} and value and not value.startswith("#"):
                self.external.append(f"{tag}[{name}]={value}")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag: str) -> None:
        if tag == "svg":
            self._chart = None

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parse(page: str) -> PageParser:
    parser = PageParser()
    parser.feed(page)
    parser.close()
    return parser


def labelled(bars: list[dict[str, str | None]], pattern: re.Pattern[str]) -> list[tuple[re.Match[str], dict]]:
    """Each bar's ARIA label read with ``pattern`` (which must match all of it), with the bar's attributes."""
    found = []
    for bar in bars:
        match = pattern.fullmatch(bar["aria-label"] or "")
        assert match, bar["aria-label"]
        found.append((match, bar))
    return found


def box(bar: dict[str, str | None]) -> tuple[float, float, float, float]:
    """``(x, y, width, height)`` of a bar Vega drew as a rectangular path."""
    match = BAR_PATH.match(bar["d"] or "")
    assert match, bar["d"]
    x, y, width, height = (float(v) for v in match.groups())
    return x, y, width, height


def points(text: str) -> float:
    return float(text.replace("\u2212", "-"))


@pytest.mark.parametrize("granularity", ["week", "month"])
def test_report_page_has_four_accessible_charts_with_data(granularity: str) -> None:
    report = realistic_report(granularity)
    page = report_html(report)
    parsed = parse(page)
    assert page.startswith("<!DOCTYPE html>")
    assert [svg["data-chart"] for svg in parsed.svgs] == list(CHARTS)
    for svg in parsed.svgs:
        assert svg["role"] == "graphics-document" and svg["aria-label"]
    assert parsed.svg_first_child == ["title"] * len(CHARTS)
    for chart in CHARTS:
        assert len(parsed.bars[chart]) > 0, chart
        assert all(bar["role"] == "graphics-symbol" for bar in parsed.bars[chart])

    # the trend bars are each period's counts by sentiment, drawn on one scale, in their sentiment's colour
    rows = {row["period"]: row for row in report["trend"]}
    drawn: dict[str, dict[str, int]] = defaultdict(dict)
    per_review = set()
    for match, bar in labelled(parsed.bars["trend"], TREND_BAR):
        period, count, sentiment, reviews = match[1], int(match[2]), match[3], int(match[4])
        drawn[period][sentiment] = count
        assert reviews == rows[period]["reviews"] and bar["fill"] == COLOURS[sentiment]
        per_review.add(round(box(bar)[3] / count, 6))
    assert len(per_review) == 1  # bar height is proportional to the count
    assert set(drawn) == {period for period, row in rows.items() if row["reviews"]}
    for period, counts in drawn.items():
        assert counts == {s: rows[period][s] for s in ("negative", "neutral", "positive") if rows[period][s]}
    assert sum(sum(c.values()) for c in drawn.values()) == report["scorecards"]["reviews"] == 71

    # the distribution bar is the three shares, widths in proportion, with the counts of reviews
    shares = {}
    for match, bar in labelled(parsed.bars["distribution"], SHARE_BAR):
        sentiment = match[1].lower()
        assert (
            match[2] == f"{report['distribution'][sentiment] * 100:.0f}%"
            and bar["fill"] == COLOURS[sentiment]
        )
        assert int(match[3]) == sum(row[sentiment] for row in report["trend"])
        shares[sentiment] = box(bar)[2]
    total = sum(shares.values())
    for sentiment, width in shares.items():
        assert width / total == pytest.approx(report["distribution"][sentiment], abs=1e-3)

    # driver bars: one per driver in the report's order, green when they pull up, red when they pull down,
    # to the right or left of one zero line, lengths in proportion to the impact
    for kind in ("aspects", "topics"):
        found = labelled(parsed.bars[f"drivers-{kind}"], DRIVER_BAR)
        expected = report["drivers"][kind]
        assert [m[1] for m, _ in found] == [d["name"] for d in expected]
        assert [points(m[2]) for m, _ in found] == [round(d["impact"] * 100, 1) for d in expected]
        assert [int(m[3]) for m, _ in found] == [d["reviews"] for d in expected]
        assert [points(m[4]) for m, _ in found] == [round(d["net_sentiment"] * 100) for d in expected]
        zero, scale = set(), set()
        for (_, bar), driver in zip(found, expected, strict=True):
            x, _, width, _ = box(bar)
            up = driver["impact"] >= 0
            assert bar["fill"] == (COLOURS["positive"] if up else COLOURS["negative"])
            zero.add(round(x if up else x + width, 3))  # a bar starts at zero, to the right when up
            scale.add(round(width / abs(driver["impact"]), 3))
        assert len(zero) == 1 and len(scale) == 1
    assert {d["impact"] >= 0 for d in report["drivers"]["aspects"]} == {True, False}


def test_report_page_is_self_contained_and_escapes_user_text() -> None:
    page = report_html(realistic_report())
    parsed = parse(page)
    assert parsed.scripts == 0 and "<script" not in page.lower()
    assert parsed.external == []
    assert "http://" not in page and "https://" not in page
    assert "<link" not in page and "@import" not in page and "url(" not in page
    # the hostile quote is shown as text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "&lt;b&gt;perfect&lt;/b&gt;" in page and "&amp; the fabric" in page
    text = "".join(parsed.text)
    assert XSS in text  # what the reader sees, literally


def test_text_from_reviews_inside_the_charts_stays_text() -> None:
    """Driver names come from what customers wrote: the charts draw them as text, never as markup."""
    hostile, topic = "<img src=x onerror=alert(1)>&co", "<b>bold</b> topic"
    records = [
        ReviewRecord(
            review_id=i,
            product_id="DRS-101",
            category="dresses",
            rating=2,
            created_at=datetime(2024, 1, 1 + i, tzinfo=UTC),
            text=f"The {hostile} broke.",
            sentiment="negative" if i else "positive",
            scores={"negative": 0.8, "neutral": 0.1, "positive": 0.1},
            aspects=(AspectRecord(hostile, "img", 0, topic, "negative", ("broke",), "quality/durability"),),
            topics=((0, topic, 1.0),),
        )
        for i in range(3)
    ]
    page = report_html(
        sentiment_report(records, "week", {"category": "<i>dresses</i>"}, datetime(2024, 2, 1))
    )
    parsed = parse(page)
    assert not parsed.tags & {"img", "i", "script"} and "<b>bold" not in page  # (the filters' values are <b>)
    assert parsed.external == []
    assert hostile in "".join(parsed.text) and topic in "".join(parsed.text)  # drawn as labels
    for chart, name in (("drivers-aspects", hostile), ("drivers-topics", topic)):
        assert parsed.bars[chart][0]["aria-label"].startswith(f"{name}: impact "), chart


@pytest.mark.parametrize("reviews", [1, 3])
def test_the_trend_axis_counts_whole_reviews(reviews: int) -> None:
    records = [
        ReviewRecord(i, "DRS-101", "dresses", 5, datetime(2024, 1, 2, tzinfo=UTC), "Lovely.", "positive", {})
        for i in range(reviews)
    ]
    page = report_html(sentiment_report(records, "month", {}, datetime(2024, 2, 1, tzinfo=UTC)))
    trend = page.split('data-chart="trend"')[1].split("</svg>")[0]
    labels = re.findall(r'<g class="mark-text role-axis-label"[^>]*>(.*?)</g>', trend)
    ticks = [t for block in labels for t in re.findall(r">([^<]*)</text>", block) if t.isdigit()]
    assert ticks == [str(n) for n in range(reviews + 1)]  # 0, 1, ... each once: no half-review ticks


def test_the_reviews_card_says_how_many_texts_were_left_unread() -> None:
    lovely = ReviewRecord(
        1, "DRS-101", "dresses", 5, datetime(2024, 1, 2, tzinfo=UTC), "Lovely.", "positive", {}
    )
    german = ReviewRecord(
        2, "DRS-101", "dresses", 2, datetime(2024, 1, 3, tzinfo=UTC), "Zu klein.", "neutral", {},
        flags=("unsupported_language",),
    )  # fmt: skip
    text = " ".join("".join(parse(report_html(sentiment_report([lovely, german], "month"))).text).split())
    assert "1 in a language the models cannot read, left out of the shares" in text
    assert "cannot read" not in report_html(sentiment_report([lovely], "month"))


def test_report_page_reads_without_help() -> None:
    page = report_html(realistic_report())
    text = " ".join("".join(parse(page).text).split())
    # title with the filters applied (None filters are left out)
    assert "Filters: Category dresses · From 2024-01-01 · To 2024-03-31" in text
    assert "Product" not in text.split("Filters:")[1].split("Generated")[0]
    assert (
        "<title>Customer sentiment report: Category dresses, From 2024-01-01, To 2024-03-31</title>" in page
    )
    for words in (
        "Net sentiment = % positive \u2212 % negative",
        "Positive",
        "Neutral",
        "Negative",
        "Reviews",
        "Week (starting Monday)",
        "pulls net sentiment up",
        "pulls net sentiment down",
        "Most positive",
        "Most negative",
        "Average rating",
    ):
        assert words in text, words


def test_empty_report_says_so_instead_of_drawing_empty_charts() -> None:
    page = report_html(empty_report())
    parsed = parse(page)
    assert "No reviews match these filters" in page
    assert parsed.svgs == [] and parsed.scripts == 0
    assert "Product NO-SUCH-PRODUCT" in " ".join("".join(parsed.text).split())
