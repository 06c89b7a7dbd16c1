"""The brand manager's report (:func:`nlp.insights.report.sentiment_report`) as one self-contained HTML page.

:func:`report_html` turns the report into plain, typed page data (:class:`ReportPage`: scorecards, table
rows, quotes, formatted in Python) and renders it with the Jinja2 template ``api/reporting/templates/report.html.j2``
(autoescaped; its stylesheet ``report.css`` is inlined). The three kinds of chart are Vega-Lite specifications
built with altair and drawn to static SVG by vl-convert (Vega's own renderer in an embedded JavaScript
engine, no browser and no network), then inlined: the page runs no script and loads nothing.

Sources: Vega-Lite (Satyanarayan et al., "Vega-Lite: A Grammar of Interactive Graphics", IEEE TVCG 2017);
the charts' ARIA roles and labels are Vega's (WAI-ARIA Graphics Module).
"""

from __future__ import annotations

import io
import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from typing import Any, Literal

import altair as alt
from jinja2 import Environment, PackageLoader, Template
from markupsafe import Markup

from nlp.insights.report import DRIVER_KINDS, IMPACT_DEFINITION, NET_SENTIMENT_DEFINITION, SENTIMENTS

COLOURS = {"negative": "#c0392b", "neutral": "#9aa0a6", "positive": "#2e7d4f"}
"""Fill of each sentiment's bars (driver bars: positive = pulls up, negative = pulls down)."""

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
_FONT = 'system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif'
_CHART_WIDTH = 900  # every chart is this wide (SVG units), so that all scale alike to the page's width
_NET_LABEL_MAX_PERIODS = 26  # more periods leave no room for a net label above each bar
_MAX_PERIOD_LABELS = 12
_MAX_BAR_WIDTH = 56  # a trend bar of few periods stays a bar, not a block
_PLOT_WIDTH = 0.9 * _CHART_WIDTH  # about what the trend's bars get once its y axis has its room
#: Where a driver's value is written: after a bar that pulls up, before one that pulls down.
_VALUE_SIDES: tuple[tuple[str, Literal["left", "right"], int], ...] = (
    ("up", "left", 6),
    ("down", "right", -6),
)
_DRIVER_NAME_CHARS = 34

#: The trend chart draws at most this many of the latest periods (the table and CSV keep them all).
MAX_CHART_PERIODS = 104


# --- numbers and words --------------------------------------------------------------------------------------


def _pct(share: float | None) -> str:
    """A 0..1 share as a whole percentage (``"<1%"`` for tiny non-zero shares)."""
    if share is None:
        return "—"
    if 0 < share < 0.005:
        return "<1%"
    return f"{share * 100:.0f}%"


def _signed(value: float | None, digits: int = 0) -> str:
    """A -1..1 value in points (x100) with its sign, e.g. ``+25`` or ``-3.5`` (written with a true minus
    sign, U+2212); ``—`` for None."""
    if value is None:
        return "—"
    points = round(value * 100, digits)
    text = f"{abs(points):.{digits}f}"
    if points > 0:
        return "+" + text
    return _MINUS + text if points < 0 else text


def _reviews(n: int) -> str:
    return f"{n} review{'s' if n != 1 else ''}"


def _period_label(period: str, granularity: str, show_year: bool) -> str:
    """``2024-01-08`` -> ``Jan 2024`` (month) or ``8 Jan`` / ``8 Jan 2024`` (week)."""
    day = date.fromisoformat(period)
    if granularity == "month":
        return f"{_MONTHS[day.month - 1]} {day.year}"
    label = f"{day.day} {_MONTHS[day.month - 1]}"
    return f"{label} {day.year}" if show_year else label


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


