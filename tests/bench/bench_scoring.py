"""Throughput of the Analyzer on real reviews: batched (as ``reviewpulse score`` runs it) against one text
per call (the naive baseline), and the share of time spent in spaCy versus the classifier.

Run on demand: ``make bench`` (prints docs/s and ratios; asserts nothing about speed).
"""

from __future__ import annotations

import pytest

from nlp.paths import DATASETS_DIR
from tests.bench import rate
from tests.conftest import EXAMPLES, needs_datasets

N = 200


def _texts() -> list[str]:
    import pandas as pd

    if (DATASETS_DIR / "womens_clothing_reviews").exists():
        from nlp.datasets import clothing_reviews

        return clothing_reviews()["text"].head(N).tolist()
    return pd.read_csv(EXAMPLES)["text"].dropna().tolist()


@needs_datasets
def test_batched_vs_one_by_one(analyzer):
    texts = _texts()
    analyzer.analyze(texts[:8])  # warm-up
    batched = rate(analyzer.analyze, texts)
    single = rate(lambda ts: [analyzer.analyze([t]) for t in ts], texts)
    spacy_only = rate(lambda ts: list(analyzer.preparer.parse(ts)), texts)
    classifier_only = rate(lambda ts: analyzer.sentiment.predict(ts), texts)
    print(f"\n{len(texts)} clothing reviews on this machine:")
    print(f"  batched analyze   {batched:7.1f} docs/s")
    print(f"  one text per call {single:7.1f} docs/s   batched / single = {batched / single:.2f}x")
    print(
        f"  spaCy parse only  {spacy_only:7.1f} docs/s;  classifier (documents only) {classifier_only:7.1f} docs/s"
    )
    sentiment = analyzer.sentiment
    if len(sentiment.models) > 1:  # what the ensemble costs against one of its members
        ensemble = sentiment.models
        sentiment.models = ensemble[:1]
        one_member = rate(sentiment.predict, texts)
        sentiment.models = ensemble
        print(
            f"  classifier with one of its {len(ensemble)} ensemble members {one_member:7.1f} docs/s   "
            f"ensemble / one member = {classifier_only / one_member:.2f}x"
        )
    assert batched > 0 and single > 0


if __name__ == "__main__":  # pragma: no cover
    pytest.main([__file__, "-s"])
