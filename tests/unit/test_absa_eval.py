"""The ABSA gold set and its metrics: hand-made cases for every figure and the committed files' invariants
(both systems on a real parse, and the sample drawn again: ``tests/integration/test_absa_eval_real.py``)."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from nlp.training.absa_eval import (
    GOLD_SPLITS,
    TRAIN_SPLIT,
    GoldSentence,
    OpinionTuple,
    PredictedAspect,
    by_sentence,
    evaluate,
    gold_record,
    gold_terms,
    head_word,
    load_gold,
    match,
    spans_match,
    term_polarity,
)
from nlp.training.datasets import split_of

TEXT = "Runs small, lovely fabric."
FABRIC, LOVELY, SMALL, RUNS_SMALL = (19, 25), (12, 18), (5, 10), (0, 10)
# "Runs small." is an implicit fit/size opinion (target NULL); "fabric" is praised as "lovely".
SENTENCE = GoldSentence(
    "1-0",
    1,
    0,
    0,
    TEXT,
    4,
    (
        OpinionTuple(None, "fit/size", "negative", (RUNS_SMALL,)),
        OpinionTuple(FABRIC, "fabric/material", "positive", (LOVELY,)),
    ),
)


def _predicted(target, polarity="positive", opinions=(), head="fabric", category=None) -> PredictedAspect:
    return PredictedAspect(target, polarity, tuple(opinions), head, category)


def test_head_word_and_span_matching() -> None:
    text = "the back zipper broke, fabric quality too"
    assert head_word(text, (0, 15)) == (9, 15)  # "the back zipper" -> "zipper"
    assert spans_match(text, (9, 15), (4, 15), lenient=True)  # "zipper" / "back zipper"
    assert not spans_match(text, (9, 15), (4, 15))  # not exact
    assert not spans_match(text, (23, 29), (23, 37), lenient=True)  # "fabric" / "fabric quality"
    # the same word elsewhere in the sentence is not a match: the spans must overlap
    twice = "fit is bad, fit"
    assert not spans_match(twice, (0, 3), (12, 15), lenient=True)


def test_match_is_one_to_one() -> None:
    same = lambda g, p: g == p  # noqa: E731
    assert match(["a"], ["a", "a"], same) == [(0, 0)]
    assert match(["a", "a"], ["a"], same) == [(0, 0)]
    assert match(["a", "b"], ["b", "c"], same) == [(1, 0)]


@pytest.mark.parametrize(
    ("polarities", "expected"),
    [
        (["positive", "neutral"], "positive"),
        (["negative"], "negative"),
        (["neutral", "neutral"], "neutral"),
        (["positive", "negative"], "conflict"),
        (["conflict", "positive"], "conflict"),
    ],
)
def test_term_polarity(polarities: list[str], expected: str) -> None:
    assert term_polarity(polarities) == expected


def test_gold_terms_count_each_span_once() -> None:
    two_categories = OpinionTuple(FABRIC, "style/look", "negative", ())
    sentence = GoldSentence("1-0", 1, 0, 0, TEXT, 4, (*SENTENCE.aspects, two_categories))
    assert gold_terms(sentence) == [(FABRIC, "conflict")]


def test_wrong_opinion_is_caught_by_pairs_only() -> None:
    # today's known fault: "fabric" gets the opinion "small"
    report = evaluate([SENTENCE], {"1-0": [_predicted(FABRIC, opinions=[SMALL])]})
    assert report.terms_exact.f1 == 1.0
    assert (report.polarity_correct, report.polarity_total) == (1, 1)
    assert (report.pairs_exact.true_positives, report.pairs_exact.predicted, report.pairs_exact.gold) == (
        0,
        1,
        1,
    )
    assert report.pairs_head.f1 == 0.0
    # categories by head mapping: fabric/material found, the implicit fit/size missed; no own category given
    assert (report.categories_by_mapping.precision, report.categories_by_mapping.recall) == (1.0, 0.5)
    assert report.categories.predicted == 0


def test_own_categories_are_scored_apart_from_the_head_mapping() -> None:
    # the system says fit/size (from "small") where the head mapping says fabric/material
    report = evaluate([SENTENCE], {"1-0": [_predicted(FABRIC, opinions=[SMALL], category="fit/size")]})
    assert (report.categories.true_positives, report.categories.predicted, report.categories.gold) == (
        1,
        1,
        2,
    )
    assert report.categories_by_mapping.true_positives == 1
    figures = report.to_dict()
    assert figures["aspect_categories"]["precision"] == 1.0
    assert figures["aspect_categories_by_mapping"]["recall"] == 0.5


def test_lenient_match_and_polarity_on_exact_matches_only() -> None:
    lovely_fabric = (12, 25)
    report = evaluate([SENTENCE], {"1-0": [_predicted(lovely_fabric, "negative", [LOVELY])]})
    assert report.terms_exact.f1 == 0.0
    assert report.terms_head.f1 == 1.0
    assert report.polarity_total == 0  # polarity is judged on exactly matched terms
    assert report.pairs_head.f1 == 1.0 and report.pairs_exact.f1 == 0.0


def test_precision_recall_and_missing_sentences() -> None:
    other = GoldSentence(
        "2-0",
        2,
        0,
        0,
        "The zipper broke.",
        1,
        (OpinionTuple((4, 10), "quality/durability", "negative", ((11, 16),)),),
    )
    predictions = {"1-0": [_predicted(FABRIC, "negative"), _predicted((0, 4), head="run")]}
    report = evaluate([SENTENCE, other], predictions)  # nothing predicted for "2-0"
    assert (report.terms_exact.true_positives, report.terms_exact.predicted, report.terms_exact.gold) == (
        1,
        2,
        2,
    )
    assert report.terms_exact.f1 == pytest.approx(0.5)
    assert report.polarity_accuracy == 0.0
    duplicate = evaluate([SENTENCE], {"1-0": [_predicted(FABRIC), _predicted(FABRIC)]})
    assert duplicate.terms_exact.precision == 1.0


def test_by_sentence_moves_offsets_and_drops_strays() -> None:
    review = "Great top. " + TEXT
    second = GoldSentence("1-1", 1, 1, 11, TEXT, 4)
    shifted = by_sentence([second], {1: [_predicted((30, 36), opinions=[(23, 29)]), _predicted((6, 9))]})
    assert review[30:36] == "fabric"
    assert shifted == {"1-1": [_predicted(FABRIC, opinions=[LOVELY])]}


def _write(path: Path, rows: list[dict]) -> None:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")


def test_gold_record_round_trip_and_validation(tmp_path: Path) -> None:
    record = gold_record(SENTENCE)
    assert record["aspects"][0]["target"] is None
    assert record["aspects"][1]["target"] == "fabric"
    _write(tmp_path / "dev.jsonl", [record])
    assert load_gold("dev", tmp_path) == [SENTENCE]
    bad = json.loads(json.dumps(record))
    bad["aspects"][1]["to"] = 24
    _write(tmp_path / "test.jsonl", [record, bad])
    with pytest.raises(ValueError, match=r"test\.jsonl:2: target 'fabric'"):
        load_gold("test", tmp_path)
    bad = json.loads(json.dumps(record))
    bad["aspects"][0]["category"] = "flavour"
    _write(tmp_path / "test.jsonl", [bad])
    with pytest.raises(ValueError, match="unknown category"):
        load_gold("test", tmp_path)
    with pytest.raises(ValueError, match="split"):
        load_gold("validation", tmp_path)


def test_committed_gold_set() -> None:
    gold = {split: load_gold(split) for split in GOLD_SPLITS}
    reviews = {split: {s.review_id for s in sentences} for split, sentences in gold.items()}
    total = sum(map(len, gold.values()))
    assert total >= 420
    assert not reviews["dev"] & reviews["test"]
    assert {split_of(r) for rs in reviews.values() for r in rs} == {"train"}
    assert len(gold["dev"]) / total == pytest.approx(0.4, abs=0.03)
    every = [s for sentences in gold.values() for s in sentences]
    assert len({s.id for s in every}) == total
    polarities = Counter(a.polarity for s in every for a in s.aspects)
    assert polarities["neutral"] > 0 and sum(not s.aspects for s in every) > 0
    assert any(a.target is None for s in every for a in s.aspects)


def test_committed_train_split_is_apart_from_dev_and_test() -> None:
    train = load_gold(TRAIN_SPLIT)
    reviews = {s.review_id for s in train}
    measured = {s.review_id for split in GOLD_SPLITS for s in load_gold(split)}
    assert len(train) >= 700 and len(reviews) == 131
    assert not reviews & measured  # no review of dev or test
    assert {split_of(r) for r in reviews} == {"train"}  # and none of the clothing data's validation or test
    assert len({s.id for s in train}) == len(train)
    assert sum(a.target is not None for s in train for a in s.aspects) > 200


def test_evaluate_absa_command_prints_figures_and_goals(monkeypatch, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    import nlp.training.absa_eval
    from api.cli import evaluate as evaluate_cli
    from api.cli import main as cli

    good = evaluate([SENTENCE], {"1-0": [_predicted(FABRIC, opinions=[LOVELY])]}).to_dict()
    poor = evaluate([SENTENCE], {"1-0": [_predicted((12, 25), "negative")]}).to_dict()
    figures = {
        "split": "dev",
        "sentences": 1,
        "reviews": 1,
        "opinion_tuples": 2,
        "aspect_terms": 1,
        "model_version": "sentiment-v0",
        "systems": {"system": {"seconds": 1.0, **good}, "baseline": {"seconds": 0.5, **poor}},
    }
    monkeypatch.setattr(evaluate_cli, "load_analyzer", lambda *args: None)
    monkeypatch.setattr(
        nlp.training.absa_eval, "run", lambda split, analyzer, frame: figures | {"split": split}
    )
    monkeypatch.setattr("nlp.training.datasets.clothing_reviews", lambda: None)
    out = tmp_path / "absa.json"
    result = CliRunner().invoke(cli.app, ["evaluate", "absa", "--split", "dev", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "aspect terms, exact (P/R/F1)" in result.output and "0.000/0.000/0.000" in result.output
    assert "goal term_f1 >= 0.75: 1.000, met" in result.output
    assert json.loads(out.read_text())["systems"]["baseline"]["aspect_terms_exact"]["f1"] == 0.0
    assert CliRunner().invoke(cli.app, ["evaluate", "absa", "--split", "validation"]).exit_code == 2
