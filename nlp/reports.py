"""Brand-manager reports and product insights over analysed reviews (no web code: plain records in,
JSON-ready dicts, CSV or one self-contained HTML page out).

Public functions:

- :func:`product_insights` - one product's review count, rating, sentiment mix, net sentiment, most praised
  and criticised aspects with quotes, and its trend;
- :func:`sentiment_report` - the brand manager's report (scorecards, trend, distribution, drivers, quotes);
- :func:`report_csv` / :func:`report_html` - that report as spreadsheet-safe CSV / one page with SVG charts;
- helpers others may reuse: :func:`drivers`, :func:`period_start`, :func:`shorten_around`, :func:`csv_cell`.

Sources: net sentiment is scored like the Net Promoter Score (Reichheld, "The One Number You Need to Grow",
Harvard Business Review, Dec 2003); driver impact is a group's term of the between-group decomposition of a
mean (see :func:`drivers`); weeks start on Monday as in ISO 8601; CSV cells are guarded as OWASP's "CSV
Injection" page recommends.
"""

from __future__ import annotations

import csv
import html
import io
import math
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any


@dataclass(frozen=True)
class AspectRecord:
    """One aspect mention of a stored review: surface ``text``, lemmatised ``term``, topic, clause sentiment
    label (negative / neutral / positive), opinion texts, aspect ``category`` (``nlp.categories``; None
    for mentions analysed before categories existed) and ``quote``: the clause of the analysed text the
    mention lies in, whose sentiment it has (``nlp.aspects.clause_at``; "" when unknown)."""

    text: str
    term: str
    topic_id: int
    topic_label: str
    sentiment: str
    opinions: tuple[str, ...] = ()
    category: str | None = None
    quote: str = ""


@dataclass(frozen=True)
class ReviewRecord:
    """A stored, analysed review as reports see it. ``scores`` maps negative / neutral / positive to
    probabilities; ``topics`` is ``((topic_id, label, score), ...)``."""

    review_id: int
    product_id: str
    category: str | None
    rating: int | None
    created_at: datetime
    text: str
    sentiment: str
    scores: dict[str, float]
    aspects: tuple[AspectRecord, ...] = ()
    topics: tuple[tuple[int, str, float], ...] = field(default_factory=tuple)


# ---------------------------------------------------------------------------------------------------------
# Aggregation: insights and the brand manager's report
# ---------------------------------------------------------------------------------------------------------

SENTIMENTS: tuple[str, ...] = ("negative", "neutral", "positive")
"""Sentiment labels, in the order charts stack them (bottom to top, left to right)."""

GRANULARITIES: tuple[str, ...] = ("week", "month")

FEW_REVIEWS = 10
"""Below this many reviews an aspect needs only 1 mention (instead of 2) to be ranked."""

TOP_ASPECTS = 5
TOP_DRIVERS = 10
QUOTES_PER_SIDE = 3
ASPECT_QUOTE_CHARS = 200
REPORT_QUOTE_CHARS = 500

NET_SENTIMENT_DEFINITION = (
    "Net sentiment = share of positive reviews - share of negative reviews, from -1 (all negative) "
    "to +1 (all positive), scored like a Net Promoter Score (% promoters - % detractors)."
)
IMPACT_DEFINITION = (
    "Impact of an aspect or topic g = (share of reviews mentioning g) x (net sentiment of g's mentions "
    "- overall net sentiment). Positive impact pulls overall net sentiment up, negative pulls it down."
)

DRIVER_KINDS: tuple[str, ...] = ("categories", "aspects", "topics")
"""The kinds of drivers, in the order reports show them."""

_OUTLIER_TOPIC_ID = -1  # BERTopic's convention, as in nlp.topics: terms that fit no topic


def _label(value: str) -> str:
    """A sentiment label normalised to lower case; ``ValueError`` for anything but the three classes."""
    label = value.strip().lower()
    if label not in SENTIMENTS:
        raise ValueError(f"unknown sentiment label {value!r}; expected one of {', '.join(SENTIMENTS)}")
    return label


def _round(value: float, digits: int = 4) -> float:
    """``value`` rounded for JSON, with -0.0 turned into 0.0."""
    return round(value, digits) + 0.0


def _counts(labels: Iterable[str]) -> dict[str, int]:
    """``{negative, neutral, positive}`` -> number of ``labels`` with that sentiment."""
    counts = dict.fromkeys(SENTIMENTS, 0)
    for label in labels:
        counts[_label(label)] += 1
    return counts


def _shares(counts: Mapping[str, int]) -> dict[str, float]:
    """Counts -> shares in [0, 1] summing to 1 (up to rounding to 4 decimals); all 0.0 when empty."""
    total = sum(counts.values())
    return {s: _round(counts[s] / total) if total else 0.0 for s in SENTIMENTS}


def _net(counts: Mapping[str, int]) -> float | None:
    """Net sentiment in [-1, 1]: positive share - negative share; ``None`` for no items.

    The same difference of shares as the Net Promoter Score (% promoters - % detractors; Reichheld, "The One
    Number You Need to Grow", Harvard Business Review, 2003), with positive / negative reviews in place of
    promoters / detractors and on a -1..1 scale instead of -100..100.
    """
    total = sum(counts.values())
    if not total:
        return None
    return (counts["positive"] - counts["negative"]) / total


def _rounded_net(counts: Mapping[str, int]) -> float | None:
    net = _net(counts)
    return None if net is None else _round(net)


def _average_rating(records: Iterable[ReviewRecord]) -> float | None:
    """Mean star rating (1-5) of the records that have one, rounded to 2 decimals; ``None`` if none do."""
    ratings = [r.rating for r in records if r.rating is not None]
    return round(sum(ratings) / len(ratings), 2) if ratings else None


def _min_mentions(review_count: int) -> int:
    """Mentions an aspect or topic needs to be ranked: 2, or 1 for a product with few reviews."""
    return 1 if review_count < FEW_REVIEWS else 2


def _iso(value: object) -> object:
    """Dates and datetimes as ISO 8601 strings; anything else unchanged."""
    return value.isoformat() if isinstance(value, date) else value


# --- time buckets -----------------------------------------------------------------------------------------


def period_start(moment: date, granularity: str) -> date:
    """The first day of the period holding ``moment``: the Monday of its ISO 8601 week for ``"week"``, the
    first of its month for ``"month"``. A datetime counts in its own time zone (its calendar date)."""
    day = moment.date() if isinstance(moment, datetime) else moment
    if granularity == "week":
        return day - timedelta(days=day.weekday())
    if granularity == "month":
        return day.replace(day=1)
    raise ValueError(f"unknown granularity {granularity!r}; expected one of {', '.join(GRANULARITIES)}")


