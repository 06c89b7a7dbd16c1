"""The brand manager's report (:func:`nlp.insights.report.sentiment_report`) as CSV for spreadsheets, every
cell guarded against formula injection."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from nlp.insights.report import DRIVER_KINDS

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
