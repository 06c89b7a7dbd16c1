"""What a product question costs the service: its aspects alone (``Analyzer.aspect_categories``, what
``POST /v1/answer`` runs) against the full analysis (the baseline: ``Analyzer.analyze``, both sentiment
encoders included), one question per call as the chat widget sends them.

Run on demand: ``make bench`` (prints questions/s and the ratio; asserts nothing about speed).
"""

from __future__ import annotations

import pytest

from tests.bench import rate

QUESTIONS = [
    "is the fabric soft?",
    "Does it run small?",
    "how long is the dress?",
    "Is the material see-through?",
    "does the color fade after washing?",
    "Will the zipper hold up?",
    "is it true to size for a petite frame?",
    "How does the waist fit?",
    "are the straps adjustable?",
    "Is the sweater itchy?",
]


def test_aspects_only_vs_full_analysis(analyzer):
    analyzer.analyze(QUESTIONS[:2])  # warm-up
    questions = QUESTIONS * 5
    aspects_only = rate(lambda qs: [analyzer.aspect_categories(q) for q in qs], questions)
    full = rate(lambda qs: [analyzer.analyze([q]) for q in qs], questions)
    print(f"\n{len(QUESTIONS)} product questions, one per call, on this machine:")
    print(f"  full analysis (baseline)  {full:7.1f} questions/s")
    print(
        f"  aspects only              {aspects_only:7.1f} questions/s   aspects / full = {aspects_only / full:.2f}x"
    )
    assert aspects_only > 0 and full > 0


if __name__ == "__main__":  # pragma: no cover
    pytest.main([__file__, "-s"])
