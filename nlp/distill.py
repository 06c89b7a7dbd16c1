"""Knowledge distillation of the sentiment model into a small one-pass student.

A large, accurate classifier (the teacher, e.g. sentiment v5 on all-mpnet-base-v2) reads every document,
sentence and aspect clause of the review text we hold as a separate input, which is what makes it slow. Its
class probabilities over all those spans (:func:`label_with_teacher`) become the targets of a small student
that reads each review once and classifies the spans from the pooled token states of their characters
(:mod:`nlp.span_classifier`). Distillation from soft targets follows Hinton et al. 2015 ("Distilling the
Knowledge in a Neural Network"); a layer-reduced student initialised from its base's own layers follows
DistilBERT (Sanh et al. 2019).
"""

from __future__ import annotations

import json
import math
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from tqdm.auto import tqdm

from nlp import datasets
from nlp.aspects import sentiment_spans
from nlp.base_models import DEFAULT_BASE_MODEL
from nlp.classifier import TextClassifier, load_tokenizer
from nlp.paths import DATASETS_DIR
from nlp.span_classifier import (
    SpanClassifierConfig,
    SpanPooledClassifier,
    encode_spans,
    save_student,
    student_encoder,
)
from nlp.text import TextPreparer
from nlp.training import batches_by_length, linear_schedule, set_seed, train_layers_only

LABELS = datasets.SENTIMENT_LABELS

#: Documents labelled per teacher call; each chunk is appended to the file at once, so a killed run resumes.
TEACHER_CHUNK = 256


def distillation_corpus(datasets_dir: Path = DATASETS_DIR) -> pd.DataFrame:
    """The review text the teacher labels: columns ``source, split, text, label, rating``.

    SST-2 train sentences (short, so cheap to label), the clothing train split (validation and test stay
    unseen: they choose and measure the student) and the fine-food sample, in that order, so that a partial
    run already covers both held-out benchmarks' domains. ``label`` is the gold label from the stars or SST-2
    (for a supervised share of the loss), ``rating`` NaN where unknown.
    """
    clothing = datasets.clothing_reviews(datasets_dir)
    clothing = clothing[clothing.split == "train"].assign(source="clothing")
    sst2 = datasets.sst2("train", datasets_dir).assign(source="sst2", split="train", rating=float("nan"))
    food = datasets.fine_food_reviews(datasets_dir).assign(source="food", split="train")
    columns = ["source", "split", "text", "label", "rating"]
    ordered = [sst2, clothing, food]
    return pd.concat([part[columns] for part in ordered], ignore_index=True)


def review_spans(doc) -> list[tuple[int, int]]:
    """Every span of a parsed review that gets a sentiment: the document first, then its sentences and
    clauses (:func:`nlp.aspects.sentiment_spans`), duplicates removed, as ``(start, end)`` characters."""
    sentences, clauses = sentiment_spans(doc)
    return list(dict.fromkeys([(0, len(doc.text)), *sentences, *clauses]))


def label_with_teacher(
    teacher: TextClassifier, corpus: pd.DataFrame, out: Path, progress: bool = True
) -> Path:
    """Write the teacher's probabilities for every span of every text of ``corpus`` to JSONL ``out``.

    One line per text: ``{"source", "split", "text" (prepared), "label", "rating", "spans": [[start, end],
    ...], "teacher": [[p_negative, p_neutral, p_positive], ...]}`` (span 0 is the whole text; probabilities
    are the teacher's blended ones, before its decision biases). Texts the preparer rejects are skipped.
    Lines already in ``out`` are kept and labelling resumes after them.

    Returns ``out``.
    """
    out.parent.mkdir(parents=True, exist_ok=True)
    done = sum(1 for _ in out.open()) if out.exists() else 0
    preparer = TextPreparer()
    rows = corpus.iloc[done:]
    bar = tqdm(total=len(corpus), initial=done, desc="teacher labels", unit="text", disable=not progress)
    with out.open("a") as sink:
        for chunk in _chunks(rows, TEACHER_CHUNK):
            texts = [preparer.prepare(str(t))[0] for t in chunk["text"]]
            docs = list(preparer.parse(texts))
            spans = [review_spans(doc) for doc in docs]
            unique = list(
                dict.fromkeys(
                    text[a:b] for text, doc_spans in zip(texts, spans, strict=True) for a, b in doc_spans
                )
            )
            probs = teacher.predict(unique).probabilities.round(4).tolist()
            lookup = dict(zip(unique, probs, strict=True))
            for (_, row), text, doc_spans in zip(chunk.iterrows(), texts, spans, strict=True):
                record = {
                    "source": row.source,
                    "split": row.split,
                    "text": text,
                    "label": row.label,
                    "rating": None if pd.isna(row.rating) else float(row.rating),
                    "spans": [list(s) for s in doc_spans],
                    "teacher": [lookup[text[a:b]] for a, b in doc_spans],
                }
                sink.write(json.dumps(record) + "\n")
            sink.flush()
            bar.update(len(chunk))
    bar.close()
    return out


