"""Routing of a trained assistant on the natural dev set, message by message, with ``parse_message`` latency;
and the nearest-neighbour out-of-scope gate swept offline over ``k`` and margins.

Runs in Rasa's environment with ``chatbot/`` on the path, from the repository root::

    PYTHONPATH=chatbot $RASA_VENV/bin/python chatbot/tests/dev_routing.py MODEL [--sweep] [--repeats N]
        [--k K ...] [--fallback T ...] [--ambiguity A ...]

``--sweep`` re-applies the gate (``out_of_scope_margin`` of ``rasa_components``, the index built from
``chatbot/data/nlu*.yml`` with the same encoder; each ``--k``, default 1 3 5) and a FallbackClassifier (each
``--fallback`` threshold and ``--ambiguity`` threshold, default 0.4 and 0.1 as ``config.yml``) to the parsed
intent rankings: train the model with the gate switched off (``margin: 2``) so those rankings are the intent
classifier's own. Latency: ``Agent.load``, five warm-up parses, then each message parsed
alone ``--repeats`` times (milliseconds, median and 99th percentile). Never run it on the test set.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections import Counter
from pathlib import Path

import numpy as np
import yaml
from rasa.core.agent import Agent
from rasa.shared.nlu.training_data.loading import load_data
from rasa_components.minilm_featurizer import MiniLMFeaturizer
from rasa_components.nearest_neighbour_out_of_scope import out_of_scope_margin, unit_rows

CHATBOT = Path(__file__).resolve().parents[1]
DEV_SET = CHATBOT / "tests" / "nlu_natural_dev.yml"
OUT_OF_SCOPE, FALLBACK = "out_of_scope", "nlu_fallback"


def labelled_messages(path: Path) -> list[tuple[str, str]]:
    """``(intent, text)`` of every example in a Rasa NLU YAML file."""
    found = []
    for block in yaml.safe_load(path.read_text())["nlu"]:
        if "intent" in block:
            lines = [line.strip() for line in block["examples"].splitlines()]
            found += [(block["intent"], line[2:]) for line in lines if line.startswith("- ")]
    return found


def report(name: str, gold: list[str], predicted: list[str], texts: list[str], misses: bool) -> None:
    """Prints routing accuracy, the off-topic share and per-intent counts (an off-topic message routes right
    also as ``nlu_fallback``), and with ``misses`` each message routed wrong."""
    right = [p == g or (g == OUT_OF_SCOPE and p == FALLBACK) for g, p in zip(gold, predicted, strict=True)]
    totals, hits = Counter(gold), Counter(g for g, ok in zip(gold, right, strict=True) if ok)
    per_intent = " ".join(f"{intent} {hits[intent]}/{totals[intent]}" for intent in sorted(totals))
    print(f"[{name}] routing {sum(right)}/{len(gold)} = {sum(right) / len(gold):.3f}, off-topic "
          f"{hits[OUT_OF_SCOPE]}/{totals[OUT_OF_SCOPE]}; {per_intent}")  # fmt: skip
    for g, p, text, ok in zip(gold, predicted, texts, right, strict=True):
        if misses and not ok:
            print(f"    {g} -> {p}: {text}")


def gated(
    ranking: dict[str, float], margin: float, threshold: float, fallback: float, ambiguity: float
) -> str:
    """The intent after the gate (``margin`` of the message above ``threshold``: the top intent and
    out_of_scope swap confidences) and a FallbackClassifier (``fallback`` and ``ambiguity`` thresholds), from
    the intent classifier's ``ranking``."""
    ranking = {name: c for name, c in ranking.items() if name != FALLBACK}
    top = max(ranking, key=ranking.__getitem__)
    if margin > threshold and top != OUT_OF_SCOPE:
        ranking[top], ranking[OUT_OF_SCOPE] = ranking.get(OUT_OF_SCOPE, 0.0), ranking[top]
    first, second = [*sorted(ranking.values(), reverse=True), 0.0][:2]
    if first < fallback or first - second < ambiguity:
        return FALLBACK
    return max(ranking, key=ranking.__getitem__)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", type=Path)
    parser.add_argument(
        "--sweep", action="store_true", help="re-apply the gate offline at several k, margins"
    )
    parser.add_argument("--repeats", type=int, default=1, help="timed parses of each message")
    parser.add_argument("--k", type=int, nargs="+", default=[1, 3, 5], help="the gate's k values to sweep")
    parser.add_argument(
        "--fallback", type=float, nargs="+", default=[0.4], help="fallback thresholds to sweep"
    )
    parser.add_argument(
        "--ambiguity", type=float, nargs="+", default=[0.1], help="ambiguity thresholds to sweep"
    )
    args = parser.parse_args()
    dev = labelled_messages(DEV_SET)
    gold, texts = [g for g, _ in dev], [t for _, t in dev]
    loop = asyncio.new_event_loop()
    agent = Agent.load(str(args.model))
    for _ in range(5):
        loop.run_until_complete(agent.parse_message("hello there"))
    parsed, milliseconds = [], []
    for repeat in range(args.repeats):
        for text in texts:
            start = time.perf_counter()
            result = loop.run_until_complete(agent.parse_message(text))
            milliseconds.append(1000 * (time.perf_counter() - start))
            if repeat == 0:
                parsed.append(result)
    milliseconds.sort()
    print(f"parse_message over {len(milliseconds)} parses: median {statistics.median(milliseconds):.1f} ms, "
          f"p99 {milliseconds[int(0.99 * (len(milliseconds) - 1))]:.1f} ms")  # fmt: skip
    report("as served", gold, [p["intent"]["name"] for p in parsed], texts, misses=True)
    if not args.sweep:
        return
    encoder = MiniLMFeaturizer(MiniLMFeaturizer.get_default_config(), "sweep")
    files = sorted((CHATBOT / "data").glob("nlu*.yml"))
    training = load_data(str(files[0])).merge(*(load_data(str(f)) for f in files[1:]))
    examples = training.intent_examples
    index = unit_rows(np.stack([encoder.encode(m.get("text"), [])[1][0] for m in examples]))
    is_out_of_scope = np.array([m.get("intent") == OUT_OF_SCOPE for m in examples])
    embeddings = unit_rows(np.stack([encoder.encode(text, [])[1][0] for text in texts]))
    rankings = [{r["name"]: r["confidence"] for r in p["intent_ranking"]} for p in parsed]
    for k in args.k:
        margins = out_of_scope_margin(embeddings, index, is_out_of_scope, k)
        for threshold in (0.05, 0.025, 0.0, -0.025, -0.05, -0.075, -0.1):
            for fallback in args.fallback:
                for ambiguity in args.ambiguity:
                    predicted = [
                        gated(r, m, threshold, fallback, ambiguity)
                        for r, m in zip(rankings, margins, strict=True)
                    ]
                    name = f"gate k {k}, margin {threshold:+.3f}, fallback {fallback}, ambiguity {ambiguity}"
                    report(name, gold, predicted, texts, misses=False)


if __name__ == "__main__":
    main()