def _next_period(start: date, granularity: str) -> date:
    if granularity == "week":
        return start + timedelta(days=7)
    return date(start.year + start.month // 12, start.month % 12 + 1, 1)


#: Above this many periods between the first and the last review only periods with reviews get a row.
MAX_FILLED_PERIODS = 520


def _trend(records: Sequence[ReviewRecord], granularity: str) -> list[dict[str, Any]]:
    """One row per period from the first to the last review's period (gaps filled with empty periods, unless
    that would take more than :data:`MAX_FILLED_PERIODS` rows).

    Row: ``{period: ISO date of the period start, reviews, positive, neutral, negative (review counts),
    net_sentiment (-1..1, None for an empty period), average_rating (1-5 or None)}``, oldest first.
    """
    if granularity not in GRANULARITIES:
        raise ValueError(f"unknown granularity {granularity!r}; expected one of {', '.join(GRANULARITIES)}")
    buckets: dict[date, list[ReviewRecord]] = defaultdict(list)
    for record in records:
        buckets[period_start(record.created_at, granularity)].append(record)
    if not buckets:
        return []
    first, last = min(buckets), max(buckets)
    span_days = (last - first).days
    filled = span_days / (7 if granularity == "week" else 30.4) <= MAX_FILLED_PERIODS
    periods = []
    period = first
    while filled and period <= last:
        periods.append(period)
        period = _next_period(period, granularity)
    rows = []
    for period in periods or sorted(buckets):
        members = buckets.get(period, [])
        counts = _counts(r.sentiment for r in members)
        rows.append(
            {
                "period": period.isoformat(),
                "reviews": len(members),
                **{s: counts[s] for s in ("positive", "neutral", "negative")},
                "net_sentiment": _rounded_net(counts),
                "average_rating": _average_rating(members),
            }
        )
    return rows


# --- aspects and quotes -----------------------------------------------------------------------------------


def shorten_around(text: str, needle: str, limit: int = ASPECT_QUOTE_CHARS) -> str:
    """``text`` with runs of whitespace collapsed, cut to at most ``limit`` characters around the first
    (case-insensitive) occurrence of ``needle``, at word boundaries, with "…" where text was cut.

    Without ``needle`` (or when it does not occur) the window starts at the beginning of the text.
    """
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    found = text.lower().find(needle.lower()) if needle else -1
    pos, size = (found, len(needle)) if found >= 0 else (0, 0)
    budget = limit - 2  # room for an ellipsis on each side
    start = max(0, min(pos + size // 2 - budget // 2, len(text) - budget))
    end = start + budget
    if start > 0:  # begin on a word boundary that keeps the needle
        space = text.find(" ", start)
        if 0 <= space < pos:
            start = space + 1
    if end < len(text):  # end on a word boundary that keeps the needle
        space = text.rfind(" ", start, end)
        if space > pos + size:
            end = space
    return ("…" if start > 0 else "") + text[start:end].strip() + ("…" if end < len(text) else "")


def stance(aspect: AspectRecord) -> str:
    """What a mention says of its aspect: its clause's sentiment when it has an opinion term, else
    ``neutral`` ("The hem comes to just below the knee." names the hem without judging it, whatever the
    clause's reading), so that a mention is never called praise or criticism for nothing said about it."""
    return _label(aspect.sentiment) if aspect.opinions else "neutral"


def aspect_quote(record: ReviewRecord, aspect: AspectRecord, limit: int = ASPECT_QUOTE_CHARS) -> str:
    """The words of ``record`` that carry what ``aspect`` says: its clause (``aspect.quote``), else the
    review around the aspect's text (:func:`shorten_around`); at most ``limit`` characters."""
    return shorten_around(aspect.quote or record.text, aspect.text, limit)


def _most_common(values: Iterable[Any]) -> Any:
    """The most frequent value; ties go to the one seen first."""
    return Counter(values).most_common(1)[0][0]


def _aspect_groups(
    records: Sequence[ReviewRecord], by: str = "term"
) -> dict[str, list[tuple[ReviewRecord, AspectRecord]]]:
    """Aspect mentions grouped by their ``term`` or ``category`` (``by``), in order of first appearance;
    mentions without a category are left out of the category groups."""
    groups: dict[str, list[tuple[ReviewRecord, AspectRecord]]] = defaultdict(list)
    for record in records:
        for aspect in record.aspects:
            key = aspect.term if by == "term" else aspect.category
            if key is not None:
                groups[key].append((record, aspect))
    return groups


def _aspect_quotes(mentions: Sequence[tuple[ReviewRecord, AspectRecord]], polarity: str) -> list[dict]:
    """Up to 2 quotes from distinct reviews whose mention has :func:`stance` ``polarity``, strongest review
    first (the review's ``polarity`` probability), each ``{review_id, text (:func:`aspect_quote`, <= 200
    chars), sentiment}``."""
    chosen: list[dict] = []
    seen: set[int] = set()
    ordered = sorted(mentions, key=lambda m: (-m[0].scores.get(polarity, 0.0), m[0].review_id))
    for record, aspect in ordered:
        if stance(aspect) != polarity or record.review_id in seen:
            continue
        seen.add(record.review_id)
        chosen.append(
            {"review_id": record.review_id, "text": aspect_quote(record, aspect), "sentiment": polarity}
        )
        if len(chosen) == 2:
            break
    return chosen


def _ranked_aspects(records: Sequence[ReviewRecord], polarity: str) -> list[dict]:
    """The ``TOP_ASPECTS`` aspect terms most often mentioned with ``polarity`` (:func:`stance`; positive:
    praised, negative: criticised), ranked by mentions x share (= the number of such mentions), then share,
    then term.

    A term needs ``_min_mentions`` mentions in all and at least one with ``polarity``. Item: ``{aspect (most
    frequent surface text), term, mentions, share (0..1 of the term's mentions with polarity), topic {id,
    label}, category (the mentions' most common aspect category, None if unknown), quotes [...2]}``.
    """
    minimum = _min_mentions(len(records))
    ranked = []
    for term, mentions in _aspect_groups(records).items():
        hits = sum(stance(a) == polarity for _, a in mentions)
        if len(mentions) < minimum or hits == 0:
            continue
        topic_id, topic_label = _most_common((a.topic_id, a.topic_label) for _, a in mentions)
        ranked.append(
            {
                "aspect": _most_common(a.text for _, a in mentions),
                "term": term,
                "mentions": len(mentions),
                "share": _round(hits / len(mentions)),
                "topic": {"id": topic_id, "label": topic_label},
                "category": _most_common(a.category for _, a in mentions),
                "quotes": _aspect_quotes(mentions, polarity),
                "_hits": hits,
            }
        )
    ranked.sort(key=lambda item: (-item["_hits"], -item["share"], item["term"]))
    for item in ranked:
        del item["_hits"]
    return ranked[:TOP_ASPECTS]


def product_insights(records: Sequence[ReviewRecord], trend_granularity: str = "month") -> dict[str, Any]:
    """Insights for one product (or any set of reviews), JSON-ready.

    Returns::

        {
          "review_count": int,
          "average_rating": float | None,          # mean of 1-5 stars over rated reviews, 2 decimals
          "sentiment_distribution": {"negative": float, "neutral": float, "positive": float},
                                                   # review shares summing to 1 (all 0.0 with no reviews)
          "net_sentiment": float | None,           # positive share - negative share, -1..1 (NPS-style)
          "categories": [category, ...],           # up to 10 aspect categories, see below
          "praised_aspects": [aspect, ...],        # up to 5, see below
          "criticised_aspects": [aspect, ...],
          "trend": [{"period", "reviews", "positive", "neutral", "negative", "net_sentiment",
                     "average_rating"}, ...],      # oldest first; counts of reviews per period
        }

    An aspect item is ``{"aspect": most frequent surface text, "term", "mentions": aspect mentions,
    "share": positive (praised) or negative (criticised) share of those mentions, "topic": {"id", "label"},
    "category": aspect category or None, "quotes": [{"review_id", "text" (<= 200 chars around the aspect), "sentiment"}, ...2]}``, ranked by
    mentions x share; a term needs 2 mentions (1 when the product has fewer than 10 reviews). A mention is
    praise or criticism only with an opinion term (:func:`stance`).

    A category item is a category driver (:func:`drivers`: ``{name, kind, mentions, reviews,
    net_sentiment, impact}``, largest ``|impact|`` first) with ``quote``: the clause of the strongest mention
    on the side it pulls (criticism for a negative impact, praise for a positive one), ``{review_id, text,
    sentiment}``, or None when no mention of that side has an opinion term.

    Args:
        records: the product's analysed reviews.
        trend_granularity: ``"week"`` (periods start on Monday) or ``"month"``.

    Raises:
        ValueError: unknown granularity or sentiment label.
    """
    counts = _counts(r.sentiment for r in records)
    return {
        "review_count": len(records),
        "average_rating": _average_rating(records),
        "sentiment_distribution": _shares(counts),
        "net_sentiment": _rounded_net(counts),
        "categories": _quoted_categories(records),
        "praised_aspects": _ranked_aspects(records, "positive"),
        "criticised_aspects": _ranked_aspects(records, "negative"),
        "trend": _trend(records, trend_granularity),
    }


def _quoted_categories(records: Sequence[ReviewRecord]) -> list[dict]:
    """The category drivers of ``records``, each with the quote :func:`product_insights` describes."""
    groups = _aspect_groups(records, "category")
    items = drivers(records)["categories"]
    for item in items:
        side = "negative" if item["impact"] < 0 else "positive"
        quotes = _aspect_quotes(groups[item["name"]], side)
        item["quote"] = quotes[0] if quotes else None
    return items


# --- drivers ----------------------------------------------------------------------------------------------


def _driver(name: str, kind: str, labels: list[str], reviews: int, total: int, overall: float) -> dict:
    """One driver item; ``impact = reviews / total x (net of labels - overall)``."""
    net = _net(_counts(labels)) or 0.0
    return {
        "name": name,
        "kind": kind,
        "mentions": len(labels),
        "reviews": reviews,
        "net_sentiment": _round(net),
        "impact": _round(reviews / total * (net - overall)),
    }


def _rank_drivers(items: list[dict]) -> list[dict]:
    items.sort(key=lambda d: (-abs(d["impact"]), -d["reviews"], d["name"]))
    return items[:TOP_DRIVERS]


def _topic_mentions(record: ReviewRecord) -> dict[int, tuple[str, list[str]]]:
    """A review's topics -> (label, sentiment labels of its mentions). A topic listed in ``record.topics``
    without an aspect of that topic counts once, with the review's document sentiment. Outliers skipped."""
    found: dict[int, tuple[str, list[str]]] = {}
    for aspect in record.aspects:
        if aspect.topic_id != _OUTLIER_TOPIC_ID:
            found.setdefault(aspect.topic_id, (aspect.topic_label, []))[1].append(stance(aspect))
    for topic_id, label, _score in record.topics:
        if topic_id != _OUTLIER_TOPIC_ID and topic_id not in found:
            found[topic_id] = (label, [record.sentiment])
    return found


def drivers(records: Sequence[ReviewRecord]) -> dict[str, list[dict]]:
    """Aspect categories, aspects and topics ranked by how much they pull net sentiment up or down.

    For a group g (an aspect category, an aspect term, or a topic):
    ``impact(g) = (reviews mentioning g / all reviews) x (net sentiment of g's mentions - overall net
    sentiment)``, where the overall net sentiment is the reviews' (document-level) one and g's is over its
    aspect mentions (:func:`stance`: the clause's label for a mention with an opinion term, else neutral). Positive impact drives net sentiment up, negative drives it
    down; units are net sentiment (-1..1). This is g's term in the between-group decomposition of a mean,
    sum_g w_g (mean_g - mean) (which sums to 0 when the groups partition the reviews; aspects overlap, so
    here it need not): a group moves the whole only as far as it is both different and common.

    Returns ``{"categories": [...], "aspects": [...], "topics": [...]}`` (:data:`DRIVER_KINDS`), each up to
    10 items ``{name, kind ("category" | "aspect" | "topic"), mentions (aspect mentions), reviews (reviews
    mentioning g), net_sentiment, impact}`` sorted by ``|impact|`` (largest first), then reviews. A category
    is named as in ``nlp.categories`` (``fit/size``), an aspect by its most frequent surface text. Groups
    need 2 mentions (1 with fewer than 10 reviews); the outlier topic (-1) and mentions stored without a
    category are left out.
    """
    if not records:
        return {kind: [] for kind in DRIVER_KINDS}
    total = len(records)
    overall = _net(_counts(r.sentiment for r in records)) or 0.0
    minimum = _min_mentions(total)

    def mention_drivers(by: str, kind: str) -> list[dict]:
        items = []
        for key, mentions in _aspect_groups(records, by).items():
            if len(mentions) >= minimum:
                name = key if by == "category" else _most_common(a.text for _, a in mentions)
                reviews = len({id(r) for r, _ in mentions})
                items.append(_driver(name, kind, [stance(a) for _, a in mentions], reviews, total, overall))
        return _rank_drivers(items)

    topic_labels: dict[int, list[str]] = defaultdict(list)
    topic_names: dict[int, list[str]] = defaultdict(list)
    topic_reviews: Counter[int] = Counter()
    for record in records:
        for topic_id, (label, labels) in _topic_mentions(record).items():
            topic_labels[topic_id].extend(labels)
            topic_names[topic_id].append(label)
            topic_reviews[topic_id] += 1
    topics = [
        _driver(_most_common(topic_names[t]), "topic", labels, topic_reviews[t], total, overall)
        for t, labels in topic_labels.items()
        if len(labels) >= minimum
    ]
    return {
        "categories": mention_drivers("category", "category"),
        "aspects": mention_drivers("term", "aspect"),
        "topics": _rank_drivers(topics),
    }


# --- the brand manager's report ---------------------------------------------------------------------------


def _report_quotes(records: Sequence[ReviewRecord]) -> list[dict]:
    """The 3 most positive then the 3 most negative reviews (by the probability of their label, among
    reviews with that label), verbatim up to 500 characters, as ``{review_id, product_id, text, sentiment,
    created_at (ISO 8601)}``."""
    quotes: list[dict] = []
    for polarity in ("positive", "negative"):
        side = [r for r in records if _label(r.sentiment) == polarity]
        side.sort(key=lambda r: (-r.scores.get(polarity, 0.0), r.review_id))
        quotes.extend(
            {
                "review_id": r.review_id,
                "product_id": r.product_id,
                "text": shorten_around(r.text, "", REPORT_QUOTE_CHARS),
                "sentiment": polarity,
                "created_at": r.created_at.isoformat(),
            }
            for r in side[:QUOTES_PER_SIDE]
        )
    return quotes


def sentiment_report(
    records: Sequence[ReviewRecord],
    granularity: str = "week",
    filters: Mapping[str, Any] | None = None,
    generated_at: datetime | None = None,
) -> dict[str, Any]:
    """The brand manager's sentiment report over ``records`` (already filtered by the caller), JSON-ready.

    Returns::

        {
          "filters": {...},                 # as given, dates as ISO 8601 strings
          "granularity": "week" | "month",
          "generated_at": str,              # ISO 8601, UTC unless ``generated_at`` says otherwise
          "scorecards": {"reviews": int, "positive_share": float, "neutral_share": float,
                         "negative_share": float, "net_sentiment": float | None,
                         "average_rating": float | None},
          "distribution": {"negative": float, "neutral": float, "positive": float},   # review shares
          "trend": [...],                   # as in product_insights
          "drivers": {"categories": [...], "aspects": [...], "topics": [...]},   # see drivers()
          "quotes": [{"review_id", "product_id", "text", "sentiment", "created_at"}, ...6],
          "definitions": {"net_sentiment": str, "impact": str},
        }

    Shares are 0..1 and net sentiment -1..1, rounded to 4 decimals. No records give zeros, ``None`` for
    net sentiment and average rating, and empty lists.

    Raises:
        ValueError: unknown granularity or sentiment label.
    """
    if granularity not in GRANULARITIES:
        raise ValueError(f"unknown granularity {granularity!r}; expected one of {', '.join(GRANULARITIES)}")
    counts = _counts(r.sentiment for r in records)
    shares = _shares(counts)
    stamp = generated_at or datetime.now(UTC)
    return {
        "filters": {str(k): _iso(v) for k, v in (filters or {}).items()},
        "granularity": granularity,
        "generated_at": stamp.isoformat(timespec="seconds"),
        "scorecards": {
            "reviews": len(records),
            "positive_share": shares["positive"],
            "neutral_share": shares["neutral"],
            "negative_share": shares["negative"],
            "net_sentiment": _rounded_net(counts),
            "average_rating": _average_rating(records),
        },
        "distribution": shares,
        "trend": _trend(records, granularity),
        "drivers": drivers(records),
        "quotes": _report_quotes(records),
        "definitions": {"net_sentiment": NET_SENTIMENT_DEFINITION, "impact": IMPACT_DEFINITION},
    }


# ---------------------------------------------------------------------------------------------------------
# CSV
# ---------------------------------------------------------------------------------------------------------

_FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?")


def csv_cell(value: object) -> object:
    """One CSV cell made safe to open in a spreadsheet.

    Text that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is prefixed with a single
    quote so that spreadsheets show it as text instead of evaluating it as a formula (OWASP, "CSV
    Injection"). Numbers (int / float) and text that is a plain number such as ``-0.25`` stay as they are;
    ``None`` becomes an empty cell.
    """
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int | float):
        return value
    text = str(value)
    if text.startswith(_FORMULA_PREFIXES) and not _PLAIN_NUMBER.fullmatch(text):
        return "'" + text
    return text


_TREND_COLUMNS = ("period", "reviews", "positive", "neutral", "negative", "net_sentiment", "average_rating")
_DRIVER_COLUMNS = ("kind", "name", "mentions", "reviews", "net_sentiment", "impact")
_QUOTE_COLUMNS = ("review_id", "product_id", "created_at", "sentiment", "text")


def report_csv(report: Mapping[str, Any], bom: bool = False) -> str:
    """``report`` (from :func:`sentiment_report`) as CSV text for spreadsheets (RFC 4180, CRLF lines).

    Sections follow one another, each a title row, a header row and its rows, then an empty row:
    ``Report`` (field,value: generated_at, granularity, then each filter), ``Scorecards`` (metric,value),
    ``Trend`` (one row per period), ``Drivers`` (categories, aspects, then topics) and ``Quotes``. Every cell passes
    through :func:`csv_cell` (formula-injection guard). ``bom=True`` starts the text with a UTF-8 byte
    order mark, which Excel needs to read non-ASCII text correctly.
    """
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")

    def section(title: str, header: Sequence[str], rows: Iterable[Sequence[object]]) -> None:
        writer.writerow([title])
        writer.writerow(header)
        writer.writerows([csv_cell(v) for v in row] for row in rows)
        writer.writerow([])

    meta: list[tuple[object, object]] = [
        ("generated_at", report.get("generated_at")),
        ("granularity", report.get("granularity")),
    ]
    meta += [(f"filter:{k}", v) for k, v in (report.get("filters") or {}).items()]
    section("Report", ("field", "value"), meta)
    section("Scorecards", ("metric", "value"), (report.get("scorecards") or {}).items())
    section(
        "Trend", _TREND_COLUMNS, ([row.get(c) for c in _TREND_COLUMNS] for row in report.get("trend", []))
    )
    driver_rows = [
        [item.get(c) for c in _DRIVER_COLUMNS]
        for kind in DRIVER_KINDS
        for item in (report.get("drivers") or {}).get(kind, [])
    ]
    section("Drivers", _DRIVER_COLUMNS, driver_rows)
    section("Quotes", _QUOTE_COLUMNS, ([q.get(c) for c in _QUOTE_COLUMNS] for q in report.get("quotes", [])))
    return ("\ufeff" if bom else "") + out.getvalue()


# ---------------------------------------------------------------------------------------------------------
# HTML: one self-contained page, charts as inline SVG
# ---------------------------------------------------------------------------------------------------------

_COLOURS = {"negative": "#c0392b", "neutral": "#9aa0a6", "positive": "#2e7d4f"}
_NAMES = {"negative": "Negative", "neutral": "Neutral", "positive": "Positive"}
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_FILTER_NAMES = {
    "product_id": "Product",
    "product": "Product",
    "category": "Category",
    "from": "From",
    "date_from": "From",
    "to": "To",
    "date_to": "To",
    "sentiment": "Sentiment",
    "topic": "Topic",
    "topic_id": "Topic",
}
_MINUS = "\u2212"
_SVG_WIDTH = 960
_NET_LABEL_MAX_PERIODS = 26  # more periods leave no room for a net label above each bar

_CSS = """
:root{--pos:#2e7d4f;--neu:#9aa0a6;--neg:#c0392b;--ink:#1f2328;--muted:#5b6470;--line:#dde1e6}
*{box-sizing:border-box}
body{margin:0;background:#f4f5f7;color:var(--ink);
  font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif}
main{max-width:1040px;margin:0 auto;padding:28px 24px 48px}
h1{font-size:28px;margin:0 0 6px}
h2{font-size:20px;margin:0 0 2px}
h3{font-size:16px;margin:18px 0 0}
.filters{font-size:16px;margin:0}
.filters b{background:#e8ecf1;border-radius:4px;padding:1px 6px;font-weight:600}
.meta{color:var(--muted);font-size:13px;margin:6px 0 0}
section{background:#fff;border:1px solid var(--line);border-radius:10px;padding:20px 24px;margin-top:18px}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(150px,1fr));gap:12px;
  background:none;border:0;padding:0}
.card{background:#fff;border:1px solid var(--line);border-top:4px solid #65717e;border-radius:10px;
  padding:12px 16px}
.card.positive{border-top-color:var(--pos)}.card.neutral{border-top-color:var(--neu)}
.card.negative{border-top-color:var(--neg)}
.card .label{font-size:13px;color:var(--muted)}
.card .value{font-size:28px;font-weight:700;line-height:1.25}
.card .note{font-size:12px;color:var(--muted)}
svg{display:block;width:100%;height:auto;margin:10px 0 0}
svg text{font-size:12px;fill:#333}
svg .muted{fill:#5b6470}
svg .strong{font-weight:600;font-size:13px}
svg .on-bar{fill:#fff;font-weight:600}
.explain{color:var(--muted);font-size:14px;margin:8px 0 0}
.empty{font-size:18px;text-align:center;padding:40px 24px}
.empty strong{display:block;font-size:22px;margin-bottom:6px}
details{margin-top:10px;font-size:14px}
summary{cursor:pointer;color:var(--muted)}
table{border-collapse:collapse;margin-top:8px;width:100%}
th,td{border-bottom:1px solid var(--line);padding:4px 8px;text-align:right}
th:first-child,td:first-child{text-align:left}
.quotes{display:grid;grid-template-columns:1fr 1fr;gap:16px}
.quotes ul{list-style:none;margin:8px 0 0;padding:0}
.quote{border-left:4px solid var(--neu);background:#fafbfc;border-radius:6px;padding:10px 14px;
  margin-bottom:10px}
.quote.positive{border-left-color:var(--pos)}.quote.negative{border-left-color:var(--neg)}
.quote blockquote{margin:4px 0}
.badge{display:inline-block;font-size:12px;font-weight:600;color:#fff;border-radius:10px;padding:0 8px}
.badge.positive{background:var(--pos)}.badge.negative{background:var(--neg)}
.badge.neutral{background:#6f767d}
.cite{color:var(--muted);font-size:12px;margin:0}
footer{color:var(--muted);font-size:13px;margin-top:18px}
@media (max-width:700px){.quotes{grid-template-columns:1fr}}
@media print{body{background:#fff}section{break-inside:avoid}}
"""


def _e(value: object) -> str:
    """Text escaped for HTML content and attribute values."""
    return html.escape(str(value), quote=True)


def _pct(share: float | None) -> str:
    """A 0..1 share as a whole percentage (``"<1%"`` for tiny non-zero shares)."""
    if share is None:
        return "—"
    if 0 < share < 0.005:
        return "<1%"
    return f"{share * 100:.0f}%"


def _signed(value: float | None, digits: int = 0) -> str:
    """A -1..1 value in points (x100) with its sign, e.g. ``+25`` or ``-3.5`` (written with a true minus sign, U+2212); ``—`` for None."""
    if value is None:
        return "—"
    points = round(value * 100, digits)
    text = f"{abs(points):.{digits}f}"
    if points > 0:
        return "+" + text
    return _MINUS + text if points < 0 else text


def _num(value: float) -> str:
    """A number for SVG coordinates (2 decimals, no trailing zeros)."""
    return f"{value:.2f}".rstrip("0").rstrip(".")


def _period_label(period: str, granularity: str, show_year: bool) -> str:
    """``2024-01-08`` -> ``Jan 2024`` (month) or ``8 Jan`` / ``8 Jan 2024`` (week)."""
    day = date.fromisoformat(period)
    if granularity == "month":
        return f"{_MONTHS[day.month - 1]} {day.year}"
    label = f"{day.day} {_MONTHS[day.month - 1]}"
    return f"{label} {day.year}" if show_year else label


def _ticks(maximum: float) -> list[int]:
    """Whole-number axis ticks from 0 past ``maximum`` in steps of 1, 2 or 5 x 10^k (about 4-5 ticks)."""
    if maximum <= 0:
        return [0, 1]
    raw = maximum / 4
    magnitude = 10 ** math.floor(math.log10(raw))
    step = max(1, round(next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)))
    top = math.ceil(maximum / step) * step
    return list(range(0, top + 1, step))


def _svg_open(chart: str, height: float, label: str) -> str:
    """The opening of a chart: ``<svg role="img">`` with an aria-label and a ``<title>``."""
    return (
        f'<svg data-chart="{_e(chart)}" role="img" aria-label="{_e(label)}" '
        f'viewBox="0 0 {_SVG_WIDTH} {_num(height)}" preserveAspectRatio="xMidYMin meet">'
        f"<title>{_e(label)}</title>"
    )


def _rect(x: float, y: float, w: float, h: float, fill: str, value: object, tip: str, **data: object) -> str:
    """A data bar: a ``<rect>`` with ``data-value`` (and other ``data-*``) and a hover ``<title>``."""
    extra = "".join(f' data-{k.replace("_", "-")}="{_e(v)}"' for k, v in data.items())
    return (
        f'<rect x="{_num(x)}" y="{_num(y)}" width="{_num(w)}" height="{_num(h)}" fill="{fill}" '
        f'data-value="{_e(value)}"{extra}><title>{_e(tip)}</title></rect>'
    )


def _text(x: float, y: float, content: str, anchor: str = "start", cls: str = "", extra: str = "") -> str:
    klass = f' class="{cls}"' if cls else ""
    return f'<text x="{_num(x)}" y="{_num(y)}" text-anchor="{anchor}"{klass}{extra}>{_e(content)}</text>'


def _legend(x: float, y: float, items: Sequence[tuple[str, str]], gap: float = 110) -> str:
    """Colour swatches with their names in a row (swatches carry no ``data-value``)."""
    out = []
    for i, (colour, name) in enumerate(items):
        left = x + i * gap
        out.append(
            f'<rect x="{_num(left)}" y="{_num(y - 10)}" width="12" height="12" rx="2" fill="{colour}"/>'
        )
        out.append(_text(left + 18, y, name))
    return "".join(out)


@dataclass(frozen=True)
class _Frame:
    """A chart's plotting area in SVG units (y grows downwards): value 0 sits on the bottom edge and
    ``y_max`` on the top edge."""

    left: float
    top: float
    width: float
    height: float
    y_max: float

    def y(self, value: float) -> float:
        return self.top + self.height - value / self.y_max * self.height


def _y_axis(frame: _Frame, ticks: Sequence[int], title: str) -> str:
    """Horizontal grid lines with their values on the left, and the rotated axis ``title``."""
    parts = []
    for tick in ticks:
        y = _num(frame.y(tick))
        colour = "#8a939c" if tick == 0 else "#e3e6ea"
        parts.append(
            f'<line x1="{frame.left}" x2="{frame.left + frame.width}" y1="{y}" y2="{y}" stroke="{colour}"/>'
        )
        parts.append(_text(frame.left - 8, frame.y(tick) + 4, str(tick), "end", "muted"))
    middle = frame.top + frame.height / 2
    parts.append(_text(16, middle, title, "middle", "muted", f' transform="rotate(-90 16 {_num(middle)})"'))
    return "".join(parts)


def _stacked_bar(frame: _Frame, row: Mapping[str, Any], x: float, width: float, show_net: bool) -> str:
    """One period's bar: negative, neutral, positive review counts stacked from the bottom, and its net
    sentiment in points above it when ``show_net``."""
    parts = []
    base = 0
    for sentiment in SENTIMENTS:
        count = int(row[sentiment])
        if count:
            tip = f"{row['period']}: {count} {sentiment} of {row['reviews']} reviews"
            height = count / frame.y_max * frame.height
            colour = _COLOURS[sentiment]
            parts.append(
                _rect(
                    x,
                    frame.y(base + count),
                    width,
                    height,
                    colour,
                    count,
                    tip,
                    sentiment=sentiment,
                    period=row["period"],
                )
            )
        base += count
    if show_net and row["reviews"]:
        parts.append(
            _text(x + width / 2, frame.y(base) - 6, _signed(row["net_sentiment"]), "middle", "strong")
        )
    return "".join(parts)


#: The trend chart draws at most this many of the latest periods (the table and CSV keep them all).
MAX_CHART_PERIODS = 104


def _trend_svg(trend: Sequence[Mapping[str, Any]], granularity: str) -> str:
    """Stacked bars per period (negative at the bottom, then neutral, positive), height = reviews; the
    period's net sentiment in points above its bar when there is room; at most 12 period labels; the latest
    :data:`MAX_CHART_PERIODS` periods."""
    trend = trend[-MAX_CHART_PERIODS:]
    height = 380
    ticks = _ticks(max(row["reviews"] for row in trend))
    frame = _Frame(left=60, top=58, width=_SVG_WIDTH - 72, height=height - 116, y_max=ticks[-1])
    unit = "week" if granularity == "week" else "month"
    parts = [_svg_open("trend", height, f"Stacked bar chart: reviews per {unit} by sentiment")]
    parts.append(_legend(frame.left, 20, [(_COLOURS[s], _NAMES[s]) for s in reversed(SENTIMENTS)], gap=100))
    show_net = len(trend) <= _NET_LABEL_MAX_PERIODS
    if show_net:
        parts.append(_text(frame.left + 320, 20, "+12 above a bar = its net sentiment", cls="muted"))
    parts.append(_y_axis(frame, ticks, "Reviews"))
    slot = frame.width / len(trend)
    bar_w = min(56.0, slot * 0.72)
    every = math.ceil(len(trend) / 12)
    previous_year = None
    for i, row in enumerate(trend):
        x = frame.left + i * slot + (slot - bar_w) / 2
        parts.append(_stacked_bar(frame, row, x, bar_w, show_net))
        if i % every == 0:
            year = date.fromisoformat(row["period"]).year
            label = _period_label(row["period"], granularity, year != previous_year)
            previous_year = year
            parts.append(_text(x + bar_w / 2, frame.top + frame.height + 18, label, "middle"))
    axis = "Week (starting Monday)" if granularity == "week" else "Month"
    parts.append(_text(frame.left + frame.width / 2, height - 10, axis, "middle", "muted"))
    parts.append("</svg>")
    return "".join(parts)


def _distribution_svg(shares: Mapping[str, float], counts: Mapping[str, int]) -> str:
    """One horizontal 100% bar split into negative / neutral / positive, a legend with % and counts below."""
    width, height, bar_h = _SVG_WIDTH, 100, 40
    parts = [_svg_open("distribution", height, "Stacked bar: share of reviews by sentiment")]
    x = 0.0
    for sentiment in SENTIMENTS:
        share = shares.get(sentiment, 0.0)
        w = share * width
        if w > 0:
            tip = f"{_NAMES[sentiment]}: {_pct(share)} ({counts[sentiment]} reviews)"
            parts.append(_rect(x, 4, w, bar_h, _COLOURS[sentiment], share, tip, sentiment=sentiment))
            if w >= 48:
                parts.append(_text(x + w / 2, 4 + bar_h / 2 + 5, _pct(share), "middle", "on-bar"))
        x += w
    for i, sentiment in enumerate(SENTIMENTS):
        left = i * 320
        n = counts[sentiment]
        label = f"{_NAMES[sentiment]}: {_pct(shares.get(sentiment, 0.0))} ({n} review{'s' if n != 1 else ''})"
        parts.append(f'<rect x="{left}" y="70" width="12" height="12" rx="2" fill="{_COLOURS[sentiment]}"/>')
        parts.append(_text(left + 18, 80, label))
    parts.append("</svg>")
    return "".join(parts)


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _drivers_svg(items: Sequence[Mapping[str, Any]], kind: str) -> str:
    """Diverging bars around a zero line: impact > 0 to the right in green, < 0 to the left in red."""
    width, row_h, top = _SVG_WIDTH, 46, 34
    label_w, value_room = 300, 80
    centre = label_w + (width - label_w) / 2
    half = (width - label_w) / 2 - value_room
    height = top + row_h * len(items) + 8
    largest = max(abs(item["impact"]) for item in items) or 1.0
    parts = [
        _svg_open(
            f"drivers-{kind}", height, f"Diverging bar chart: {kind} that pull net sentiment up or down"
        )
    ]
    parts.append(_text(centre - 10, 16, "◀ pulls net sentiment down", "end", "muted"))
    parts.append(_text(centre + 10, 16, "pulls net sentiment up ▶", "start", "muted"))
    parts.append(
        f'<line x1="{_num(centre)}" x2="{_num(centre)}" y1="24" y2="{_num(height - 4)}" stroke="#8a939c"/>'
    )
    for i, item in enumerate(items):
        mid = top + i * row_h + row_h / 2
        impact = float(item["impact"])
        w = max(1.0, abs(impact) / largest * half)
        up = impact >= 0
        colour = _COLOURS["positive"] if up else _COLOURS["negative"]
        tip = f"{item['name']}: impact {_signed(impact, 1)} points of net sentiment"
        parts.append(_text(label_w - 16, mid - 3, _shorten(str(item["name"]), 34), "end", "strong"))
        reviews = int(item.get("reviews", item.get("mentions", 0)))
        note = f"{reviews} review{'s' if reviews != 1 else ''} · its net {_signed(item['net_sentiment'])}"
        parts.append(_text(label_w - 16, mid + 13, note, "end", "muted"))
        x = centre if up else centre - w
        parts.append(_rect(x, mid - 11, w, 22, colour, impact, tip, direction="up" if up else "down"))
        value_x = centre + w + 6 if up else centre - w - 6
        parts.append(_text(value_x, mid + 4, f"{_signed(impact, 1)} pts", "start" if up else "end", "strong"))
    parts.append("</svg>")
    return "".join(parts)


def _when(stamp: object) -> str:
    """An ISO 8601 timestamp as ``1 Apr 2024, 08:00 UTC`` (``UTC+02:00`` off UTC; unchanged if unparsable)."""
    try:
        moment = datetime.fromisoformat(str(stamp))
    except ValueError:
        return str(stamp or "")
    offset = moment.strftime("%z")
    zone = "" if not offset else " UTC" if offset == "+0000" else f" UTC{offset[:3]}:{offset[3:]}"
    return f"{moment.day} {_MONTHS[moment.month - 1]} {moment.year}, {moment:%H:%M}{zone}"


def _filters_text(filters: Mapping[str, Any]) -> list[tuple[str, str]]:
    """``(name, value)`` pairs of the filters that are set, with readable names."""
    pairs = []
    for key, value in filters.items():
        if value is None or value == "":
            continue
        name = _FILTER_NAMES.get(key, str(key).replace("_", " ").capitalize())
        pairs.append((name, str(value)))
    return pairs


def _cards_html(cards: Mapping[str, Any]) -> str:
    rating = cards.get("average_rating")
    items = [
        ("", "Reviews", f"{cards.get('reviews', 0):,}", "in this report"),
        ("", "Net sentiment", _signed(cards.get("net_sentiment")), f"% positive {_MINUS} % negative"),
        ("positive", "Positive", _pct(cards.get("positive_share")), "of reviews"),
        ("neutral", "Neutral", _pct(cards.get("neutral_share")), "of reviews"),
        ("negative", "Negative", _pct(cards.get("negative_share")), "of reviews"),
        ("", "Average rating", "—" if rating is None else f"{rating:.1f} ★", "out of 5 stars"),
    ]
    return "".join(
        f'<div class="card {cls}"><div class="label">{_e(label)}</div><div class="value">{_e(value)}</div>'
        f'<div class="note">{_e(note)}</div></div>'
        for cls, label, value, note in items
    )


def _trend_table(trend: Sequence[Mapping[str, Any]]) -> str:
    head = "".join(
        f"<th>{h}</th>"
        for h in ("Period start", "Reviews", "Positive", "Neutral", "Negative", "Net sentiment", "Avg rating")
    )
    rows = []
    for row in trend:
        rating = row.get("average_rating")
        cells = [
            row["period"],
            row["reviews"],
            row["positive"],
            row["neutral"],
            row["negative"],
            _signed(row.get("net_sentiment")),
            "—" if rating is None else f"{rating:.1f}",
        ]
        rows.append("<tr>" + "".join(f"<td>{_e(c)}</td>" for c in cells) + "</tr>")
    return (
        f"<details><summary>Show the numbers</summary><table><tr>{head}</tr>{''.join(rows)}</table></details>"
    )


def _quotes_html(quotes: Sequence[Mapping[str, Any]]) -> str:
    columns = []
    for polarity, title in (("positive", "Most positive"), ("negative", "Most negative")):
        items = []
        for q in (q for q in quotes if q.get("sentiment") == polarity):
            created = str(q.get("created_at", ""))[:10]
            items.append(
                f'<li class="quote {polarity}"><span class="badge {polarity}">{_e(_NAMES[polarity])}</span>'
                f"<blockquote>“{_e(q.get('text', ''))}”</blockquote>"
                f'<p class="cite">Review {_e(q.get("review_id"))} · product {_e(q.get("product_id"))}'
                f" · {_e(created)}</p></li>"
            )
        body = "".join(items) or f'<li class="cite">No {polarity} reviews in this report.</li>'
        columns.append(f"<div><h3>{title}</h3><ul>{body}</ul></div>")
    return f'<div class="quotes">{"".join(columns)}</div>'


def _trend_section(trend: Sequence[Mapping[str, Any]], granularity: str) -> str:
    period_word = "week (weeks start on Monday)" if granularity == "week" else "month"
    net_note = (
        "The number above a bar is that period's net sentiment"
        if len(trend) <= _NET_LABEL_MAX_PERIODS
        else "Each period's net sentiment is in the table below (Show the numbers)"
    )
    if len(trend) > MAX_CHART_PERIODS:
        net_note = f"The chart shows the latest {MAX_CHART_PERIODS} of {len(trend)} periods. {net_note}"
    return (
        f"<section><h2>How sentiment moved</h2>{_trend_svg(trend, granularity)}"
        f'<p class="explain">Each bar is one {_e(period_word)}; its height is the number of reviews, split '
        "into negative (red, bottom), neutral (grey) and positive (green, top). "
        f"{net_note}: net sentiment = % positive &minus; % negative, from &minus;100 (all negative) to +100 "
        f"(all positive).</p>{_trend_table(trend)}</section>"
    )


def _mix_section(shares: Mapping[str, float], trend: Sequence[Mapping[str, Any]], net: float | None) -> str:
    counts = {s: sum(int(row[s]) for row in trend) for s in SENTIMENTS}
    return (
        f"<section><h2>Overall sentiment mix</h2>{_distribution_svg(shares, counts)}"
        '<p class="explain">Share of all reviews in this report that read negative, neutral or positive. '
        f"Net sentiment = % positive &minus; % negative = {_e(_signed(net))}.</p></section>"
    )


def _drivers_section(drivers_: Mapping[str, Sequence[Mapping[str, Any]]]) -> str:
    parts = []
    for kind in DRIVER_KINDS:
        items = drivers_.get(kind) or []
        chart = (
            _drivers_svg(items, kind)
            if items
            else f'<p class="explain">Not enough {kind} mentioned to rank.</p>'
        )
        parts.append(f"<h3>{kind.capitalize()}</h3>{chart}")
    return (
        f"<section><h2>What drives sentiment up or down</h2>{''.join(parts)}"
        '<p class="explain">A bar shows how far an aspect category (fit / size, fabric / material, colour, ...), '
        "an aspect (a thing customers talk about, like “fabric”) or a topic (a group of related aspects) moves overall net sentiment: its share of reviews &times; (its own "
        "net sentiment &minus; the overall net sentiment), in points. Green bars to the right lift sentiment; "
        "red bars to the left pull it down. Common subjects with strong feelings move it most.</p></section>"
    )


def _footer(definitions: Mapping[str, str]) -> str:
    net = definitions.get("net_sentiment", NET_SENTIMENT_DEFINITION)
    impact = definitions.get("impact", IMPACT_DEFINITION)
    return f"<footer>{_e(net)} {_e(impact)}</footer>"


def _page_head(report: Mapping[str, Any], granularity: str) -> str:
    """Document head and page header: the title with the filters applied and when it was generated."""
    filters = _filters_text(report.get("filters") or {})
    filter_line = " · ".join(f"{n} <b>{_e(v)}</b>" for n, v in filters) or "All reviews (no filters)"
    title = "Customer sentiment report" + (
        ": " + ", ".join(f"{n} {v}" for n, v in filters) if filters else ""
    )
    period_word = "week (weeks start on Monday)" if granularity == "week" else "month"
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_e(title)}</title><style>{_CSS}</style></head><body><main>"
        f'<header><h1>Customer sentiment report</h1><p class="filters">Filters: {filter_line}</p>'
        f'<p class="meta">Generated {_e(_when(report.get("generated_at")))} · trend per {_e(period_word)}</p>'
        "</header>"
    )


