"""Knowledge distillation of the sentiment model into a small one-pass student.

A large, accurate classifier (the teacher, e.g. sentiment v5 on all-mpnet-base-v2) reads every document,
sentence and aspect clause of the review text we hold as a separate input, which is what makes it slow. Its
class probabilities over all those spans (:func:`label_with_teacher`) become the targets of a small student
that reads each review once and classifies the spans from the pooled token states of their characters
(:mod:`nlp.analysis.span_classifier`). Distillation from soft targets follows Hinton et al. 2015 ("Distilling the
Knowledge in a Neural Network"); a layer-reduced student initialised from its base's own layers follows
DistilBERT (Sanh et al. 2019).
"""

from __future__ import annotations

import gzip
import json
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from tqdm.auto import tqdm
from transformers import set_seed

from nlp.analysis.aspects import sentiment_spans
from nlp.analysis.classifier import TextClassifier, lexical_probabilities, load_tokenizer
from nlp.analysis.span_classifier import (
    SpanClassifier,
    SpanClassifierConfig,
    SpanPooledClassifier,
    encode_spans,
    save_student,
    student_encoder,
)
from nlp.analysis.text import TextPreparer
from nlp.artifacts.registry import ModelEntry, Registry
from nlp.training import datasets
from nlp.training.baseline import tfidf_logreg
from nlp.training.cards import render_card
from nlp.training.config import StudentConfig
from nlp.training.finetune import optimise, train_layers_only
from nlp.training.metrics import BIAS_BOOTSTRAP, binary_accuracy, classification_report, tune_decision_bias
from nlp.training.sentiment_recipe import evaluate_classifier, sentiment_data

LABELS = datasets.SENTIMENT_LABELS

#: Documents labelled per teacher call; each chunk is appended to the file at once, so a killed run resumes.
TEACHER_CHUNK = 256


def distillation_corpus(
    datasets_dir: Path | None = None, augmented: int = 0, seed: int = 13, augmented_clothing: int = 0
) -> pd.DataFrame:
    """The review text the teacher labels: columns ``source, split, text, label, rating``.

    SST-2 train sentences (short, so cheap to label), the clothing train split (validation and test stay
    unseen: they choose and measure the student) and the fine-food sample, in that order, so that a partial
    run already covers both held-out benchmarks' domains; then ``augmented`` variants of each SST-2 sentence
    (:func:`augment_sentences` with ``seed``, source ``sst2-augmented``), then ``augmented_clothing`` variants
    of each sentence of the clothing train reviews (source ``clothing-augmented``: the product-review domain,
    where the sentences and clauses an aspect's polarity comes from are read), each appended after the rows
    before it so that rows labelled earlier keep their numbers. ``label`` is the gold label from the stars or
    SST-2 (for a supervised share of the loss; ``None`` for an augmented variant, whose only target is the
    teacher's), ``rating`` NaN where unknown.
    """
    clothing = datasets.clothing_reviews(datasets_dir)
    clothing = clothing[clothing.split == "train"].assign(source="clothing")
    sst2 = datasets.sst2("train", datasets_dir).assign(source="sst2", split="train", rating=float("nan"))
    food = datasets.fine_food_reviews(datasets_dir).assign(source="food", split="train")
    columns = ["source", "split", "text", "label", "rating"]
    ordered = [sst2, clothing, food]
    if augmented:
        ordered.append(_variants(sst2["text"].tolist(), augmented, seed, "sst2-augmented"))
    if augmented_clothing:
        preparer = TextPreparer()
        texts = [preparer.prepare(str(t))[0] for t in clothing["text"]]
        sentences = [s.text for doc in preparer.parse(texts) for s in doc.sents if s.text.strip()]
        ordered.append(_variants(sentences, augmented_clothing, seed, "clothing-augmented"))
    return pd.concat([part[columns] for part in ordered], ignore_index=True)


def _variants(sentences: list[str], copies: int, seed: int, source: str) -> pd.DataFrame:
    """Corpus rows of :func:`augment_sentences`' variants: no gold label, only the teacher's."""
    return pd.DataFrame({"text": augment_sentences(sentences, copies, seed)}).assign(
        source=source, split="train", label=None, rating=float("nan")
    )


