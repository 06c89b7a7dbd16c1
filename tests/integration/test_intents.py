"""Intent model, entities, knowledge base and product answers: the registered model and real files."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from api.cli.main import app
from api.service.answering import DEFAULT_KNOWLEDGE_BASE
from nlp.artifacts.paths import PROJECT_ROOT
from nlp.artifacts.registry import Registry
from nlp.insights.report import AspectRecord, ReviewRecord
from nlp.intents.answers import KnowledgeBase, KnowledgeBaseError, product_answer
from nlp.intents.classifier import (
    NATURAL_SETS,
    OUT_OF_SCOPE,
    TRAINING_QUESTIONS,
    IntentClassifier,
    balanced_threshold,
    calibrate_threshold,
    evaluate_intents,
    extract_entities,
    labelled_questions,
    out_of_scope_questions,
)
from nlp.training.baseline import tfidf_logreg
from nlp.training.datasets import BANKING77_SUPPORT_INTENTS, banking77_support
from nlp.training.intent_recipe import LexicalModel, intent_config, train_intent

QUESTIONS = PROJECT_ROOT / "examples" / "questions.csv"
runner = CliRunner()


@pytest.fixture(scope="module")
def intents() -> IntentClassifier:
    return IntentClassifier.load(Registry().path("intent"))


def test_registered_model_answers_support_questions_and_flags_off_topic(intents):
    results = intents.predict(
        [
            "where is my order 113542617735902?",
            "I forgot my password",
            "which payment methods do you accept",
            "what's the weather like in Rome tomorrow",
        ]
    )
    assert [r.intent for r in results[:3]] == ["track_order", "recover_password", "check_payment_methods"]
    assert [r.out_of_scope for r in results] == [False, False, False, True]
    for r in results:
        assert len(r.ranking) == 5 and r.ranking[0].name == r.intent
        assert 0 < r.confidence <= 1 and r.ranking[0].confidence >= r.ranking[1].confidence
    assert results[0].model_version.startswith("intent-v")


def test_analyze_keeps_bad_rows_in_place(intents):
    out = intents.analyze(["I forgot my password", "   ", None, 42])
    assert out[0].intent == "recover_password"
    assert [getattr(o, "code", None) for o in out[1:]] == ["empty_text", "missing_text", "invalid_type"]


def test_calibrated_threshold_is_the_quantile_and_needs_data():
    assert calibrate_threshold([0.1 * k for k in range(1, 11)], 0.0) == pytest.approx(0.1)
    assert calibrate_threshold([0.5] * 10) == 0.5
    with pytest.raises(ValueError, match="validation"):
        calibrate_threshold([])


def test_off_topic_questions_are_a_hundred_distinct_lines():
    questions = out_of_scope_questions()
    assert len(questions) == len(set(questions)) == 100


def test_natural_sets_are_split_once_and_cover_every_intent(intents):
    dev, test = (labelled_questions(NATURAL_SETS[f"natural-{split}"]) for split in ("dev", "test"))
    both = pd.concat([dev, test])
    assert len(both) == both["text"].str.lower().nunique()  # no question twice, nor in both splits
    assert not set(both["text"].str.lower()) & {q.lower() for q in out_of_scope_questions()}
    assert set(both["intent"]) == {*intents.labels, OUT_OF_SCOPE}
    for frame, per_intent in ((dev, 6), (test, 9)):  # 40 / 60 within each intent
        counts = frame.loc[frame["intent"] != OUT_OF_SCOPE, "intent"].value_counts()
        assert counts.min() >= per_intent
    off_topic = both[both["intent"] == OUT_OF_SCOPE]
    assert len(off_topic) >= 160 and off_topic["near_miss"].sum() >= len(off_topic) / 3
    assert not both.loc[both["intent"] != OUT_OF_SCOPE, "near_miss"].any()


def test_evaluate_intents_counts_right_flagged_and_near_misses(intents):
    questions = pd.DataFrame(
        [
            ("where is my order 113542617735902?", "track_order", False),
            ("I forgot my password", "recover_password", False),
            ("which payment methods do you accept", "check_payment_methods", False),
            ("I forgot my password", "delete_account", False),  # a wrong top-1 intent
            ("what's the weather like in Rome tomorrow", OUT_OF_SCOPE, False),
            ("do you sell laptops", OUT_OF_SCOPE, True),
        ],
        columns=["text", "intent", "near_miss"],
    )
    report = evaluate_intents(intents, questions, thresholds=(0.0, 1.01))
    assert (report["questions"], report["in_scope"], report["off_topic"], report["near_miss"]) == (6, 4, 2, 1)
    assert report["threshold"] == intents.threshold
    assert report["top1_accuracy"] == report["in_scope_correct"] == 0.75 and report["in_scope_flagged"] == 0.0
    [laptops] = intents.predict(["do you sell laptops"])
    assert report["near_miss_flagged"] == float(laptops.out_of_scope)
    assert report["off_topic_flagged"] == (1 + laptops.out_of_scope) / 2  # the weather question is flagged
    assert report["per_intent"]["delete_account"] == {"n": 1, "correct": 0.0, "top1": 0.0}
    assert report["per_intent"]["track_order"] == {"n": 1, "correct": 1.0, "top1": 1.0}
    assert OUT_OF_SCOPE not in report["per_intent"]
    nothing, everything = report["curve"]
    assert nothing == {
        "threshold": 0.0,
        "in_scope_correct": 0.75,
        "off_topic_flagged": 0.0,
        "near_miss_flagged": 0.0,
    }
    assert everything == {
        "threshold": 1.01,
        "in_scope_correct": 0.0,
        "off_topic_flagged": 1.0,
        "near_miss_flagged": 1.0,
    }
    assert report["questions_per_second"] > 0
    with pytest.raises(ValueError, match="unknown intents \\['track_ordr'\\]"):
        evaluate_intents(intents, questions.assign(intent="track_ordr"))
    with pytest.raises(ValueError, match="no questions"):
        evaluate_intents(intents, questions.head(0))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("how can I cancel purchase 113542617735902?", [("order_id", "113542617735902")]),
        ("i need help to check my bill #37777", [("invoice_id", "37777")]),
        (
            "I want a refund of $45.50 for order ABC-12345",
            [("refund_amount", "$45.50"), ("order_id", "ABC-12345")],
        ),
        ("switch me to the Platinum account", [("account_type", "Platinum")]),
        ("wheres my ordr #A12345??", [("order_id", "A12345")]),
        ("is it #12-34 or #4571234?", [("order_id", "4571234")]),
        ("It&#8217;s the #1 dress, size #10, colour #abcd", []),
        ("hello there", []),
    ],
)
def test_pattern_entities(text, expected):
    found = extract_entities(text)
    assert [(e.type, e.value) for e in found] == expected
    for e in found:
        assert text[e.offset : e.offset + e.length].lstrip("#") == e.value


def test_shipped_knowledge_base_covers_every_intent_without_raw_placeholders(intents):
    kb = KnowledgeBase.load(DEFAULT_KNOWLEDGE_BASE)
    assert set(intents.labels) <= set(kb.intents)
    for intent in intents.labels:
        bare = kb.answer(intent, {})
        full = kb.answer(intent, {"order_id": "123456", "invoice_id": "INV-9", "account_type": "Pro",
                                  "refund_amount": "$20", "location": "Ireland", "product_id": "P1"})  # fmt: skip
        assert "{{" not in bare and "{{" not in full and bare
    assert "123456" in kb.answer("track_order", {"order_id": "123456"})
    assert "{{" not in kb.render(kb.out_of_scope) and "{{" not in kb.render(kb.fallback)


def test_shipped_knowledge_base_states_no_fact_taken_from_the_question(intents):
    """QA: "do you ship to north korea" was answered "We deliver to north korea ...": a place, amount, plan or
    name from the question is what the customer wrote, not a fact about the shop."""
    kb = KnowledgeBase.load(DEFAULT_KNOWLEDGE_BASE)
    asked = {
        "location": "North Korea",
        "refund_amount": "$999",
        "account_type": "Platinum",
        "person_name": "Mr Smith",
    }
    for intent in intents.labels:
        answer = kb.answer(intent, asked)
        assert not [value for value in asked.values() if value in answer], (intent, answer)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("intents: [", "cannot read"),
        ("shop: {}\n", "'intents' section"),
        ("out_of_scope: x\nfallback: y\nintents:\n  a: 'Hi {{nope}}'\n", "unknown placeholders ['nope']"),
        ("out_of_scope: x\nfallback: y\nintents:\n  a: 'Order {{order_id}}'\n", "last template of 'a'"),
        ("fallback: y\nintents:\n  a: 'Hi'\n", "'out_of_scope' must be set"),
    ],
)
def test_malformed_knowledge_base_names_the_problem(tmp_path, content, message):
    path = tmp_path / "kb.yml"
    path.write_text(content)
    with pytest.raises(KnowledgeBaseError, match=message.replace("[", r"\[").replace("]", r"\]")):
        KnowledgeBase.load(path)


def _record(review_id: int, text: str, sentiment: str, term: str, category: str, opinions: tuple[str, ...]):
    aspect = AspectRecord(term, term, 3, "fit", sentiment, opinions, category)
    return ReviewRecord(review_id, "D1", "Dresses", 4, datetime(2026, 1, 1, tzinfo=UTC), text, sentiment,
                        {sentiment: 0.9}, (aspect,))  # fmt: skip


def test_product_answer_counts_reviews_that_share_the_question_opinion():
    records = [
        _record(1, "It runs small, size up.", "negative", "size", "fit/size", ("runs small",)),
        _record(2, "Runs small in the hips.", "negative", "hip", "fit/size", ("runs small",)),
        _record(3, "The size is perfect.", "positive", "size", "fit/size", ("perfect",)),
        _record(4, "Runs a bit big.", "positive", "length", "fit/size", ("runs a bit big",)),
        _record(5, "Lovely colour.", "positive", "colour", "colour", ("lovely",)),
    ]
    found = product_answer(records, {"dress"}, {"run", "small"}, {"fit/size"})  # by category
    assert found is not None
    # "runs a bit big" shares only "run", which says nothing of the opinion asked about: it says the opposite
    opposite = {"text": "runs a bit big", "reviews": 1}
    assert found["reviews"] == 4
    assert found["opinion"] == {"text": "runs small", "reviews": 2, "share": 0.5, "opposite": opposite}
    assert found["answer"].startswith(
        "2 of 4 reviews that mention fit say \u201cruns small\u201d, 1 \u201cruns a bit big\u201d."
    )
    assert found["quote"]["review_id"] in (1, 2)
    assert product_answer(records, {"size"}, {"small"})["reviews"] == 2  # by term without a category
    shares = product_answer(records, {"colour"}, {"nice"})
    assert (
        shares is not None
        and shares["opinion"] is None
        and "1 of 1 review that mentions colour is positive." in shares["answer"]
    )
    assert product_answer(records, {"zip"}, {"broken"}) is None
    by_opinion = product_answer(records, set(), {"small"})  # "does it run small?"
    assert by_opinion is not None and by_opinion["aspect"] == "size" and by_opinion["reviews"] == 2


def test_cli_intent_classifies_the_example_questions(tmp_path):
    out = tmp_path / "intents.jsonl"
    args = ["intent", str(QUESTIONS), "--text-col", "question", "--id-col", "question_id", "--out", str(out)]
    result = runner.invoke(app, [*args, "--quiet"])
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in out.read_text().splitlines()]
    source = pd.read_csv(QUESTIONS, dtype=str, keep_default_na=False)
    assert [r["id"] for r in records] == source["question_id"].tolist()
    by_id = {r["id"]: r for r in records}
    assert by_id["q15"]["error"]["code"] == "missing_text"
    assert by_id["q01"]["intent"] == "track_order" and not by_id["q01"]["out_of_scope"]
    assert by_id["q13"]["out_of_scope"] and by_id["q14"]["out_of_scope"]
    assert set(by_id["q03"]) == {"id", "intent", "confidence", "out_of_scope", "model_version"}
    assert "rows: 20" in result.output and "out of scope:" in result.output


def test_cli_intent_csv_output_and_bad_column(tmp_path):
    out = tmp_path / "intents.csv"
    ok = runner.invoke(
        app, ["intent", str(QUESTIONS), "--text-col", "question", "--out", str(out), "--quiet"]
    )
    assert ok.exit_code == 0, ok.output
    frame = pd.read_csv(out)
    assert len(frame) == 20 and {"intent", "confidence", "out_of_scope", "error_code"} <= set(frame.columns)
    bad = runner.invoke(app, ["intent", str(QUESTIONS), "--text-col", "text"])
    assert bad.exit_code == 2 and "available columns: question_id, question" in bad.output
    missing = runner.invoke(
        app, ["intent", str(QUESTIONS), "--text-col", "question", "--model", str(Path("/nope"))]
    )
    assert missing.exit_code == 2 and "not an intent model" in missing.output


def test_cli_evaluate_intents_on_own_questions_and_bad_input(tmp_path):
    data = tmp_path / "questions.csv"
    pd.DataFrame(
        {
            "text": ["I forgot my password", "which payment methods do you accept", "tell me a joke please"],
            "intent": ["recover_password", "check_payment_methods", OUT_OF_SCOPE],
            "near_miss": ["", "", "0"],
        }
    ).to_csv(data, index=False)
    result = runner.invoke(app, ["evaluate", "intents", "--data", str(data)])
    assert result.exit_code == 0, result.output
    assert "3 questions, 2 in scope, 1 off topic (0 near misses)" in result.output
    assert re.search(r"in-scope questions with the right intent, not flagged +1\.0\n", result.output)
    assert re.search(r"recover_password +1 +1\.0 +1\.0\n", result.output)
    assert result.output.count("\n  0.") >= 18  # the curve, one line per threshold
    (tmp_path / "bad.csv").write_text("question,label\nhi,review\n")
    for args, message in [
        (
            ["--data", str(tmp_path / "bad.csv")],
            "column(s) text, intent not found; available columns: question, label",
        ),
        (["--set", "natural-train"], "unknown question set 'natural-train'"),
        (["--set", "natural-dev", "--data", str(data)], "give --set or --data, not both"),
        (["--data", str(tmp_path / "none.csv")], "does not exist"),
    ]:
        bad = runner.invoke(app, ["evaluate", "intents", *args])
        assert bad.exit_code == 2 and message in bad.output, bad.output


def _normalised(text: str) -> str:
    return re.sub(r"[^a-z ]", "", re.sub(r"\s+", " ", str(text).lower())).strip()


def test_training_questions_cover_every_intent_and_share_no_row_with_evaluation_sets(intents):
    train = labelled_questions(TRAINING_QUESTIONS)
    assert set(train["intent"]) == {*intents.labels, OUT_OF_SCOPE}
    assert train.groupby("intent").size().min() >= 15
    evaluation = {_normalised(q) for q in out_of_scope_questions()}
    evaluation |= {_normalised(q) for q in pd.read_csv(QUESTIONS)["question"]}
    for path in NATURAL_SETS.values():
        evaluation |= {_normalised(q) for q in labelled_questions(path)["text"]}
    assert not {_normalised(q) for q in train["text"]} & evaluation


def test_balanced_threshold_maximises_the_worse_goal():
    curve = [
        {"threshold": 0.2, "in_scope_correct": 0.95, "off_topic_flagged": 0.6},
        {"threshold": 0.4, "in_scope_correct": 0.9, "off_topic_flagged": 0.85},
        {"threshold": 0.5, "in_scope_correct": 0.85, "off_topic_flagged": 0.85},
        {"threshold": 0.6, "in_scope_correct": 0.7, "off_topic_flagged": 0.95},
    ]
    assert balanced_threshold(curve) == 0.4
    with pytest.raises(ValueError, match="empty"):
        balanced_threshold([])


def test_banking77_support_queries_carry_support_intents(intents):
    frame = banking77_support(per_intent=10)
    assert set(frame["label"]) == set(BANKING77_SUPPORT_INTENTS.values()) <= set(intents.labels)
    assert len(frame) == 10 * len(BANKING77_SUPPORT_INTENTS)


def test_an_out_of_scope_class_is_never_named_and_lowers_confidence():
    train = labelled_questions(TRAINING_QUESTIONS)
    model = IntentClassifier(
        LexicalModel(tfidf_logreg(train["text"].tolist(), train["intent"].tolist())), threshold=0.5
    )
    assert OUT_OF_SCOPE not in model.labels
    results = model.predict(["what's the weather like in Rome tomorrow", "I forgot my password"], top_k=30)
    assert all(OUT_OF_SCOPE not in [s.name for s in r.ranking] for r in results)
    assert len(results[0].ranking) == len(model.labels)
    assert results[0].out_of_scope and results[0].confidence < results[1].confidence


def test_train_intent_calibrates_on_natural_dev_and_writes_its_card(tmp_path):
    folder = tmp_path / "intent"
    metrics = train_intent(folder, intent_config(epochs=1.0, model_version="9"), limit=300)
    assert json.loads((folder / "intent.json").read_text())["calibration"] == "balanced on natural-dev"
    model = IntentClassifier.load(folder)
    assert len(model.labels) == 27 and OUT_OF_SCOPE in metrics["classes"]
    dev = metrics["natural"]["natural-dev"]
    assert dev["threshold"] == model.threshold
    best = max(min(p["in_scope_correct"], p["off_topic_flagged"]) for p in dev["curve"])
    assert min(dev["in_scope_correct"], dev["off_topic_flagged"]) >= best  # the coarse curve cannot beat it
    card = (folder / "MODEL_CARD.md").read_text()
    assert "an `out_of_scope` class" in card and "natural dev questions" in card
    assert "TF-IDF + logistic regression, natural test" in card and "hand-written natural questions" in card
