"""How the no-opinion rule (:mod:`nlp.analysis.opinion`) reads short real texts: the sentiment an analysis record
gives, with the rule, against the model's own reading of the same span, without it.

- whole texts: review titles and summaries labelled by their stars (:func:`nlp.training.datasets.review_titles`),
  SST-2 dev sentences, and the ABSA gold sentences read as texts of their own;
- sentences in context: each gold review analysed whole, its sentences against their gold polarity.

Gold sentences count when their opinion tuples have one polarity or none (neutral); a conflict tuple is left out.
Run by ``reviewpulse evaluate no-opinion``.
"""

from __future__ import annotations

from collections.abc import Sequence

from nlp.analysis.analyzer import Analyzer, ReviewAnalysis
from nlp.training import datasets
from nlp.training.absa_eval import GoldSentence, load_gold, review_texts
from nlp.training.metrics import classification_report

LABELS = ("negative", "neutral", "positive")


def _one_polarity(split: str) -> list[tuple[GoldSentence, str]]:
    """``(gold sentence, label)`` of the ``split``'s sentences whose tuples have one polarity or none."""
    out = []
    for sentence in load_gold(split):
        polarities = {a.polarity for a in sentence.aspects} - {"conflict"}
        if len(polarities) <= 1:
            out.append((sentence, polarities.pop() if polarities else "neutral"))
    return out


def _scores(gold: Sequence[str], with_rule: Sequence[str], without: Sequence[str], withheld: int) -> dict:
    return {
        "texts": len(gold),
        "withheld": withheld,
        **{
            name: {k: round(v, 4) for k, v in classification_report(gold, labels, LABELS).items()
                   if k in ("macro_f1", "accuracy")}
            for name, labels in (("rule", with_rule), ("no_rule", without))
        },
    }  # fmt: skip


def whole_texts(analyzer: Analyzer, texts: Sequence[str], gold: Sequence[str]) -> dict:
    """Document sentiment of ``texts`` with the rule (the record's) and without it (the model's reading of a
    text the rule flagged, read alone as the analysis reads it)."""
    records = [r for r in analyzer.analyze(list(texts)) if isinstance(r, ReviewAnalysis)]
    if len(records) != len(gold):
        raise ValueError("a text could not be analysed (empty or undecodable)")
    with_rule, without, withheld = [], [], 0
    for record in records:
        label = record.sentiment.label
        with_rule.append(label)
        if record.flags == ["no_opinion"]:
            withheld += 1
            span = [(0, len(record.text))]
            label = analyzer.sentiment.predict_spans([record.text], [span], batch_size=1)[0].labels[0]
        without.append(label)
    return _scores(gold, with_rule, without, withheld)


def sentences_in_context(analyzer: Analyzer, split: str) -> dict:
    """Sentence sentiment of the gold ``split``'s reviews analysed whole, with the rule (the record's) and without
    it (the model's reading of each sentence span in the same one-pass encoding); reviews flagged as a whole are
    left out."""
    labelled = _one_polarity(split)
    texts = review_texts([s for s, _ in labelled], datasets.clothing_reviews(), analyzer.preparer)
    records = dict(zip(texts, analyzer.analyze(list(texts.values())), strict=True))
    gold, with_rule, without, withheld = [], [], [], 0
    for sentence, label in labelled:
        record = records[sentence.review_id]
        if not isinstance(record, ReviewAnalysis) or record.flags:
            continue
        read = next((s for s in record.sentences if s.offset == sentence.offset), None)
        if read is None:
            continue
        model = analyzer.sentiment.predict_spans(
            [record.text], [[(read.offset, read.offset + read.length)]], batch_size=1
        )[0].labels[0]
        gold.append(label)
        with_rule.append(read.sentiment.label)
        without.append(model)
        withheld += read.sentiment.label == "neutral" and len(set(read.sentiment.scores.values())) == 1
    return _scores(gold, with_rule, without, withheld)


def run(analyzer: Analyzer) -> dict[str, dict]:
    """Every set of the module docstring: ``{set name: {"texts", "withheld", "rule": {"macro_f1", "accuracy"},
    "no_rule": {...}}}``. Raises FileNotFoundError when the shared datasets are missing."""
    titles = datasets.review_titles()
    sst2 = datasets.sst2("dev")
    sets = {
        f"clothing titles ({split})": titles[(titles.source == "clothing") & (titles.split == split)]
        for split in ("validation", "test")
    } | {"food summaries": titles[titles.source == "food"]}
    figures = {
        name: whole_texts(analyzer, f["text"].tolist(), f["label"].tolist()) for name, f in sets.items()
    }
    figures["SST-2 dev"] = whole_texts(analyzer, sst2["text"].tolist(), sst2["label"].tolist())
    for split in ("dev", "test"):
        labelled = _one_polarity(split)
        figures[f"ABSA {split} sentences as texts"] = whole_texts(
            analyzer, [s.text for s, _ in labelled], [label for _, label in labelled]
        )
        figures[f"ABSA {split} sentences in their reviews"] = sentences_in_context(analyzer, split)
    return figures