def augment_sentences(
    sentences: Sequence[str],
    copies: int,
    seed: int = 13,
    p_drop: float = 0.1,
    p_pos: float = 0.1,
    p_ngram: float = 0.25,
    max_ngram: int = 5,
) -> list[str]:
    """Up to ``copies`` distinct variants of each whitespace-tokenised sentence, for the teacher to label.

    The transfer-set augmentation of Tang et al. 2019 ("Distilling Task-Specific Knowledge from BERT into
    Simple Neural Networks", section 3.2), which lets a small student see far more of the teacher's
    function than the few thousand labelled sentences show: each word is dropped with probability
    ``p_drop`` (the paper masks it; a mask token means different things to the teacher's and the student's
    tokenizers) or, with probability ``p_pos``, replaced by a word of the same part-of-speech tag drawn by
    its corpus frequency; then, with probability ``p_ngram``, the variant is cut to a random n-gram of 1 to
    ``max_ngram`` words. A variant equal to its sentence or to an earlier variant is drawn again (at most
    20 times, so a one-word sentence may get fewer).

    Returned round by round (every sentence's first variant, then every second one, ...), so a partial
    teacher run covers every sentence alike; each sentence has its own random stream. The rows depend on
    ``copies``: teacher labels hold for the ``copies`` (``--augmented``) they were written with.
    """
    preparer = TextPreparer()
    tagged = [[(t.text, t.tag_) for t in doc] for doc in preparer.parse(list(sentences))]
    by_tag: dict[str, Counter] = {}
    for words in tagged:
        for word, tag in words:
            by_tag.setdefault(tag, Counter())[word] += 1
    pools = {
        tag: (list(counts), np.array(list(counts.values()), dtype=float) / sum(counts.values()))
        for tag, counts in by_tag.items()
    }

    def variant(words: list[tuple[str, str]], rng: np.random.Generator) -> str:
        out = []
        for word, tag in words:
            draw = rng.random()
            if draw < p_drop:
                continue
            if draw < p_drop + p_pos:
                vocabulary, weights = pools[tag]
                word = vocabulary[rng.choice(len(vocabulary), p=weights)]
            out.append(word)
        if out and rng.random() < p_ngram:
            n = int(rng.integers(1, max_ngram + 1))
            start = int(rng.integers(0, max(1, len(out) - n + 1)))
            out = out[start : start + n]
        return " ".join(out)

    per_sentence = []
    for k, (sentence, words) in enumerate(zip(sentences, tagged, strict=True)):
        rng = np.random.default_rng([seed, k])
        seen, found = {sentence, ""}, []
        for _ in range(copies):
            for _try in range(20):
                text = variant(words, rng)
                if text not in seen:
                    seen.add(text)
                    found.append(text)
                    break
        per_sentence.append(found)
    return [found[r] for r in range(copies) for found in per_sentence if r < len(found)]


def review_spans(doc) -> list[tuple[int, int]]:
    """Every span of a parsed review that gets a sentiment: the document first, then its sentences and
    clauses (:func:`nlp.analysis.aspects.sentiment_spans`), duplicates removed, as ``(start, end)`` characters."""
    sentences, clauses = sentiment_spans(doc)
    return list(dict.fromkeys([(0, len(doc.text)), *sentences, *clauses]))


def label_with_teacher(
    teacher: TextClassifier | SpanClassifier, corpus: pd.DataFrame, out: Path, progress: bool = True
) -> Path:
    """Append the teacher's probabilities for every span of every text of ``corpus`` to gzip JSONL ``out``.

    One line per corpus row, in order: ``{"row", "spans": [[start, end], ...], "teacher": [[p_negative,
    p_neutral, p_positive], ...]}``; spans index the prepared text, span 0 is the whole text, probabilities
    are the teacher's blended ones, before its decision biases. No review text is stored: it is read again
    from the shared datasets (:func:`distillation_records`). Rows already in ``out`` are kept and labelling
    resumes after them, so a killed run loses at most one chunk.

    Returns ``out``.
    """
    out.parent.mkdir(parents=True, exist_ok=True)
    done = len(read_labels(out))
    preparer = TextPreparer()
    bar = tqdm(total=len(corpus), initial=done, desc="teacher labels", unit="text", disable=not progress)
    for start in range(done, len(corpus), TEACHER_CHUNK):
        chunk = corpus.iloc[start : start + TEACHER_CHUNK]
        texts = [preparer.prepare(str(t))[0] for t in chunk["text"]]
        spans = [review_spans(doc) for doc in preparer.parse(texts)]
        predictions = teacher.predict_spans(texts, spans)
        lines = [
            json.dumps(
                {
                    "row": start + k,
                    "spans": [list(s) for s in doc_spans],
                    "teacher": pred.probabilities.astype(np.float64).round(4).tolist(),
                }
            )
            for k, (doc_spans, pred) in enumerate(zip(spans, predictions, strict=True))
        ]
        with gzip.open(out, "at") as sink:  # one gzip member per chunk
            sink.write("".join(line + "\n" for line in lines))
        bar.update(len(chunk))
    bar.close()
    return out


