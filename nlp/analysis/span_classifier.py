"""One-pass span sentiment: a review is encoded once; the document, each sentence and each aspect clause are
classified from the mean of their own tokens' states (span pooling through the tokenizer's character
offsets), by one linear head trained for spans (:func:`nlp.training.distill.train_student`).

The encoder is a layer-reduced copy of a base transformer (its ``layers`` kept, as DistilBERT keeps every
other layer of its teacher, Sanh et al. 2019). An artifact stores only what training changed (int8 layer
deltas over the installed base, as :func:`nlp.analysis.classifier.save_artifact` writes them), the head and
``span_classifier.json``. At run time the encoder is served by ONNX Runtime: the fine-tuned encoder is
exported once per artifact into the cache folder (``REVIEWPULSE_CACHE_DIR``) and, by default, its weights
quantised to int8 (dynamic quantisation, ``onnxruntime.quantization.quantize_dynamic``); ``runtime="torch"``
skips ONNX.
"""

from __future__ import annotations

import hashlib
import json
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import emoji
import numpy as np
import torch
from safetensors.torch import load_file, save_file
from torch import nn

from nlp.analysis.classifier import (
    ENCODER_DELTA_FILE,
    HEAD_FILE,
    INFERENCE_MAX_LENGTH,
    Prediction,
    SpanPrediction,
    TextClassifier,
    add_encoder_delta,
    decide_spans,
    encoder_delta,
    load_encoder,
    load_tokenizer,
    save_head,
)
from nlp.artifacts.base_models import DEFAULT_BASE_MODEL
from nlp.artifacts.paths import nlp_settings

SPAN_CONFIG_FILE = "span_classifier.json"
#: Run-time encoders: ONNX Runtime with int8 weights (default), ONNX Runtime fp32, or plain PyTorch.
RUNTIMES = ("onnx-int8", "onnx-fp32", "torch")
#: Texts per encoder call when the encoder has the cores to itself, sorted by length first: a batch is as long
#: as its longest text, so small batches pad less.
ENCODER_BATCH = 8

Span = tuple[int, int]


@dataclass
class SpanClassifierConfig:
    """What ``span_classifier.json`` holds besides the weights."""

    labels: list[str]
    #: Indices of the base model's transformer layers the student keeps, in order.
    layers: list[int]
    base_model: str = DEFAULT_BASE_MODEL
    max_length: int = INFERENCE_MAX_LENGTH
    #: Added to log-probabilities before the arg-max; tuned on a validation split for macro-F1.
    decision_bias: list[float] = field(default_factory=list)
    model_version: str = "0"
    #: The artifact whose probabilities the student learned (for its card).
    teacher: str = ""

    def save(self, folder: Path) -> None:
        (folder / SPAN_CONFIG_FILE).write_text(json.dumps(self.__dict__, indent=2) + "\n")

    @classmethod
    def load(cls, folder: Path) -> SpanClassifierConfig:
        return cls(**json.loads((folder / SPAN_CONFIG_FILE).read_text()))


def student_encoder(base: str, layers: Sequence[int]) -> nn.Module:
    """Base model ``base``'s encoder with only its transformer ``layers`` (by index, in order) kept."""
    encoder = load_encoder(base)
    kept = [encoder.encoder.layer[i] for i in layers]  # type: ignore[union-attr,index]
    encoder.encoder.layer = nn.ModuleList(kept)  # type: ignore[union-attr,arg-type]
    encoder.config.num_hidden_layers = len(layers)  # type: ignore[union-attr]
    return encoder


def describe_emoji_mapped(text: str) -> tuple[str, np.ndarray]:
    """``text`` with emoji spelled out as words (as :func:`nlp.analysis.classifier.describe_emoji`) and where each of its
    character positions ``0..len(text)`` moved to: ``(described, positions)`` with ``positions.shape ==
    (len(text) + 1,)``, so spans of ``text`` map onto ``described``."""
    found = [] if text.isascii() else emoji.emoji_list(text)
    if not found:
        return text, np.arange(len(text) + 1)
    pieces, positions, at, out = [], np.empty(len(text) + 1, dtype=np.int64), 0, 0
    for match in found:
        start, end = match["match_start"], match["match_end"]
        positions[at:start] = np.arange(out, out + start - at)
        pieces.append(text[at:start])
        out += start - at
        words = " " + emoji.demojize(match["emoji"], delimiters=("", "")).replace("_", " ") + " "
        positions[start:end] = out
        pieces.append(words)
        out += len(words)
        at = end
    positions[at:] = np.arange(out, out + len(text) - at + 1)
    pieces.append(text[at:])
    return "".join(pieces), positions


