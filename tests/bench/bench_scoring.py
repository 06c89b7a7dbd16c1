"""What scoring a review dump costs, side by side in one run on the same clothing reviews:

- the reference: one plain sentence-transformers ``encode()`` pass of all-MiniLM-L6-v2 (batch 32), the figure
  that travels between machines (every rate below is also printed as a ratio to it);
- the full analysis (document, sentence and aspect sentiment, aspects, topics, entities) as ``reviewpulse
  score`` runs it, the same without entities (``--no-entities``) and then also without the aspect polarity head
  (aspects read by their clause's sentiment), and document sentiment only (``--only sentiment``), with the
  registered default one-pass
  student (``BENCH_SENTIMENT_VERSION`` picks another), in one process and in two (``--processes 2``), and the
  other registered students beside it;
- the naive pipeline a user would write over the same fine-tuned model: ``transformers.pipeline(
  "text-classification")`` over each document (batch size 1 and its best batch size) and, for the full
  record, over the document and every sentence and aspect clause as texts of their own;
- the accurate, slow model (sentiment v5) on a smaller sample, for the speed-up the default buys.

Run on demand: ``make bench`` (set ``BENCH_N`` for the number of reviews, default 1500; asserts nothing about
speed). The memory figure is in ``bench_memory.py``.
"""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch
from torch import nn

from nlp.artifacts.paths import nlp_settings
from tests.bench import rate
from tests.conftest import EXAMPLES

N = int(os.environ.get("BENCH_N", "1500"))


def _texts(n: int = N) -> list[str]:
    import pandas as pd

    if (nlp_settings().datasets_dir / "womens_clothing_reviews").exists():
        from nlp.training.datasets import clothing_reviews

        return clothing_reviews()["text"].head(n).tolist()
    return pd.read_csv(EXAMPLES)["text"].dropna().tolist()


def _plain_minilm_encode(texts: list[str]) -> float:
    from sentence_transformers import SentenceTransformer

    from nlp.artifacts.base_models import base_model_dir

    model = SentenceTransformer(str(base_model_dir("all-MiniLM-L6-v2")), device="cpu")
    model.encode(texts[:32])
    return rate(lambda ts: model.encode(ts, batch_size=32), texts)


def _naive_pipeline(student, batch_size: int):
    """``transformers.pipeline("text-classification")`` over the student's fine-tuned encoder and head."""
    from transformers import BertConfig, PreTrainedModel, pipeline
    from transformers.modeling_outputs import SequenceClassifierOutput

    from nlp.analysis.classifier import load_tokenizer, mean_pool
    from nlp.analysis.span_classifier import fine_tuned_student

    encoder = fine_tuned_student(student.folder, student.config)
    labels = student.labels

    class MeanPooledClassifier(PreTrainedModel):
        config_class = BertConfig

        def __init__(self, config: BertConfig) -> None:
            super().__init__(config)
            self.encoder = encoder
            self.head = nn.Linear(config.hidden_size, len(labels))

        def forward(self, input_ids=None, attention_mask=None, **_):
            hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
            return SequenceClassifierOutput(logits=self.head(mean_pool(hidden, attention_mask)))

    config = BertConfig(**encoder.config.to_dict())
    config.id2label = dict(enumerate(labels))
    config.label2id = {label: k for k, label in enumerate(labels)}
    model = MeanPooledClassifier(config).eval()
    with torch.no_grad():
        model.head.weight.copy_(torch.from_numpy(student.weight.T))
        model.head.bias.copy_(torch.from_numpy(student.bias))
    classify = pipeline(
        "text-classification", model=model, tokenizer=load_tokenizer(student.config.base_model), device="cpu"
    )
    return lambda texts: classify(texts, batch_size=batch_size, truncation=True, max_length=512)


def _in_two_processes(texts: list[str], **options) -> float:
    """The rate (reviews/s) of an :class:`nlp.batch.pool.AnalyzerPool` of two processes (models loaded and
    warm before timing), chunks of 256 reviews as ``reviewpulse score --processes 2`` reads them."""
    from nlp.batch.pool import AnalyzerPool

    with AnalyzerPool(2, sentiment_version=_student_version(), **options) as pool:
        pool.analyze(texts[:32])
        return rate(
            lambda _: sum(len(pool.analyze(texts[k : k + 256])) for k in range(0, len(texts), 256)), texts
        )


def _span_versions() -> list[str]:
    """The registered one-pass sentiment models, oldest first (fails the benchmark when there is none)."""
    from nlp.analysis.span_classifier import SPAN_CONFIG_FILE
    from nlp.artifacts.registry import Registry

    registry = Registry()
    span_models = [
        e.version
        for e in registry.entries()
        if e.name == "sentiment" and (registry.models_dir / e.path / SPAN_CONFIG_FILE).exists()
    ]
    if not span_models:
        pytest.fail(
            "no one-pass span sentiment model is registered in models/registry.json: restore models/ from git "
            "(or distil one: reviewpulse train distill)",
            pytrace=False,
        )
    return span_models