def read_labels(path: Path) -> dict[int, dict]:
    """The teacher labels in ``path`` by corpus row (``{}`` if there is none yet).

    A file whose end was torn by a killed run is cut back to its last whole line, so labelling can resume.
    """
    if not path.exists():
        return {}
    labels: list[dict] = []
    try:
        with gzip.open(path, "rt") as lines:
            labels.extend(json.loads(line) for line in lines if line.strip())
    except (EOFError, gzip.BadGzipFile, json.JSONDecodeError):
        with gzip.open(path, "wt") as sink:
            sink.write("".join(json.dumps(label) + "\n" for label in labels))
    return {label["row"]: label for label in labels}


def distillation_records(corpus: pd.DataFrame, labels: Path) -> list[dict]:
    """Training records for :func:`train_student`, one per row of ``corpus`` (:func:`distillation_corpus`):
    ``{"source", "text" (prepared), "label", "rating", "spans", "teacher"}`` with the teacher's spans and
    probabilities from ``labels`` (:func:`label_with_teacher`). A row the teacher has not reached gets its
    document span only, its gold target in place of the teacher's, and ``"gold": True``.

    Raises:
        ValueError: a label's spans run past its row's text (the labels were written for another corpus).
    """
    labelled = read_labels(labels)
    preparer = TextPreparer()
    records = []
    for row, (source, text, label, rating) in enumerate(
        zip(corpus["source"], corpus["text"], corpus["label"], corpus["rating"], strict=True)
    ):
        prepared = preparer.prepare(str(text))[0]
        label = None if pd.isna(label) else str(label)
        rating = None if pd.isna(rating) else float(rating)
        record = {"source": source, "text": prepared, "label": label, "rating": rating}
        if row in labelled:
            if max(end for _, end in labelled[row]["spans"]) > len(prepared):
                raise ValueError(
                    f"teacher labels of row {row} do not fit its text: {labels} was written for another corpus "
                    "(another --augmented?)"
                )
            record |= {"spans": labelled[row]["spans"], "teacher": labelled[row]["teacher"]}
        elif label is None:
            continue  # an augmented variant has no target until the teacher has read it
        else:
            target = datasets.soft_sentiment_target(label, rating or float("nan"), 0.0)
            record |= {"spans": [[0, len(prepared)]], "teacher": [target], "gold": True}
        records.append(record)
    return records


def train_student(
    records: Sequence[dict],
    out_dir: Path,
    config: StudentConfig,
    teacher: str = "",
    progress: bool = True,
) -> SpanPooledClassifier:
    """Train a span student on teacher-labelled ``records`` and save it (without decision biases) to ``out_dir``.

    Loss per batch: the cross-entropy between the student's span distributions and the teacher's
    probabilities over every span (soft targets, Hinton et al. 2015), plus ``gold_weight`` times the
    cross-entropy on each document's gold label (ordinal soft target from its stars when known). The
    embeddings stay frozen, so the artifact stores only the kept layers' changes.

    Raises:
        ValueError: no records.
    """
    if not records:
        raise ValueError("no teacher-labelled records to train on")
    set_seed(config.seed)
    tokenizer = load_tokenizer(config.base_model)
    model = SpanPooledClassifier(
        train_layers_only(student_encoder(config.base_model, config.layers)), len(LABELS)
    )
    gold = torch.tensor(  # all zeros where there is no gold label: no supervised loss
        [
            datasets.soft_sentiment_target(r["label"], r["rating"] or float("nan"), config.rating_smoothing)
            if r["label"] is not None
            else [0.0] * len(LABELS)
            for r in records
        ]
    )

    def loss_of(idx: list[int]) -> torch.Tensor:
        batch = [records[i] for i in idx]
        enc = encode_spans(
            tokenizer, [r["text"] for r in batch], [r["spans"] for r in batch], config.max_length
        )
        tensors = (enc.input_ids, enc.attention_mask, enc.rows, enc.starts, enc.ends)
        log_probs = torch.log_softmax(model(*(torch.from_numpy(a) for a in tensors)), dim=-1)
        targets = torch.tensor([p for r in batch for p in r["teacher"]])
        firsts = torch.from_numpy(np.flatnonzero(np.r_[True, enc.rows[1:] != enc.rows[:-1]]))
        distill = -(targets * log_probs).sum(1).mean()
        supervised = -(gold[idx] * log_probs[firsts]).sum(1).mean()
        return distill + config.gold_weight * supervised

    optimise(
        model,
        [len(r["text"]) for r in records],
        loss_of,
        epochs=config.epochs,
        batch_size=config.batch_size,
        learning_rate=config.learning_rate,
        warmup_share=config.warmup_share,
        seed=config.seed,
        desc="distilling",
        progress=progress,
    )
    span_config = SpanClassifierConfig(
        labels=list(LABELS),
        layers=list(config.layers),
        base_model=config.base_model,
        model_version=config.model_version,
        teacher=teacher,
    )
    save_student(model, span_config, out_dir)
    return model