def report_html(report: Mapping[str, Any]) -> str:
    """``report`` (from :func:`sentiment_report`) as one self-contained HTML page: no scripts, fonts,
    images or other requests; charts are inline SVG.

    The page: a title with the filters applied, scorecards, a stacked sentiment trend (bars per period:
    negative / neutral / positive review counts), the sentiment distribution (one 100% bar), driver bars
    (aspects and topics; diverging: green pulls net sentiment up, red pulls it down) and the quotes. Each
    chart is an ``<svg role="img">`` with an aria-label and a ``<title>``; each data bar is a ``<rect>``
    with ``data-value`` (trend: review count, distribution: share, drivers: impact). A report with no
    reviews shows "No reviews match these filters" instead of charts. All text is HTML-escaped.
    """
    cards = report.get("scorecards") or {}
    granularity = str(report.get("granularity", "week"))
    trend = report.get("trend") or []
    head = _page_head(report, granularity)
    tail = "</main></body></html>"
    if not cards.get("reviews"):
        empty = (
            '<section class="empty"><strong>No reviews match these filters</strong>'
            "Try a wider date range, another product or category, or remove a filter.</section>"
        )
        return head + empty + tail

    body = (
        f'<section class="cards" aria-label="Scorecards">{_cards_html(cards)}</section>'
        + _trend_section(trend, granularity)
        + _mix_section(report.get("distribution") or {}, trend, cards.get("net_sentiment"))
        + _drivers_section(report.get("drivers") or {})
        + f"<section><h2>What customers say</h2>{_quotes_html(report.get('quotes') or [])}"
        '<p class="explain">The most clearly positive and most clearly negative reviews, quoted as written.'
        "</p></section>" + _footer(report.get("definitions") or {})
    )
    return head + body + tail