def _student_version() -> str:
    """The registered default sentiment model if it is a one-pass student, else the newest one-pass student
    (``BENCH_SENTIMENT_VERSION`` overrides)."""
    from nlp.artifacts.registry import Registry

    versions = _span_versions()
    default = Registry().get("sentiment").version
    return os.environ.get("BENCH_SENTIMENT_VERSION", default if default in versions else versions[-1])


def _full_and_document_only(version: str, texts: list[str]) -> tuple[float, float]:
    """Full analysis and document-sentiment-only rates (reviews/s) of one sentiment model version."""
    from nlp.analysis.analyzer import Analyzer

    full, only = Analyzer(sentiment_version=version), Analyzer(sentiment_version=version, only="sentiment")
    full.analyze(texts[:32])
    only.analyze(texts[:32])
    return rate(full.analyze, texts), rate(only.analyze, texts)


def test_scoring_throughput():
    from nlp.analysis.analyzer import Analyzer

    texts = _texts()
    version = _student_version()
    analyzer = Analyzer(sentiment_version=version)
    student = analyzer.sentiment
    reference = _plain_minilm_encode(texts)
    full, document_only = _full_and_document_only(version, texts)
    lean = Analyzer(sentiment_version=version, entities=False)
    lean.analyze(texts[:32])
    without_entities = rate(lean.analyze, texts)
    head, lean.aspect_polarity = (
        lean.aspect_polarity,
        None,
    )  # aspects read by their clause's sentiment instead
    without_head = rate(lean.analyze, texts)
    lean.aspect_polarity = head
    others = {v: _full_and_document_only(v, texts) for v in _span_versions() if v != version}
    full_two_processes = _in_two_processes(texts)
    document_only_two_processes = _in_two_processes(texts, only="sentiment")

    sample = texts[: max(50, N // 10)]
    naive = {bs: rate(_naive_pipeline(student, bs), sample) for bs in (1, 8, 32, 64)}
    best_bs = max(naive, key=naive.__getitem__)
    docs = list(analyzer.preparer.parse(sample))
    from nlp.training.distill import review_spans

    span_texts = [doc.text[a:b] for doc in docs for a, b in review_spans(doc)]
    naive_full = len(sample) / (len(span_texts) / rate(_naive_pipeline(student, best_bs), span_texts))

    teacher = Analyzer(sentiment_version="5")
    teacher_sample = texts[:100]
    teacher.analyze(teacher_sample[:8])
    slow = rate(teacher.analyze, teacher_sample)
    spans_per_review = len(span_texts) / len(sample)

    print(
        f"\n{len(texts)} clothing reviews, {torch.get_num_threads()} torch threads; {analyzer.model_version}:"
    )
    print(f"  plain MiniLM-L6 encode (reference) {reference:8.1f} reviews/s")
    print(
        f"  full analysis                      {full:8.1f} reviews/s   / reference = {full / reference:.2f}"
    )
    print(
        f"  full analysis without entities     {without_entities:8.1f} reviews/s   / full analysis = "
        f"{without_entities / full:.2f}"
    )
    print(
        f"  the same without the aspect polarity head {without_head:8.1f} reviews/s   / with it = "
        f"{without_head / without_entities:.2f}"
    )
    print(
        f"  document sentiment only            {document_only:8.1f} reviews/s   / reference = "
        f"{document_only / reference:.2f}"
    )
    print(
        f"  full analysis, 2 processes          {full_two_processes:8.1f} reviews/s   / one process = "
        f"{full_two_processes / full:.2f}"
    )
    print(
        f"  document sentiment only, 2 processes x 1 thread {document_only_two_processes:8.1f} reviews/s   "
        f"/ one process = {document_only_two_processes / document_only:.2f}"
    )
    for other, (other_full, other_only) in others.items():
        print(
            f"  sentiment v{other}: full analysis {other_full:8.1f} reviews/s ({other_full / reference:.2f} of the "
            f"reference), document only {other_only:8.1f} reviews/s ({other_only / reference:.2f})"
        )
    for bs, r in naive.items():
        print(
            f"  naive pipeline, documents, batch {bs:<3} {r:7.1f} reviews/s   document-only / it = "
            f"{document_only / r:.2f}"
        )
    print(
        f"  naive pipeline, every span as a text (batch {best_bs}, {spans_per_review:.1f} spans per review) "
        f"{naive_full:7.1f} reviews/s   full analysis / it = {full / naive_full:.2f}"
    )
    print(
        f"  full analysis with sentiment v5 ({len(teacher_sample)} reviews) {slow:7.1f} reviews/s   "
        f"default / v5 = {full / slow:.2f}"
    )
    assert np.isfinite([reference, full, document_only, slow]).all()


if __name__ == "__main__":  # pragma: no cover
    pytest.main([__file__, "-s"])