def finish_student(
    out_dir: Path,
    student: StudentConfig,
    teacher: str,
    records: Sequence[dict],
    command: str,
    minutes: float,
    datasets_dir: Path | None = None,
    register: bool = True,
) -> dict:
    """Tune the student's decision biases on the clothing validation split, evaluate it (int8 and fp32 ONNX)
    on the clothing test split and SST-2 dev beside the TF-IDF baseline and its teacher, write its card and
    ``metrics.json`` and register it as ``sentiment`` version ``student.model_version``. Returns the metrics."""
    train, validation, test, sst2_dev = sentiment_data(datasets_dir)
    config = SpanClassifierConfig.load(out_dir)
    clf = SpanClassifier.load(out_dir, "onnx-int8")
    config.decision_bias = tune_decision_bias(
        clf.predict(validation["text"].tolist()).probabilities,
        validation["label"].tolist(),
        LABELS,
        bootstrap=BIAS_BOOTSTRAP,
        seed=student.seed,
    )
    config.save(out_dir)

    def scores(model) -> dict:
        return {
            "test": evaluate_classifier(model, test["text"].tolist(), test["label"].tolist()),
            "sst2": binary_accuracy(
                model.predict(sst2_dev["text"].tolist()).probabilities,
                LABELS,
                sst2_dev["label"].tolist(),
                "positive",
                "negative",
            ),
        }

    runtimes = {
        runtime: scores(SpanClassifier.load(out_dir, runtime)) for runtime in ("onnx-int8", "onnx-fp32")
    }
    baseline = tfidf_logreg(train["text"].tolist(), train["label"].tolist(), seed=student.seed)
    baseline_scores: dict = {
        "test": classification_report(test["label"].tolist(), list(baseline.predict(test["text"])), LABELS),
        "sst2": binary_accuracy(
            lexical_probabilities(baseline, sst2_dev["text"].tolist(), LABELS),
            LABELS,
            sst2_dev["label"].tolist(),
            "positive",
            "negative",
        ),
    }
    teacher_version = teacher.rsplit("v", 1)[-1]
    teacher_metrics = Registry().get("sentiment", teacher_version).metrics
    gold_only = sum(1 for r in records if "gold" in r)
    labelled = [r for r in records if "gold" not in r]
    metrics: dict = {
        "runtimes": runtimes,
        "test": runtimes["onnx-int8"]["test"],
        "sst2_dev_binary_accuracy": runtimes["onnx-int8"]["sst2"],
        "baseline_tfidf_logreg": baseline_scores,
        "teacher": teacher,
        "teacher_labelled_texts": len(labelled),
        "gold_only_texts": gold_only,
        "training_minutes": minutes,
    }
    (out_dir / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    size = sum(f.stat().st_size for f in out_dir.iterdir() if f.is_file())
    (out_dir / "MODEL_CARD.md").write_text(
        render_card(
            "student_card.md.j2",
            config=config,
            student=student,
            teacher=teacher,
            teacher_metrics=teacher_metrics,
            labelled=len(labelled),
            label_sources=", ".join(f"{n} {s}" for s, n in Counter(r["source"] for r in labelled).items()),
            gold_only=gold_only,
            records=len(records),
            minutes=minutes,
            bootstrap=BIAS_BOOTSTRAP,
            command=command,
            runtimes=runtimes,
            baseline=baseline_scores,
            test=runtimes["onnx-int8"]["test"],
            size_mb=round(size / 1e6, 1),
            zip=zip,
        )
    )
    if register:
        registry = Registry(out_dir.parent.parent)
        summary = {
            "test_macro_f1": metrics["test"]["macro_f1"],
            "test_accuracy": metrics["test"]["accuracy"],
            "baseline_test_macro_f1": baseline_scores["test"]["macro_f1"],
            "sst2_dev_binary_accuracy": metrics["sst2_dev_binary_accuracy"],
        }
        registry.register(
            ModelEntry(
                "sentiment",
                config.model_version,
                str(out_dir.relative_to(registry.models_dir)),
                metrics=summary,
            )
        )
    return metrics