def _shorten(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


# --- charts: Vega-Lite specifications drawn to SVG ---------------------------------------------------------


@dataclass(frozen=True)
class Chart:
    """A chart ready to inline: ``name`` (its ``data-chart``), ``label`` (its accessible name and
    ``<title>``) and ``svg``, the markup of one ``<svg>`` element."""

    name: str
    label: str
    svg: Markup


_SVG_ROOT = re.compile(r'<svg\b[^>]*\bviewBox="([0-9. -]+)"[^>]*>')


def _draw(chart: alt.LayerChart | alt.FacetChart | alt.Chart, name: str, label: str) -> Chart:
    """``chart`` drawn to static SVG by vl-convert, its root written anew for inlining in HTML.

    The new root keeps the ``viewBox`` and adds ``data-chart``, ``role="graphics-document"``, an
    ``aria-label`` and a ``<title>``; it drops the XML namespace declarations and fixed size of a
    standalone file (an HTML parser gives inline ``<svg>`` its namespace; the page's CSS sets the size).
    Everything inside is Vega's, which escapes the text it draws. Raises ``RuntimeError`` if vl-convert's
    output does not start with an ``<svg>`` element with a ``viewBox``.
    """
    spec = (
        chart.properties(
            width=_CHART_WIDTH,
            autosize=alt.AutoSizeParams(type="fit-x", contains="padding"),
            description=label,
        )
        .configure(font=_FONT, background="#ffffff")
        .configure_view(stroke=None)
        .configure_axis(labelFontSize=12, titleFontSize=12, labelColor="#333", titleColor="#5b6470")
        .configure_legend(labelFontSize=12, symbolType="square")
    )
    out = io.StringIO()
    spec.save(out, format="svg")
    svg = out.getvalue()
    root = _SVG_ROOT.match(svg)
    if root is None:
        raise RuntimeError(f"vl-convert drew no <svg> root with a viewBox: {svg[:200]!r}")
    opening = Markup(
        '<svg data-chart="{}" viewBox="{}" role="graphics-document" aria-roledescription="chart" '
        'aria-label="{}"><title>{}</title>'
    ).format(name, root[1], label, label)
    return Chart(name, label, opening + Markup(svg[root.end() :]))


def _sentiment_colours(domain: Sequence[str]) -> alt.Scale:
    return alt.Scale(domain=[_NAMES[s] for s in domain], range=[COLOURS[s] for s in domain])


def _trend_chart(trend: Sequence[Mapping[str, Any]], granularity: str) -> Chart:
    """Stacked bars per period (negative at the bottom, then neutral, positive), height = reviews; the
    period's net sentiment in points above its bar when there is room; at most 12 period labels; the latest
    :data:`MAX_CHART_PERIODS` periods. Each bar segment's ARIA label reads ``"<period>: <n> <sentiment> of
    <reviews> reviews"`` ("review" for one)."""
    trend = trend[-MAX_CHART_PERIODS:]
    periods = [str(row["period"]) for row in trend]
    every = math.ceil(len(periods) / _MAX_PERIOD_LABELS)
    labels: dict[str, str] = {}
    previous_year = None
    for period in periods[::every]:
        year = date.fromisoformat(period).year
        labels[period] = _period_label(period, granularity, year != previous_year)
        previous_year = year
    segments = [
        {
            "period": row["period"],
            "sentiment": _NAMES[sentiment],
            "stack": order,
            "count": int(row[sentiment]),
            "description": f"{row['period']}: {row[sentiment]} {sentiment} of {_reviews(int(row['reviews']))}",
        }
        for row in trend
        for order, sentiment in enumerate(SENTIMENTS)
        if row[sentiment]
    ]
    unit = "week" if granularity == "week" else "month"
    most = max(int(row["reviews"]) for row in trend)  # whole-number ticks: at most one per review
    x = alt.X(
        "period:O",
        title="Week (starting Monday)" if granularity == "week" else "Month",
        scale=alt.Scale(domain=periods, paddingOuter=0.14),
        axis=alt.Axis(
            values=list(labels),
            labelExpr=f"{json.dumps(labels)}[datum.value]",
            labelAngle=0,
            labelOverlap="greedy",
            ticks=False,
        ),
    )
    bars = (
        alt.Chart(alt.Data(values=segments))
        .mark_bar(width=min(_MAX_BAR_WIDTH, 0.72 * _PLOT_WIDTH / len(periods)))
        .encode(
            x=x,
            y=alt.Y(
                "count:Q", stack="zero", title="Reviews", axis=alt.Axis(format="d", tickCount=min(5, most))
            ),
            color=alt.Color(
                "sentiment:N",
                scale=_sentiment_colours(tuple(reversed(SENTIMENTS))),
                legend=alt.Legend(orient="top", title=None, direction="horizontal"),
            ),
            order=alt.Order("stack:Q"),
            description=alt.Description("description:N"),
        )
    )
    layers: list[alt.Chart] = [bars]
    if len(trend) <= _NET_LABEL_MAX_PERIODS:
        nets = [
            {"period": row["period"], "reviews": row["reviews"], "net": _signed(row["net_sentiment"])}
            for row in trend
            if row["reviews"]
        ]
        layers.append(
            alt.Chart(alt.Data(values=nets))
            .mark_text(dy=-8, fontWeight="bold", fontSize=13, aria=False)
            .encode(x=x, y=alt.Y("reviews:Q"), text=alt.Text("net:N"))
        )
    chart = alt.layer(*layers).properties(height=260)
    return _draw(chart, "trend", f"Stacked bar chart: reviews per {unit} by sentiment")


def _distribution_chart(shares: Mapping[str, float], counts: Mapping[str, int]) -> Chart:
    """One horizontal 100% bar split into negative / neutral / positive, the share written on segments of
    at least 5%, and a legend with each share and count (``"Negative: 44% (31 reviews)"``)."""
    segments: list[dict[str, Any]] = []
    start = 0.0
    for sentiment in SENTIMENTS:
        share = float(shares.get(sentiment, 0.0))
        text = f"{_NAMES[sentiment]}: {_pct(share)} ({_reviews(counts[sentiment])})"
        segments.append(
            {
                "legend": text,
                "start": start,
                "end": start + share,
                "middle": start + share / 2,
                "percent": _pct(share),
                "wide": share >= 0.05,
                "description": text,
            }
        )
        start += share
    legend = [segment["legend"] for segment in segments]
    base = alt.Chart(alt.Data(values=[s for s in segments if s["end"] > s["start"]]))
    x_scale = alt.Scale(domain=[0, 1], nice=False)
    bar = base.mark_bar(height=40).encode(
        x=alt.X("start:Q", axis=None, scale=x_scale),
        x2="end:Q",
        color=alt.Color(
            "legend:N",
            scale=alt.Scale(domain=legend, range=[COLOURS[s] for s in SENTIMENTS]),
            legend=alt.Legend(orient="bottom", title=None, direction="horizontal", columnPadding=40),
        ),
        description=alt.Description("description:N"),
    )
    on_bar = (
        base.transform_filter("datum.wide")
        .mark_text(color="#ffffff", fontWeight="bold", fontSize=13, aria=False)
        .encode(x=alt.X("middle:Q", scale=x_scale), text=alt.Text("percent:N"))
    )
    return _draw(
        alt.layer(bar, on_bar).properties(height=44),
        "distribution",
        "Stacked bar: share of reviews by sentiment",
    )


def _drivers_chart(items: Sequence[Mapping[str, Any]], kind: str) -> Chart:
    """Diverging bars around a zero line, one row per driver in the report's order: impact > 0 to the right
    in green, < 0 to the left in red, its value in points at the bar's end; the row's label is the name and
    ``"<n> reviews · its net <points>"``. A bar's ARIA label reads ``"<name>: impact <+/-x.y> points of net
    sentiment (<n> reviews, its net <points>)"``."""
    rows: list[dict[str, Any]] = []
    seen: set[str] = set()
    for item in items:
        impact = float(item["impact"])
        name = _shorten(str(item["name"]), _DRIVER_NAME_CHARS)
        reviews = int(item.get("reviews", item.get("mentions", 0)))
        note = f"{_reviews(reviews)} · its net {_signed(item['net_sentiment'])}"
        while f"{name}\n{note}" in seen:  # one row per driver, even if two read the same
            name += "\u00a0"
        seen.add(f"{name}\n{note}")
        rows.append(
            {
                "label": f"{name}\n{note}",
                "impact": impact * 100,
                "direction": "up" if impact >= 0 else "down",
                "value": f"{_signed(impact, 1)} pts",
                "description": f"{item['name']}: impact {_signed(impact, 1)} points of net sentiment ({note})",
            }
        )
    reach = max(abs(row["impact"]) for row in rows) or 1.0
    x = alt.X(
        "impact:Q",
        scale=alt.Scale(domain=[-reach * 1.35, reach * 1.35], nice=False),
        title="◀ pulls net sentiment down · impact in points · pulls net sentiment up ▶",
        axis=alt.Axis(orient="top", grid=False, tickCount=5),
    )
    y = alt.Y(
        "label:N",
        sort=[row["label"] for row in rows],
        title=None,
        axis=alt.Axis(
            labelExpr="split(datum.label, '\\n')",  # two lines: the name, then its reviews and net sentiment
            labelFontSize=13,
            labelLimit=320,
            labelPadding=14,
            minExtent=240,
            ticks=False,
            domain=False,
        ),
    )
    base = alt.Chart(alt.Data(values=rows))
    bars = base.mark_bar(height=22).encode(
        x=x,
        y=y,
        color=alt.Color(
            "direction:N",
            scale=alt.Scale(domain=["up", "down"], range=[COLOURS["positive"], COLOURS["negative"]]),
            legend=None,
        ),
        description=alt.Description("description:N"),
    )
    values = [
        base.transform_filter(f"datum.direction == '{direction}'")
        .mark_text(align=align, dx=dx, fontWeight="bold", fontSize=13, aria=False)
        .encode(x=x, y=y, text=alt.Text("value:N"))
        for direction, align, dx in _VALUE_SIDES
    ]
    zero = alt.Chart(alt.Data(values=[{"zero": 0}])).mark_rule(color="#8a939c", aria=False).encode(x="zero:Q")
    chart = alt.layer(bars, *values, zero).properties(height=alt.Step(46))
    return _draw(chart, f"drivers-{kind}", f"Diverging bar chart: {kind} that pull net sentiment up or down")


# --- the page ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Card:
    """One scorecard: ``tone`` is a sentiment (coloured edge) or ""; ``value`` is already formatted."""

    tone: str
    label: str
    value: str
    note: str


@dataclass(frozen=True)
class Quote:
    """A quoted review: ``date`` is its ``created_at`` day (ISO 8601)."""

    text: str
    review_id: object
    product_id: object
    date: str


@dataclass(frozen=True)
class DriverPanel:
    """The drivers of one kind: a chart, or None when too few were mentioned to rank."""

    kind: str
    chart: Chart | None


@dataclass(frozen=True)
class ReportPage:
    """What the template shows, formatted; ``empty`` pages show only the header and a "no reviews" note.

    ``trend_rows`` are the trend table's cells (period start, reviews, positive, neutral, negative, net
    sentiment in points, average rating); ``quotes`` maps ``positive`` / ``negative`` to their quotes.
    """

    title: str
    filters: list[tuple[str, str]]
    generated: str
    period_word: str
    empty: bool
    cards: list[Card]
    trend: Chart | None
    trend_rows: list[list[object]]
    net_note: str
    mix: Chart | None
    net: str
    drivers: list[DriverPanel]
    quotes: dict[str, list[Quote]]
    definitions: str


def _reviews_note(unread: int) -> str:
    if not unread:
        return "in this report"
    return f"in this report; {unread:,} in a language the models cannot read, left out of the shares"


def _cards(cards: Mapping[str, Any]) -> list[Card]:
    rating = cards.get("average_rating")
    return [
        Card("", "Reviews", f"{cards.get('reviews', 0):,}", _reviews_note(cards.get("unread_reviews") or 0)),
        Card("", "Net sentiment", _signed(cards.get("net_sentiment")), f"% positive {_MINUS} % negative"),
        Card("positive", "Positive", _pct(cards.get("positive_share")), "of reviews"),
        Card("neutral", "Neutral", _pct(cards.get("neutral_share")), "of reviews"),
        Card("negative", "Negative", _pct(cards.get("negative_share")), "of reviews"),
        Card("", "Average rating", "—" if rating is None else f"{rating:.1f} ★", "out of 5 stars"),
    ]


def _trend_rows(trend: Sequence[Mapping[str, Any]]) -> list[list[object]]:
    rows = []
    for row in trend:
        rating = row.get("average_rating")
        rows.append(
            [
                row["period"],
                row["reviews"],
                row["positive"],
                row["neutral"],
                row["negative"],
                _signed(row.get("net_sentiment")),
                "—" if rating is None else f"{rating:.1f}",
            ]
        )
    return rows


def _net_note(periods: int) -> str:
    note = (
        "The number above a bar is that period's net sentiment"
        if periods <= _NET_LABEL_MAX_PERIODS
        else "Each period's net sentiment is in the table below (Show the numbers)"
    )
    if periods > MAX_CHART_PERIODS:
        note = f"The chart shows the latest {MAX_CHART_PERIODS} of {periods} periods. {note}"
    return note


def _quotes(quotes: Sequence[Mapping[str, Any]]) -> dict[str, list[Quote]]:
    return {
        polarity: [
            Quote(
                str(q.get("text", "")),
                q.get("review_id"),
                q.get("product_id"),
                str(q.get("created_at", ""))[:10],
            )
            for q in quotes
            if q.get("sentiment") == polarity
        ]
        for polarity in ("positive", "negative")
    }


def report_page(report: Mapping[str, Any]) -> ReportPage:
    """The page data of ``report`` (from :func:`nlp.insights.report.sentiment_report`), charts drawn.

    Raises:
        KeyError: a trend row or driver lacks a field :func:`nlp.insights.report.sentiment_report` gives it.
    """
    cards = report.get("scorecards") or {}
    granularity = str(report.get("granularity", "week"))
    trend = report.get("trend") or []
    filters = _filters_text(report.get("filters") or {})
    definitions = report.get("definitions") or {}
    empty = not cards.get("reviews")
    drivers_ = report.get("drivers") or {}
    counts = {s: sum(int(row[s]) for row in trend) for s in SENTIMENTS}
    return ReportPage(
        title="Customer sentiment report"
        + (": " + ", ".join(f"{n} {v}" for n, v in filters) if filters else ""),
        filters=filters,
        generated=_when(report.get("generated_at")),
        period_word="week (weeks start on Monday)" if granularity == "week" else "month",
        empty=empty,
        cards=_cards(cards),
        trend=None if empty else _trend_chart(trend, granularity),
        trend_rows=_trend_rows(trend),
        net_note=_net_note(len(trend)),
        mix=None if empty else _distribution_chart(report.get("distribution") or {}, counts),
        net=_signed(cards.get("net_sentiment")),
        drivers=[
            DriverPanel(
                kind, _drivers_chart(drivers_[kind], kind) if drivers_.get(kind) and not empty else None
            )
            for kind in DRIVER_KINDS
        ],
        quotes=_quotes(report.get("quotes") or []),
        definitions=" ".join(
            (
                definitions.get("net_sentiment", NET_SENTIMENT_DEFINITION),
                definitions.get("impact", IMPACT_DEFINITION),
            )
        ),
    )


@cache
def _template() -> Template:
    environment = Environment(
        loader=PackageLoader("api.reporting"), autoescape=True, trim_blocks=True, lstrip_blocks=True
    )
    return environment.get_template("report.html.j2")


def report_html(report: Mapping[str, Any]) -> str:
    """``report`` (from :func:`nlp.insights.report.sentiment_report`) as one self-contained HTML page: no scripts,
    fonts, images or other requests; charts are inline SVG.

    The page: a title with the filters applied, scorecards, a stacked sentiment trend (bars per period:
    negative / neutral / positive review counts), the sentiment distribution (one 100% bar), driver bars
    (aspect categories, aspects and topics; diverging: green pulls net sentiment up, red pulls it down) and
    the quotes. Each chart is an ``<svg data-chart role="graphics-document">`` with an aria-label and a
    ``<title>``; each data bar is a ``role="graphics-symbol"`` element whose ``aria-label`` states its
    figures (see :func:`_trend_chart`, :func:`_distribution_chart`, :func:`_drivers_chart`). A report with
    no reviews shows "No reviews match these filters" instead of charts. All text is HTML-escaped (Jinja2's
    autoescape; Vega escapes the text inside the charts).
    """
    return _template().render(page=report_page(report))