def _chunks(frame: pd.DataFrame, size: int) -> Iterator[pd.DataFrame]:
    for start in range(0, len(frame), size):
        yield frame.iloc[start : start + size]


@dataclass
class StudentConfig:
    """Hyper-parameters of :func:`train_student`."""

    #: Base transformer the student is cut from, and which of its layers it keeps.
    base_model: str = DEFAULT_BASE_MODEL
    layers: tuple[int, ...] = (0, 2, 5)
    epochs: float = 2.0
    learning_rate: float = 1e-4
    batch_size: int = 16
    #: Training inputs are cut to this many tokens (the longest clothing review has 164).
    max_length: int = 256
    warmup_share: float = 0.06
    #: Weight of the cross-entropy on the gold document label beside the distillation loss over all spans.
    gold_weight: float = 0.5
    #: Share of a 2- or 4-star review's gold target on neutral (:func:`nlp.datasets.soft_sentiment_target`).
    rating_smoothing: float = 0.25
    seed: int = 13
    model_version: str = "6"


def read_teacher_labels(path: Path) -> list[dict]:
    """The records :func:`label_with_teacher` wrote."""
    with path.open() as lines:
        return [json.loads(line) for line in lines if line.strip()]


def gold_only_records(frame: pd.DataFrame, labelled: Sequence[dict], source: str) -> list[dict]:
    """Records for the rows of ``frame`` (``text, label, rating``) whose prepared text the teacher has not
    labelled: the document span only, with its gold target in place of the teacher's (so a partial teacher
    run still trains on every row)."""
    preparer = TextPreparer()
    seen = {r["text"] for r in labelled}
    out = []
    for text, label, rating in zip(frame["text"], frame["label"], frame["rating"], strict=True):
        prepared = preparer.prepare(str(text))[0]
        if prepared and prepared not in seen:
            rating = None if pd.isna(rating) else float(rating)
            target = datasets.soft_sentiment_target(label, rating or float("nan"), 0.0)
            out.append(
                {
                    "source": source,
                    "split": "train",
                    "text": prepared,
                    "label": label,
                    "rating": rating,
                    "spans": [[0, len(prepared)]],
                    "teacher": [target],
                }
            )
    return out


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
    gold = torch.tensor(
        [
            datasets.soft_sentiment_target(r["label"], r["rating"] or float("nan"), config.rating_smoothing)
            for r in records
        ]
    )
    trainable = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(trainable, lr=config.learning_rate, weight_decay=0.01)
    total_steps = max(1, int(math.ceil(len(records) / config.batch_size) * config.epochs))
    scheduler = linear_schedule(optimizer, total_steps, config.warmup_share)
    rng = random.Random(config.seed)
    lengths = [len(r["text"]) for r in records]

    model.train()
    step, running = 0, None
    bar = tqdm(total=total_steps, desc="distilling", unit="batch", disable=not progress)
    while step < total_steps:
        for idx in batches_by_length(lengths, config.batch_size, rng):
            if step >= total_steps:
                break
            batch = [records[i] for i in idx]
            enc = encode_spans(
                tokenizer, [r["text"] for r in batch], [r["spans"] for r in batch], config.max_length
            )
            log_probs = torch.log_softmax(
                model(
                    *(
                        torch.from_numpy(a)
                        for a in (enc.input_ids, enc.attention_mask, enc.rows, enc.starts, enc.ends)
                    )
                ),
                dim=-1,
            )
            targets = torch.tensor([p for r in batch for p in r["teacher"]])
            firsts = torch.from_numpy(np.flatnonzero(np.r_[True, enc.rows[1:] != enc.rows[:-1]]))
            distill = -(targets * log_probs).sum(1).mean()
            supervised = -(gold[idx] * log_probs[firsts]).sum(1).mean()
            loss = distill + config.gold_weight * supervised
            loss.backward()
            torch.nn.utils.clip_grad_norm_(trainable, 1.0)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad()
            step += 1
            running = loss.item() if running is None else 0.98 * running + 0.02 * loss.item()
            bar.set_postfix(loss=f"{running:.3f}")
            bar.update()
    bar.close()
    model.eval()
    span_config = SpanClassifierConfig(
        labels=list(LABELS),
        layers=list(config.layers),
        base_model=config.base_model,
        model_version=config.model_version,
        teacher=teacher,
    )
    save_student(model, span_config, out_dir)
    return model
