"""Brand-manager reports and product insights over analysed reviews (no web code and no rendering: plain
records in, JSON-ready dicts out; :mod:`api.reporting` renders the report as HTML and CSV).

Public functions:

- :func:`product_insights` - one product's review count, rating, sentiment mix, net sentiment, most praised
  and criticised aspects with quotes, and its trend;
- :func:`sentiment_report` - the brand manager's report (scorecards, trend, distribution, drivers, quotes);
- helpers others may reuse: :func:`drivers`, :func:`period_start`, :func:`shorten_around`.

Sources: net sentiment is scored like the Net Promoter Score (Reichheld, "The One Number You Need to Grow",
Harvard Business Review, Dec 2003); driver impact is a group's term of the between-group decomposition of a
mean (see :func:`drivers`); weeks start on Monday as in ISO 8601.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from nlp.analysis.language import UNSUPPORTED_LANGUAGE


@dataclass(frozen=True)
class AspectRecord:
    """One aspect mention of a stored review: surface ``text``, lemmatised ``term``, topic, polarity label
    (negative / neutral / positive, ``nlp.analysis.analyzer.AspectAnalysis.sentiment``), opinion texts, aspect
    ``category`` (``nlp.analysis.categories``; None for mentions analysed before categories existed) and
    ``quote``: the clause of the analysed text the mention lies in, which its polarity was read from
    (``nlp.analysis.aspects.clause_at``; "" when unknown)."""

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
    probabilities; ``topics`` is ``((topic_id, label, score), ...)``; ``flags`` are the analysis record's
    (``unsupported_language``: the models could not read the text, so its neutral label is no reading)."""

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
    flags: tuple[str, ...] = ()

    @property
    def read(self) -> bool:
        """Whether the models read the text (its language is one they support)."""
        return UNSUPPORTED_LANGUAGE not in self.flags


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
    "Impact of an aspect, category or topic g = (share of the praising or criticising mentions that are about g)"
    " x (net sentiment of g's praise and criticism - net sentiment of all praise and criticism). Positive"
    " impact lifts net sentiment against the others, negative lowers it; a mention that only names g"
    " counts for nothing."
)

DRIVER_KINDS: tuple[str, ...] = ("categories", "aspects", "topics")
"""The kinds of drivers, in the order reports show them."""

_OUTLIER_TOPIC_ID = -1  # BERTopic's convention, as in nlp.analysis.topics: terms that fit no topic


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
    net_sentiment (-1..1, None for an empty period), average_rating (1-5 or None)}``, oldest first. As in the
    scorecards, ``reviews`` and the rating count every review and the sentiment counts the ones the models
    read (:attr:`ReviewRecord.read`).
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
        counts = _counts(r.sentiment for r in members if r.read)
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


#: A stop right after a title's own closing punctuation, as :func:`nlp.analysis.text.with_title` joins them
#: ("Great dress!. It fits", "Love it.. It fits"); not the last dot of an ellipsis.
_TITLE_STOP = re.compile(r"(?<!\.)([.!?…])\.(?=\s|$)")


def shorten_around(text: str, needle: str, limit: int = ASPECT_QUOTE_CHARS) -> str:
    """``text`` with runs of whitespace collapsed, cut to at most ``limit`` characters around the first
    (case-insensitive) occurrence of ``needle``, at word boundaries, with "…" where text was cut.

    Without ``needle`` (or when it does not occur) the window starts at the beginning of the text. The stop that
    joining a title to its review adds after the title's own ("Great dress!. It fits") is left out.
    """
    text = _TITLE_STOP.sub(r"\1", " ".join(text.split()))
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
    """What a mention says of its aspect: its polarity when it has an opinion term, else
    ``neutral`` ("The hem comes to just below the knee." names the hem without judging it, whatever the
    clause's reading), so that a mention is never called praise or criticism for nothing said about it."""
    return _label(aspect.sentiment) if aspect.opinions else "neutral"