@dataclass
class EncodedBatch:
    """Token ids ``(B, T)``, attention mask ``(B, T)`` and, per span, its row and token range ``[t0, t1)``."""

    input_ids: np.ndarray
    attention_mask: np.ndarray
    rows: np.ndarray
    starts: np.ndarray
    ends: np.ndarray
    #: per text: its tokens stopped before the end of the text (longer than the model reads)
    truncated: list[bool]
    #: per span: it lies past the truncation point and was pooled over the whole read text instead
    span_truncated: list[bool]


def encode_spans(
    tokenizer, texts: Sequence[str], spans: Sequence[Sequence[Span]], max_length: int
) -> EncodedBatch:
    """Tokenize ``texts`` once and map each text's character ``spans`` onto token ranges.

    A token belongs to a span when their characters overlap. A span with no token inside the read part of
    a truncated text falls back to the whole read text.
    """
    described = [describe_emoji_mapped(t) for t in texts]
    enc = tokenizer(
        [d for d, _ in described],
        truncation=True,
        max_length=max_length,
        padding=True,
        return_offsets_mapping=True,
        return_tensors="np",
    )
    rows, starts, ends, truncated, span_truncated = [], [], [], [], []
    for b, ((text, positions), text_spans) in enumerate(zip(described, spans, strict=True)):
        offsets = enc["offset_mapping"][b]
        content = np.flatnonzero(offsets[:, 1] > offsets[:, 0])
        first, last = (int(content[0]), int(content[-1]) + 1) if len(content) else (0, 1)
        truncated.append(bool(len(content)) and _has_content(text[offsets[last - 1, 1] :]))
        tok_start, tok_end = offsets[first:last, 0], offsets[first:last, 1]
        for a, z in text_spans:
            a2, z2 = positions[a], positions[z]
            lo = first + int(np.searchsorted(tok_end, a2, side="right"))
            hi = first + int(np.searchsorted(tok_start, z2, side="left"))
            missing = hi <= lo
            rows.append(b)
            starts.append(first if missing else lo)
            ends.append(last if missing else hi)
            span_truncated.append(missing and truncated[-1])
    return EncodedBatch(
        enc["input_ids"].astype(np.int64),
        enc["attention_mask"].astype(np.int64),
        np.asarray(rows, dtype=np.int64),
        np.asarray(starts, dtype=np.int64),
        np.asarray(ends, dtype=np.int64),
        truncated,
        span_truncated,
    )


def _has_content(rest: str) -> bool:
    """Whether text after the last token read holds anything the tokenizer would read: not only spaces and
    invisible control or format characters (a trailing bidi mark made a whole review "truncated")."""
    return any(unicodedata.category(ch)[0] not in "CZ" for ch in rest)


def pool_spans(hidden, rows, starts, ends):
    """Mean of token states over each span: ``(B, T, H)`` and ``(S,)`` rows / ``[start, end)`` -> ``(S, H)``.

    Works on NumPy arrays and torch tensors alike (prefix sums over the token axis).
    """
    prefix: torch.Tensor | np.ndarray
    if isinstance(hidden, torch.Tensor):
        prefix = torch.cat([torch.zeros_like(hidden[:, :1]), hidden.cumsum(1)], 1)
    else:
        prefix = np.concatenate([np.zeros_like(hidden[:, :1]), hidden.cumsum(1)], 1)
    total = prefix[rows, ends] - prefix[rows, starts]
    return total / (ends - starts)[:, None]


class SpanPooledClassifier(nn.Module):
    """Encoder + span mean pooling + dropout + linear head -> logits ``(S, C)`` for the spans of a batch."""

    def __init__(self, encoder: nn.Module, num_labels: int, dropout: float = 0.1) -> None:
        super().__init__()
        self.encoder = encoder
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(int(encoder.config.hidden_size), num_labels)  # type: ignore[union-attr,arg-type]

    def forward(self, input_ids, attention_mask, rows, starts, ends) -> torch.Tensor:
        hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        return self.head(self.dropout(pool_spans(hidden, rows, starts, ends)))


