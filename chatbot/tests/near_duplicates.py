"""Which new NLU examples equal or nearly equal a message of the held-out test set, the dev set or the
training data, printed by the new example's own text only (the test set's messages are never shown, so
nothing can be written from them). Drop what it lists before training or measuring.

Run from the repository root with the project's Python::

    .venv/bin/python -m chatbot.tests.near_duplicates NEW.yml [--against test dev train] [--skip-first N]

Rules, after ``normalise`` (lower case, entity markup and punctuation dropped) of
``tests/unit/test_chatbot_nlu_natural.py``: equal; for messages under three words, equal once repeated
letters are squeezed ("yess" and "yes"); for three words or more, ``difflib.SequenceMatcher`` ratio >= 0.8
with a message of any intent (stricter than the unit test's 0.9 within an intent). ``--skip-first N`` leaves
the file's first N examples out (the dev set's older messages, say). Exit status 1 when anything is listed.
"""

from __future__ import annotations

import argparse
import difflib
import re
import sys
from pathlib import Path

from tests.unit.test_chatbot_nlu_natural import examples, normalise

CHATBOT = Path(__file__).resolve().parents[1]
SETS = {
    "test": [CHATBOT / "tests" / "nlu_natural_test.yml"],
    "dev": [CHATBOT / "tests" / "nlu_natural_dev.yml"],
    "train": sorted((CHATBOT / "data").glob("nlu*.yml")),
}
RATIO = 0.8


def squeezed(text: str) -> str:
    """``normalise`` with runs of one letter cut to one ("heyy" -> "hey", "yess" -> "yes")."""
    return re.sub(r"(.)\1+", r"\1", normalise(text))


def collision(message: str, others: list[str]) -> str | None:
    """How ``message`` collides with one of ``others`` (all normalised), or None."""
    if message in others:
        return "equals"
    if len(message.split()) < 3:
        return "equals once squeezed" if squeezed(message) in {squeezed(o) for o in others} else None
    for other in others:
        if difflib.SequenceMatcher(None, message, other).ratio() >= RATIO:
            return f">= {RATIO:.0%} the same as"
    return None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("new", type=Path, help="Rasa NLU YAML file with the new examples")
    parser.add_argument("--against", nargs="+", choices=sorted(SETS), default=["test", "dev", "train"])
    parser.add_argument("--skip-first", type=int, default=0, help="examples of NEW not to check")
    args = parser.parse_args()
    new = examples(args.new)[args.skip_first :]
    listed = 0
    for name in args.against:
        others = [normalise(t) for path in SETS[name] if path.resolve() != args.new.resolve()
                  for _, t in examples(path)]  # fmt: skip
        for intent, text in new:
            found = collision(normalise(text), others)
            if found:
                listed += 1
                print(f"{intent}: {text!r} {found} a {name} message")
    print(f"{listed} collisions in {len(new)} examples", file=sys.stderr)
    return 1 if listed else 0


if __name__ == "__main__":
    sys.exit(main())