def aspect_quote(record: ReviewRecord, aspect: AspectRecord, limit: int = ASPECT_QUOTE_CHARS) -> str:
    """The words of ``record`` that carry what ``aspect`` says: its clause (``aspect.quote``) when that holds
    one of its opinion terms (or it has none), else the review around its first opinion term ("The color, I
    think, is nice": the clause "The color," lacks "nice") or around the aspect's text
    (:func:`shorten_around`); at most ``limit`` characters."""
    clause = aspect.quote.lower()
    if clause and (not aspect.opinions or any(o.lower() in clause for o in aspect.opinions)):
        return shorten_around(aspect.quote, aspect.text, limit)
    return shorten_around(record.text, aspect.opinions[0] if aspect.opinions else aspect.text, limit)


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
          "unread_reviews": int,                   # of those, texts the models cannot read (see below)
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

    Reviews flagged ``unsupported_language`` (:attr:`ReviewRecord.read` false) count in ``review_count``,
    ``unread_reviews``, the average rating and the trend's review counts and ratings, and in nothing the
    text's reading decides (sentiment, categories, aspects, the trend's sentiment): their neutral label says
    nothing of the product.

    A category item is a category driver (:func:`drivers`: ``{name, kind, mentions, reviews,
    net_sentiment, impact}``, largest ``|impact|`` first) with ``quote``: the clause of the strongest mention
    on the side it pulls (criticism for a negative impact, praise for a positive one; for impact 0, a
    category as polar as the product's reviews, the side of its own net sentiment), ``{review_id, text,
    sentiment}``, or None when no mention of that side has an opinion term.

    Args:
        records: the product's analysed reviews.
        trend_granularity: ``"week"`` (periods start on Monday) or ``"month"``.

    Raises:
        ValueError: unknown granularity or sentiment label.
    """
    read = [r for r in records if r.read]
    counts = _counts(r.sentiment for r in read)
    return {
        "review_count": len(records),
        "unread_reviews": len(records) - len(read),
        "average_rating": _average_rating(records),
        "sentiment_distribution": _shares(counts),
        "net_sentiment": _rounded_net(counts),
        "categories": _quoted_categories(read),
        "praised_aspects": _ranked_aspects(read, "positive"),
        "criticised_aspects": _ranked_aspects(read, "negative"),
        "trend": _trend(records, trend_granularity),
    }


def _quoted_categories(records: Sequence[ReviewRecord]) -> list[dict]:
    """The category drivers of ``records``, each with the quote :func:`product_insights` describes."""
    groups = _aspect_groups(records, "category")
    items = drivers(records)["categories"]
    for item in items:
        # the side it pulls; one as polar as the whole pulls nowhere (impact 0) and is quoted on its own side
        pull = item["impact"] or item["net_sentiment"]
        side = "negative" if pull < 0 else "positive"
        quotes = _aspect_quotes(groups[item["name"]], side)
        item["quote"] = quotes[0] if quotes else None
    return items


# --- drivers ----------------------------------------------------------------------------------------------


def _driver(
    name: str, kind: str, labels: list[str], reviews: int, baseline: tuple[int, float]
) -> dict | None:
    """One driver item from its mentions' ``labels``, or None when none judges it (all neutral: a group nothing
    is said about drives nothing). ``baseline`` is ``(judged labels of every group of the kind, their net)``;
    ``impact = judged labels of g / judged labels of all x (net of g's judged labels - net of all)``."""
    judged = _judged(labels)
    if not judged:
        return None
    total, overall = baseline
    net = _net(_counts(judged)) or 0.0
    return {
        "name": name,
        "kind": kind,
        "mentions": len(labels),
        "reviews": reviews,
        "net_sentiment": _round(net),
        "impact": _round(len(judged) / total * (net - overall)),
    }


def _judged(labels: Iterable[str]) -> list[str]:
    """The labels that praise or criticise (not neutral)."""
    return [label for label in labels if _label(label) != "neutral"]


def _baseline(label_lists: Iterable[list[str]]) -> tuple[int, float]:
    """The count of judged labels among ``label_lists`` and their net sentiment (0.0 for none)."""
    judged = _judged(label for labels in label_lists for label in labels)
    return len(judged), _net(_counts(judged)) or 0.0


def _rank_drivers(candidates: Iterable[dict | None]) -> list[dict]:
    items = [item for item in candidates if item is not None]
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

    A mention judges its group when it praises or criticises it (:func:`stance`: the clause's label for a
    mention with an opinion term; a mention only named is neutral and judges nothing). For a group g (an
    aspect category, an aspect term, or a topic) of a kind,
    ``impact(g) = (judging mentions of g / judging mentions of the kind) x (net sentiment of g's judging
    mentions - net sentiment of all the kind's judging mentions)``: g's term in the between-group
    decomposition of a mean, sum_g w_g (mean_g - mean), which sums to 0 when the groups partition the mentions
    (aspect terms and categories do; topics, which also take a review's document label, nearly). Positive
    impact pulls net sentiment up against the other groups, negative pulls it down; units are net sentiment
    (-1..1). Both sides are mentions that judge: reviews are mostly positive overall, so against the
    reviews' net sentiment nearly every aspect would read as a drag. A group moves the whole only as far as
    it is both different and common.

    Returns ``{"categories": [...], "aspects": [...], "topics": [...]}`` (:data:`DRIVER_KINDS`), each up to
    10 items ``{name, kind ("category" | "aspect" | "topic"), mentions (aspect mentions), reviews (reviews
    mentioning g), net_sentiment (of its judging mentions), impact}`` sorted by ``|impact|`` (largest first),
    then reviews. A category is named as in ``nlp.analysis.categories`` (``fit/size``), an aspect by its most
    frequent surface text. Groups need 2 mentions (1 with fewer than 10 reviews) and one that judges (a group
    only named, "the hem comes to the knee", is no driver); the outlier topic (-1) and mentions stored
    without a category are left out.
    """
    if not records:
        return {kind: [] for kind in DRIVER_KINDS}
    minimum = _min_mentions(len(records))

    def mention_drivers(by: str, kind: str) -> list[dict]:
        groups = _aspect_groups(records, by)
        labels = {key: [stance(a) for _, a in mentions] for key, mentions in groups.items()}
        baseline = _baseline(labels.values())
        items = []
        for key, mentions in groups.items():
            if len(mentions) >= minimum:
                name = key if by == "category" else _most_common(a.text for _, a in mentions)
                reviews = len({id(r) for r, _ in mentions})
                items.append(_driver(name, kind, labels[key], reviews, baseline))
        return _rank_drivers(items)

    topic_labels: dict[int, list[str]] = defaultdict(list)
    topic_names: dict[int, list[str]] = defaultdict(list)
    topic_reviews: Counter[int] = Counter()
    for record in records:
        for topic_id, (label, labels) in _topic_mentions(record).items():
            topic_labels[topic_id].extend(labels)
            topic_names[topic_id].append(label)
            topic_reviews[topic_id] += 1
    baseline = _baseline(topic_labels.values())
    topics = [
        _driver(_most_common(topic_names[t]), "topic", labels, topic_reviews[t], baseline)
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
          "scorecards": {"reviews": int, "unread_reviews": int, "positive_share": float,
                         "neutral_share": float, "negative_share": float,
                         "net_sentiment": float | None, "average_rating": float | None},
          "distribution": {"negative": float, "neutral": float, "positive": float},   # review shares
          "trend": [...],                   # as in product_insights
          "drivers": {"categories": [...], "aspects": [...], "topics": [...]},   # see drivers()
          "quotes": [{"review_id", "product_id", "text", "sentiment", "created_at"}, ...6],
          "definitions": {"net_sentiment": str, "impact": str},
        }

    Reviews the models cannot read (``unsupported_language``) count in ``reviews``, ``unread_reviews``, the
    average rating and the trend's review counts and ratings only, as in :func:`product_insights`. Shares are
    0..1 and net sentiment -1..1, rounded to 4 decimals. No records give zeros, ``None`` for net sentiment and
    average rating, and empty lists.

    Raises:
        ValueError: unknown granularity or sentiment label.
    """
    if granularity not in GRANULARITIES:
        raise ValueError(f"unknown granularity {granularity!r}; expected one of {', '.join(GRANULARITIES)}")
    read = [r for r in records if r.read]
    counts = _counts(r.sentiment for r in read)
    shares = _shares(counts)
    stamp = generated_at or datetime.now(UTC)
    return {
        "filters": {str(k): _iso(v) for k, v in (filters or {}).items()},
        "granularity": granularity,
        "generated_at": stamp.isoformat(timespec="seconds"),
        "scorecards": {
            "reviews": len(records),
            "unread_reviews": len(records) - len(read),
            "positive_share": shares["positive"],
            "neutral_share": shares["neutral"],
            "negative_share": shares["negative"],
            "net_sentiment": _rounded_net(counts),
            "average_rating": _average_rating(records),
        },
        "distribution": shares,
        "trend": _trend(records, granularity),
        "drivers": drivers(read),
        "quotes": _report_quotes(read),
        "definitions": {"net_sentiment": NET_SENTIMENT_DEFINITION, "impact": IMPACT_DEFINITION},
    }
