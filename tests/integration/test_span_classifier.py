"""The one-pass span classifier: emoji-aware offsets, span-to-token mapping, span pooling, and a trained
student served by PyTorch, ONNX fp32 and ONNX int8 giving the same answers."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from nlp.analysis.classifier import load_tokenizer
from nlp.analysis.span_classifier import (
    SpanClassifier,
    describe_emoji_mapped,
    encode_spans,
    pool_spans,
)
from nlp.training.config import StudentConfig
from nlp.training.distill import train_student


def test_emoji_are_spelled_out_and_spans_follow_them():
    text = "Love it 😍 but the zip broke"
    described, positions = describe_emoji_mapped(text)
    assert "smiling face with heart-eyes" in described
    start = text.index("but")
    assert described[positions[start] : positions[len(text)]] == "but the zip broke"
    assert described[positions[0] : positions[4]] == "Love"
    plain, same = describe_emoji_mapped("no emoji here")
    assert plain == "no emoji here" and same.tolist() == list(range(len(plain) + 1))


def test_spans_map_to_exactly_their_tokens():
    tokenizer = load_tokenizer()
    text = "Soft fabric, but it runs small."
    spans = [(0, len(text)), (0, 11), (13, len(text))]
    batch = encode_spans(tokenizer, [text], [spans], max_length=64)
    ids = batch.input_ids[0]
    pieces = [tokenizer.decode(ids[a:b]) for a, b in zip(batch.starts, batch.ends, strict=True)]
    assert pieces == ["soft fabric, but it runs small.", "soft fabric", "but it runs small."]
    assert batch.truncated == [False] and batch.span_truncated == [False, False, False]


def test_a_span_past_the_truncation_point_falls_back_to_the_read_text_and_says_so():
    tokenizer = load_tokenizer()
    text = "great " * 40 + "but the zip broke."
    spans = [(0, len(text)), (text.index("but"), len(text))]
    batch = encode_spans(tokenizer, [text], [spans], max_length=16)
    assert batch.truncated == [True]
    assert batch.span_truncated == [False, True]
    assert (batch.starts[1], batch.ends[1]) == (batch.starts[0], batch.ends[0]) == (1, 15)


def test_pooling_is_the_mean_of_the_span_tokens_in_numpy_and_torch():
    hidden = np.random.default_rng(0).normal(size=(2, 6, 4)).astype(np.float32)
    rows, starts, ends = np.array([0, 1, 1]), np.array([1, 0, 2]), np.array([4, 6, 3])
    expected = np.stack([hidden[r, s:e].mean(0) for r, s, e in zip(rows, starts, ends, strict=True)])
    assert np.allclose(pool_spans(hidden, rows, starts, ends), expected, atol=1e-5)
    pooled = pool_spans(torch.from_numpy(hidden), *(torch.from_numpy(a) for a in (rows, starts, ends)))
    assert np.allclose(pooled.numpy(), expected, atol=1e-5)


@pytest.mark.slow
def test_a_trained_student_answers_alike_in_every_runtime(tmp_path):
    texts = [
        "Love this dress, the fabric is so soft.",
        "Terrible. It fell apart after one wash and the zip broke.",
        "It is fine, nothing special, but the colour is nice.",
    ] * 4
    records = []
    for k, text in enumerate(texts):
        cut = text.index(".") + 1
        label = ["positive", "negative", "neutral"][k % 3]
        target = {"positive": [0.05, 0.1, 0.85], "negative": [0.9, 0.05, 0.05], "neutral": [0.2, 0.6, 0.2]}[
            label
        ]
        records.append(
            {
                "source": "test", "text": text, "label": label, "rating": None,
                "spans": [[0, len(text)], [0, cut]], "teacher": [target, target],
            }
        )  # fmt: skip
    # an augmented variant: the teacher's target only, no gold label
    records.append({**records[0], "source": "sst2-augmented", "label": None})
    train_student(records, tmp_path, StudentConfig(epochs=3, batch_size=4), progress=False)
    spans = [[(0, len(t)), (0, t.index(".") + 1)] for t in texts[:3]]
    answers = {
        runtime: SpanClassifier.load(tmp_path, runtime).predict_spans(texts[:3], spans)
        for runtime in ("torch", "onnx-fp32", "onnx-int8")
    }
    for torch_pred, fp32_pred, int8_pred in zip(*answers.values(), strict=True):
        assert torch_pred.probabilities.shape == (2, 3)
        assert np.allclose(torch_pred.probabilities, fp32_pred.probabilities, atol=1e-4)
        assert np.allclose(torch_pred.probabilities, int8_pred.probabilities, atol=0.05)
    whole = SpanClassifier.load(tmp_path, "onnx-fp32").predict(texts[:3])
    assert np.allclose(whole.probabilities, [p.probabilities[0] for p in answers["onnx-fp32"]], atol=1e-5)


def test_teacher_labels_torn_by_a_kill_are_cut_back_to_whole_lines(tmp_path):
    import gzip
    import json

    from nlp.training.distill import read_labels

    path = tmp_path / "labels.jsonl.gz"
    for row in range(3):
        with gzip.open(path, "at") as sink:
            sink.write(json.dumps({"row": row, "spans": [[0, 4]], "teacher": [[0.1, 0.2, 0.7]]}) + "\n")
    whole = path.read_bytes()
    path.write_bytes(whole[:-30])  # the last chunk's write was cut short, inside its line
    assert sorted(read_labels(path)) == [0, 1]
    assert sorted(read_labels(path)) == [0, 1]  # the file was repaired and reads cleanly
    with gzip.open(path, "at") as sink:
        sink.write(json.dumps({"row": 2, "spans": [[0, 4]], "teacher": [[0.1, 0.2, 0.7]]}) + "\n")
    assert sorted(read_labels(path)) == [0, 1, 2]


def test_augmented_variants_are_new_and_drawn_from_the_corpus():
    from nlp.training.distill import augment_sentences

    sentences = [
        "a gorgeous , witty , seductive movie .",
        "the plot is nothing but boilerplate clichés from start to finish .",
        "it 's a charming and often affecting journey .",
        "good",
    ]
    vocabulary = {word for s in sentences for word in s.split()}
    three = augment_sentences(sentences, 3)
    assert augment_sentences(sentences, 3) == three  # deterministic: teacher labels refer to rows
    assert not set(three) & set(sentences) and len(set(three)) == len(three)
    assert all(text and set(text.split()) <= vocabulary for text in three)
    assert len(three) >= 3 * 3  # the one-word sentence may run out of distinct variants


def test_an_augmented_row_trains_only_once_the_teacher_has_read_it(tmp_path):
    import gzip
    import json

    import pandas as pd

    from nlp.training.distill import distillation_records

    corpus = pd.DataFrame(
        {
            "source": ["sst2", "sst2-augmented", "sst2-augmented"],
            "split": "train",
            "text": ["a gorgeous movie .", "gorgeous movie", "a movie ."],
            "label": ["positive", None, None],
            "rating": float("nan"),
        }
    )
    labels = tmp_path / "labels.jsonl.gz"
    with gzip.open(labels, "wt") as sink:
        sink.write(json.dumps({"row": 1, "spans": [[0, 14]], "teacher": [[0.1, 0.1, 0.8]]}) + "\n")
    records = distillation_records(corpus, labels)
    assert [(r["text"], r["label"], "gold" in r) for r in records] == [
        ("a gorgeous movie .", "positive", True),
        ("gorgeous movie", None, False),
    ]
    corpus.loc[1, "text"] = "movie"  # labels written for another corpus are refused, not misread
    with pytest.raises(ValueError, match="row 1 do not fit"):
        distillation_records(corpus, labels)


def test_beside_other_work_each_text_is_read_alone_on_one_sleeping_thread():
    """``shared_cores`` (the full analysis): one ONNX Runtime thread that does not spin, and texts encoded one
    at a time, so an int8 reading does not depend on the other texts of the call (int8 activations are
    quantised per call); fp32 readings equal the batched ones."""
    from nlp.artifacts.registry import Registry

    path = Registry().path("sentiment", "6")
    texts = [
        "Runs small.",
        "The fabric is lovely and soft, but the zipper broke after a week and the seams are already fraying.",
        "Great colour, fits true to size, I get compliments every time I wear it!",
        "Meh.",
    ]
    spans = [[(0, len(t)), (0, len(t) // 2)] for t in texts]
    shared = SpanClassifier.load(path, "onnx-int8", shared_cores=True)
    options = shared.encoder.session.get_session_options()
    assert options.intra_op_num_threads == 1
    assert options.get_session_config_entry("session.intra_op.allow_spinning") == "0"
    together = shared.predict_spans(texts, spans)
    for text, span, pred in zip(texts, spans, together, strict=True):
        [alone] = shared.predict_spans([text], [span])
        assert np.array_equal(alone.probabilities, pred.probabilities) and alone.labels == pred.labels
    fp32 = [
        SpanClassifier.load(path, "onnx-fp32", shared_cores=s).predict_spans(texts, spans) for s in (0, 1)
    ]
    for batched, alone in zip(*fp32, strict=True):
        assert np.allclose(batched.probabilities, alone.probabilities, atol=1e-5)
