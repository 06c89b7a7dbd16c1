"""The no-opinion rule's evaluation (nlp.training.opinion_eval) on the real models and shared datasets: it
reproduces the figures nlp/data/absa_gold/README.md reports for the dev split and the validation titles."""

from __future__ import annotations

import pytest

from nlp.training.datasets import review_titles
from nlp.training.opinion_eval import sentences_in_context, whole_texts
from tests.conftest import needs_datasets


def test_a_flagged_text_is_read_without_the_rule_as_the_analysis_would(analyzer):
    figures = whole_texts(analyzer, ["n/a", "Love it!"], ["neutral", "positive"])
    assert (figures["texts"], figures["withheld"]) == (2, 1)
    assert figures["rule"]["accuracy"] == 1.0
    assert figures["no_rule"]["accuracy"] == 0.5  # issue 27: the model reads "n/a" negative


@needs_datasets
def test_the_dev_figures_of_the_gold_readme_are_reproduced(analyzer):
    figures = sentences_in_context(analyzer, "dev")
    assert (figures["texts"], figures["withheld"]) == (161, 10)
    assert figures["rule"] == {
        "macro_f1": pytest.approx(0.6452, abs=5e-4),
        "accuracy": pytest.approx(0.7205, abs=5e-4),
    }
    assert figures["no_rule"]["macro_f1"] == pytest.approx(0.5636, abs=5e-4)


@needs_datasets
def test_review_titles_are_labelled_by_their_stars():
    titles = review_titles()
    clothing = titles[titles.source == "clothing"]
    assert (
        len(clothing[clothing.split == "validation"]) == 1688 and len(titles[titles.source == "food"]) == 5000
    )
    assert set(titles["label"]) == {"negative", "neutral", "positive"}
