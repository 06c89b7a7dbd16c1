"""The held-out natural NLU test set (``chatbot/tests/nlu_natural_test.yml``) stays held out: none of its
messages is in the assistant's training data (``chatbot/data``), not even with other case, punctuation or
entity markup, nor as a light edit of a training example of the same intent; and it keeps the size its
README promises. Fast, needs no Rasa; its routing figures are measured in ``test_chatbot_rasa.py``."""

from __future__ import annotations

import difflib
import re
from collections import Counter
from pathlib import Path

import yaml

CHATBOT = Path(__file__).resolve().parents[2] / "chatbot"
TEST_SET = CHATBOT / "tests" / "nlu_natural_test.yml"
DEV_SET = CHATBOT / "tests" / "nlu_natural_dev.yml"
#: Intents only buttons send: no typed messages to test.
PAYLOAD_INTENTS = {"human_handoff"}


def examples(path: Path) -> list[tuple[str, str]]:
    """``(intent, text)`` of every NLU example in a Rasa YAML file (entity markup kept)."""
    found = []
    for item in (yaml.safe_load(path.read_text()) or {}).get("nlu", []):
        if "intent" in item:
            for line in item["examples"].splitlines():
                if line.strip().startswith("- "):
                    found.append((item["intent"], line.strip()[2:]))
    return found


def normalise(text: str) -> str:
    """Lower case, entity markup ``[text](entity)`` / ``[text]{...}`` replaced by its text, punctuation
    dropped, whitespace collapsed."""
    text = re.sub(r"\[([^\]]*)\](\([^)]*\)|\{[^}]*\})", r"\1", text).lower()
    return " ".join(re.findall(r"[a-z0-9£$€%]+", text))


def training_examples() -> list[tuple[str, str]]:
    return [example for path in sorted((CHATBOT / "data").glob("*.yml")) for example in examples(path)]


def test_normalise():
    assert normalise("Where is my order [482913](order_id)?!") == "where is my order 482913"
    assert normalise('is  [DRS-101]{"entity": "product_id"} any good') == "is drs 101 any good"


def test_no_test_message_is_in_the_training_data():
    train = {normalise(text) for _, text in training_examples()}
    assert len(train) > 100
    shared = sorted({normalise(text) for _, text in examples(TEST_SET)} & train)
    assert shared == [], f"test messages also in chatbot/data: {shared}"


def test_no_dev_message_is_a_test_message():
    """The dev set (looked at message by message) shares no message with the test set."""
    shared = sorted(
        {normalise(text) for _, text in examples(DEV_SET)}
        & {normalise(text) for _, text in examples(TEST_SET)}
    )
    assert shared == [], f"dev messages also in the test set: {shared}"


def test_no_test_message_is_a_light_edit_of_a_training_example_of_its_intent():
    """Messages of three words or more: no training example of the same intent is 90 % the same text."""
    by_intent: dict[str, list[str]] = {}
    for intent, text in training_examples():
        by_intent.setdefault(intent, []).append(normalise(text))
    close = []
    for intent, text in examples(TEST_SET):
        message = normalise(text)
        if len(message.split()) < 3:
            continue
        for other in by_intent.get(intent, []):
            if difflib.SequenceMatcher(None, message, other).ratio() >= 0.9:
                close.append((intent, text, other))
    assert close == [], close


def test_every_typed_intent_is_tested_with_enough_messages():
    domain = yaml.safe_load((CHATBOT / "domain.yml").read_text())
    counts = Counter(intent for intent, _ in examples(TEST_SET))
    assert set(counts) == set(domain["intents"]) - PAYLOAD_INTENTS
    assert min(counts.values()) >= 15, counts
    assert counts["out_of_scope"] >= 60, counts
    texts = [normalise(text) for _, text in examples(TEST_SET)]
    assert len(texts) == len(set(texts)), "duplicate messages in the test set"