class _TorchEncoder:
    def __init__(self, encoder: nn.Module) -> None:
        self.encoder = encoder.eval()

    @torch.inference_mode()
    def __call__(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
        out = self.encoder(
            input_ids=torch.from_numpy(input_ids), attention_mask=torch.from_numpy(attention_mask)
        )
        return out.last_hidden_state.numpy()


class _OnnxEncoder:
    def __init__(self, path: Path, threads: int, spin: bool) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads
        options.add_session_config_entry("session.intra_op.allow_spinning", "1" if spin else "0")
        self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])

    def __call__(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
        [hidden] = self.session.run(None, {"input_ids": input_ids, "attention_mask": attention_mask})
        return hidden


class SpanClassifier:
    """A one-pass span sentiment model loaded from an artifact folder.

    Example::

        clf = SpanClassifier.load(Path("models/sentiment/v6"))
        [pred] = clf.predict_spans(["Soft, but it runs small."], [[(0, 24), (0, 5), (7, 24)]])
        pred.probabilities.shape   # (3, 3): the document, "Soft," and "but it runs small."

    Args (of :meth:`load`):
        runtime: one of :data:`RUNTIMES`.
        threads: ONNX Runtime intra-op threads (0: one per core, or one when ``shared_cores``).
        shared_cores: the encoder runs beside other CPU-bound threads (the full analysis parses with spaCy
            and finds entities while it encodes). Then its ONNX Runtime threads sleep when idle instead of
            spin-waiting (which starves the other threads) and texts are encoded one at a time, with no
            padding: the least CPU per text. Otherwise (the encoder has the cores to itself) idle threads
            spin and texts go in batches of :data:`ENCODER_BATCH`, sorted by length: the least time.

    Raises:
        FileNotFoundError: ``folder`` is not a span-classifier artifact, or its base model is not installed.
        ValueError: an unknown runtime.
    """

    def __init__(
        self,
        encoder,
        head: nn.Linear,
        config: SpanClassifierConfig,
        folder: Path,
        batch_size: int = ENCODER_BATCH,
    ) -> None:
        self.encoder = encoder
        self.batch_size = batch_size
        self.folder = folder
        self.weight = head.weight.detach().numpy().T.copy()
        self.bias = head.bias.detach().numpy().copy()
        self.config = config
        self.tokenizer = load_tokenizer(config.base_model)

    @classmethod
    def load(
        cls, folder: Path, runtime: str = "onnx-int8", threads: int = 0, shared_cores: bool = False
    ) -> SpanClassifier:
        folder = Path(folder)
        if runtime not in RUNTIMES:
            raise ValueError(f"unknown runtime {runtime!r}; choose one of {', '.join(RUNTIMES)}")
        if not (folder / SPAN_CONFIG_FILE).exists():
            raise FileNotFoundError(f"{folder} is not a span-classifier artifact (no {SPAN_CONFIG_FILE})")
        config = SpanClassifierConfig.load(folder)
        head = nn.Linear(1, 1)
        state = load_file(str(folder / HEAD_FILE))
        head.weight, head.bias = nn.Parameter(state["weight"]), nn.Parameter(state["bias"])
        batch_size = 1 if shared_cores else ENCODER_BATCH
        if runtime == "torch":
            return cls(_TorchEncoder(fine_tuned_student(folder, config)), head, config, folder, batch_size)
        path = onnx_encoder(folder, config, quantize=runtime == "onnx-int8")
        encoder = _OnnxEncoder(path, threads or (1 if shared_cores else 0), spin=not shared_cores)
        return cls(encoder, head, config, folder, batch_size)

    @property
    def labels(self) -> list[str]:
        return self.config.labels

    def predict_spans(
        self, texts: Sequence[str], spans: Sequence[Sequence[Span]], batch_size: int | None = None
    ) -> list[SpanPrediction]:
        """Classify each text's character ``spans`` (``(start, end)``, any number per text) in one encoder pass
        per text; texts are batched by length to limit padding, ``batch_size`` at a time (default: as loaded).
        Labels as :func:`nlp.analysis.classifier.decide_spans` decides them. Returns one :class:`SpanPrediction`
        per text, with its spans' pooled states."""
        batch_size = batch_size or self.batch_size
        out: list[SpanPrediction | None] = [None] * len(texts)
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        for start in range(0, len(order), batch_size):
            idx = order[start : start + batch_size]
            batch = encode_spans(
                self.tokenizer, [texts[i] for i in idx], [spans[i] for i in idx], self.config.max_length
            )
            hidden = self.encoder(batch.input_ids, batch.attention_mask)
            pooled = pool_spans(hidden, batch.rows, batch.starts, batch.ends)
            logits = pooled @ self.weight + self.bias
            probs = np.exp(logits - logits.max(1, keepdims=True))
            probs /= probs.sum(1, keepdims=True)
            for b, i in enumerate(idx):
                mine = np.flatnonzero(batch.rows == b)
                out[i] = SpanPrediction(
                    probs[mine].astype(np.float32),
                    decide_spans(
                        probs[mine], spans[i], len(texts[i]), self.config.decision_bias, self.labels
                    ),
                    batch.truncated[b],
                    [batch.span_truncated[k] for k in mine],
                    pooled[mine].astype(np.float32, copy=False),
                )
        return [p for p in out if p is not None]

    def predict(self, texts: Sequence[str], batch_size: int | None = None) -> Prediction:
        """Document sentiment of ``texts``, as :meth:`nlp.analysis.classifier.TextClassifier.predict` returns it."""
        preds = self.predict_spans(texts, [[(0, len(t))] for t in texts], batch_size)
        probs = np.stack([p.probabilities[0] for p in preds]) if preds else np.zeros((0, len(self.labels)))
        return Prediction(probs, [p.labels[0] for p in preds], [p.truncated for p in preds])


def save_student(model: SpanPooledClassifier, config: SpanClassifierConfig, folder: Path) -> None:
    """Write a trained student to ``folder``: int8 deltas of its layers over the base's kept layers
    (:func:`nlp.analysis.classifier.encoder_delta`), its head and ``span_classifier.json``."""
    folder.mkdir(parents=True, exist_ok=True)
    base = student_encoder(config.base_model, config.layers)
    save_file(encoder_delta(model.encoder, base), str(folder / ENCODER_DELTA_FILE))
    save_head(model.head, folder)
    config.save(folder)


def fine_tuned_student(folder: Path, config: SpanClassifierConfig) -> nn.Module:
    """The student encoder of artifact ``folder``: the base's kept layers plus the stored weight deltas."""
    encoder = student_encoder(config.base_model, config.layers)
    add_encoder_delta(encoder, load_file(str(folder / ENCODER_DELTA_FILE)))
    return encoder.eval()


def onnx_encoder(folder: Path, config: SpanClassifierConfig, quantize: bool = True) -> Path:
    """The ONNX file of artifact ``folder``'s encoder (inputs ``input_ids``, ``attention_mask``; output the
    last hidden states ``(B, T, H)``), exported on first use into the cache folder (``REVIEWPULSE_CACHE_DIR``)
    under a hash of the artifact's weights, with int8 weights when ``quantize``."""
    digest = hashlib.sha256((folder / ENCODER_DELTA_FILE).read_bytes() + json.dumps(config.layers).encode())
    target = nlp_settings().cache_dir / "onnx" / f"{config.base_model}-{digest.hexdigest()[:16]}"
    fp32, int8 = target / "encoder.onnx", target / "encoder.int8.onnx"
    path = int8 if quantize else fp32
    if path.exists():
        return path
    target.mkdir(parents=True, exist_ok=True)
    if not fp32.exists():
        _export(fine_tuned_student(folder, config), fp32)
    if quantize:
        from onnxruntime.quantization import QuantType, quantize_dynamic

        partial = int8.with_suffix(".partial")
        quantize_dynamic(str(fp32), str(partial), weight_type=QuantType.QInt8)
        partial.rename(int8)
    return path


class _HiddenStates(nn.Module):
    def __init__(self, encoder: nn.Module) -> None:
        super().__init__()
        self.encoder = encoder

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        return self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state


def _export(encoder: nn.Module, path: Path) -> None:
    partial = path.with_suffix(".partial")
    ids = torch.ones((2, 8), dtype=torch.long)
    torch.onnx.export(
        _HiddenStates(encoder).eval(),
        (ids, torch.ones_like(ids)),
        str(partial),
        input_names=["input_ids", "attention_mask"],
        output_names=["last_hidden_state"],
        dynamic_axes={
            name: {0: "batch", 1: "tokens"} for name in ("input_ids", "attention_mask", "last_hidden_state")
        },
        opset_version=17,
        dynamo=False,
    )
    partial.rename(path)


def load_sentiment_model(
    folder: Path, runtime: str = "onnx-int8", threads: int = 0, shared_cores: bool = False
) -> SpanClassifier | TextClassifier:
    """The sentiment model in artifact ``folder``: a one-pass :class:`SpanClassifier` (served by ``runtime``
    on ``threads`` ONNX Runtime threads, with or without ``shared_cores``: see :class:`SpanClassifier`) or a
    :class:`nlp.analysis.classifier.TextClassifier` that reads each span separately. Both offer ``predict`` and
    ``predict_spans``. Raises as their ``load``."""
    if (Path(folder) / SPAN_CONFIG_FILE).exists():
        return SpanClassifier.load(folder, runtime, threads, shared_cores)
    return TextClassifier.load(folder)
