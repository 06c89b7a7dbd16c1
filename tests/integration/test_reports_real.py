"""Product insights, the brand manager's report and its CSV over records made by the real Analyzer from the
shipped example file."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pandas as pd

from api.reporting.spreadsheet import report_csv
from nlp.analysis.analyzer import ReviewAnalysis
from nlp.insights.report import AspectRecord, ReviewRecord, product_insights, sentiment_report
from tests.unit.test_reports import sections


def test_reports_over_real_analyzer_output(analyzer, examples_path) -> None:
    rows = pd.read_csv(examples_path).head(15)
    results = analyzer.analyze(rows["text"].tolist())
    assert len(results) == len(rows)
    records = []
    start = datetime(2024, 1, 1, 10, 0)
    for i, (row, result) in enumerate(zip(rows.itertuples(), results, strict=True)):
        assert isinstance(result, ReviewAnalysis), result
        aspects = tuple(
            AspectRecord(
                text=a.text,
                term=a.text.lower(),
                topic_id=a.topic["id"],
                topic_label=a.topic["label"],
                sentiment=a.sentiment.label,
                opinions=tuple(o.text for o in a.opinions),
                category=a.category,
            )
            for a in result.aspects
        )
        records.append(
            ReviewRecord(
                review_id=i + 1,
                product_id=row.product_id,
                category=row.category if isinstance(row.category, str) else None,
                rating=int(row.rating) if pd.notna(row.rating) else None,
                created_at=start + timedelta(days=5 * i),  # the example file has no dates
                text=result.text,
                sentiment=result.sentiment.label,
                scores=result.sentiment.scores,
                aspects=aspects,
                topics=tuple((t.id, t.label, t.score) for t in result.topics),
            )
        )
    insights = product_insights(records)
    assert insights["review_count"] == len(rows)
    assert insights["praised_aspects"] or insights["criticised_aspects"]
    for aspect in insights["praised_aspects"] + insights["criticised_aspects"]:
        assert aspect["quotes"] and all(len(q["text"]) <= 200 for q in aspect["quotes"])
    report = sentiment_report(records, "month", {"source": "examples/reviews.csv"})
    assert report["scorecards"]["reviews"] == len(rows)
    assert sum(row["reviews"] for row in report["trend"]) == len(rows)
    assert report["drivers"]["aspects"]
    assert report["quotes"]
    json.dumps(report)
    assert sections(report_csv(report))["Scorecards"][1] == ["reviews", str(len(rows))]
