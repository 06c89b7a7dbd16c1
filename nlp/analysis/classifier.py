"""Transformer text classifier: a base encoder, a LoRA adapter or fine-tuned layers, a mean-pooled linear head.

The same recipe serves document / sentence / aspect sentiment and customer-question intents. An artifact
folder holds only what fine-tuning changed: ``adapter/`` (peft LoRA weights, a few MB) or, after full
fine-tuning of the encoder layers, ``encoder_delta.safetensors`` (fine-tuned minus base weights, matrices
quantised to int8, about 11 MB; the embeddings stay frozen), then ``head.safetensors`` and ``classifier.json``
(labels, max length, decision biases, model version, base model). The base weights are never stored: they
come from the installed base model that ``base_model`` names (:mod:`nlp.artifacts.base_models`). An ensemble artifact
keeps independently trained fine-tunes, possibly of different bases, in ``member-<k>/`` sub-folders (each its
fine-tuned weights, a head and its own model card) and averages their probabilities (Lakshminarayanan et al.
2017, "Simple and Scalable Predictive Uncertainty Estimation using Deep Ensembles").

Mean pooling matches how both sentence-transformers bases were trained, so the head starts from a meaningful
sentence embedding.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import emoji
import joblib
import numpy as np
import torch
from safetensors.torch import load_file, save_file
from torch import nn

from nlp.artifacts.base_models import DEFAULT_BASE_MODEL, base_model_dir

CONFIG_FILE = "classifier.json"
LEXICAL_FILE = "lexical.joblib"
HEAD_FILE = "head.safetensors"
ADAPTER_DIR = "adapter"
ENCODER_DELTA_FILE = "encoder_delta.safetensors"
#: Suffix of the per-row scales stored beside an int8-quantised weight delta.
SCALE_SUFFIX = ".scale"
#: Longest input the base model reads (its position embeddings); longer texts are truncated and flagged.
INFERENCE_MAX_LENGTH = 512


def describe_emoji(text: str) -> str:
    """Emoji spelled out as words (``😍`` -> ``smiling face with heart-eyes``): the base vocabulary has no emoji."""
    if emoji.emoji_count(text) == 0:
        return text
    return emoji.demojize(text, delimiters=(" ", " ")).replace("_", " ")


def mean_pool(hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Average token vectors over the attention mask: ``(B, T, H), (B, T) -> (B, H)``.

    The same arithmetic as sentence-transformers' ``Pooling(mode="mean")`` (masked sum over a count clamped
    at 1e-9; equal to the bit on MiniLM outputs), kept here because importing sentence-transformers costs
    seconds in processes that load a classifier and otherwise never import it (``reviewpulse intent``).
    """
    weights = mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * weights).sum(1) / weights.sum(1).clamp(min=1e-9)


class PooledClassifier(nn.Module):
    """Encoder (optionally peft-wrapped) + mean pooling + dropout + linear head -> logits ``(B, C)``.

    ``base_model`` names the base the encoder was loaded from, so its inputs are tokenized with that base's
    tokenizer.
    """

    def __init__(
        self, encoder: nn.Module, num_labels: int, dropout: float = 0.1, base_model: str = DEFAULT_BASE_MODEL
    ) -> None:
        super().__init__()
        self.encoder = encoder
        self.base_model = base_model
        hidden = int(encoder.config.hidden_size)  # type: ignore[union-attr,arg-type]
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(hidden, num_labels)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        out = self.encoder(input_ids=input_ids, attention_mask=attention_mask)
        return self.head(self.dropout(mean_pool(out.last_hidden_state, attention_mask)))


@dataclass
class ClassifierConfig:
    """What ``classifier.json`` holds besides the weights."""

    labels: list[str]
    max_length: int = INFERENCE_MAX_LENGTH
    #: Added to log-probabilities before the arg-max; tuned on a validation split for macro-F1.
    decision_bias: list[float] = field(default_factory=list)
    model_version: str = "0"
    #: Weight of the transformer's probabilities; ``1 - weight`` goes to the lexical model when one is stored.
    ensemble_weight: float = 1.0
    #: Sub-folders holding the fine-tunes of an ensemble (probabilities averaged); empty: this folder's own.
    members: list[str] = field(default_factory=list)
    #: Base model (:data:`nlp.artifacts.base_models.BASE_MODELS`) of this folder's fine-tune.
    base_model: str = DEFAULT_BASE_MODEL
    #: Base model of each of ``members`` (parallel to it); empty: every member's base is ``base_model``.
    member_base_models: list[str] = field(default_factory=list)

    def fine_tunes(self) -> list[tuple[str, str]]:
        """``(sub-folder, base model)`` of each fine-tune whose probabilities are averaged (``""``: this one)."""
        subs = self.members or [""]
        return list(zip(subs, self.member_base_models or [self.base_model] * len(subs), strict=True))

    def save(self, folder: Path) -> None:
        (folder / CONFIG_FILE).write_text(json.dumps(self.__dict__, indent=2) + "\n")

    @classmethod
    def load(cls, folder: Path) -> ClassifierConfig:
        return cls(**json.loads((folder / CONFIG_FILE).read_text()))


@dataclass
class Prediction:
    """Class probabilities ``(N, C)`` (rows sum to 1), decided labels, and which inputs were truncated."""

    probabilities: np.ndarray
    labels: list[str]
    truncated: list[bool]


@dataclass
class SpanPrediction:
    """The spans of one text: probabilities ``(S, C)``, decided labels, whether the text was longer than the
    model reads, per span whether it lay past that point and, from a one-pass span model, each span's pooled
    encoder state ``(S, H)`` (None from a model that reads spans as texts of their own)."""

    probabilities: np.ndarray
    labels: list[str]
    truncated: bool
    span_truncated: list[bool]
    states: np.ndarray | None = None


@cache
def load_tokenizer(base: str = DEFAULT_BASE_MODEL):
    """The tokenizer of base model ``base`` (loaded once per process). Raises as :func:`base_model_dir`."""
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(base_model_dir(base)))


def load_encoder(base: str = DEFAULT_BASE_MODEL) -> nn.Module:
    """A fresh copy of base model ``base``'s encoder. Raises as :func:`base_model_dir`."""
    from transformers import AutoModel

    return AutoModel.from_pretrained(str(base_model_dir(base)))


class TextClassifier:
    """A fine-tuned classifier loaded from an artifact folder, ready for batched CPU inference.

    Example::

        clf = TextClassifier.load(Path("models/sentiment/v5"))
        pred = clf.predict(["runs small but so soft"])   # pred.probabilities.shape == (1, 3)

    Raises:
        FileNotFoundError: ``folder`` is not a classifier artifact.
    """

    def __init__(self, models: Sequence[PooledClassifier], config: ClassifierConfig, lexical=None) -> None:
        #: the fine-tunes whose probabilities are averaged (one unless the artifact is an ensemble)
        self.models = [model.eval() for model in models]
        self.config = config
        #: optional scikit-learn pipeline (TF-IDF + logistic regression) blended into the probabilities
        self.lexical = lexical

    @classmethod
    def load(cls, folder: Path) -> TextClassifier:
        folder = Path(folder)
        if not (folder / CONFIG_FILE).exists():
            raise FileNotFoundError(
                f"{folder} is not a classifier artifact (no {CONFIG_FILE}); train one first"
            )
        config = ClassifierConfig.load(folder)
        models = [
            _load_fine_tune(folder / sub, len(config.labels), base) for sub, base in config.fine_tunes()
        ]
        lexical = joblib.load(folder / LEXICAL_FILE) if (folder / LEXICAL_FILE).exists() else None
        return cls(models, config, lexical)

    @property
    def labels(self) -> list[str]:
        return self.config.labels

    @torch.inference_mode()
    def predict(self, texts: Sequence[str], batch_size: int = 64) -> Prediction:
        """Classify ``texts`` (any number; batched by length to limit padding).

        Probabilities are the mean over the ensemble's fine-tunes; when a lexical model is stored, they are
        blended with its probabilities by ``ensemble_weight``.
        Emoji are spelled out first. Texts longer than ``config.max_length`` tokens are cut to it;
        ``Prediction.truncated`` says which. Members on different bases read their own base's tokens.
        """
        texts = [describe_emoji(t) for t in texts]
        n = len(texts)
        probs = np.zeros((n, len(self.labels)), dtype=np.float32)
        truncated = [False] * n
        order = sorted(range(n), key=lambda i: len(texts[i]))
        for start in range(0, n, batch_size):
            idx = order[start : start + batch_size]
            batches = {}
            for base in {model.base_model for model in self.models}:
                tokenizer = load_tokenizer(base)
                ids = tokenizer([texts[i] for i in idx], truncation=False, verbose=False)["input_ids"]
                limit = self.config.max_length
                for j, i in enumerate(idx):
                    if len(ids[j]) > limit:  # keep the head of the text and the closing separator
                        truncated[i] = True
                        ids[j] = [*ids[j][: limit - 1], ids[j][-1]]
                batches[base] = tokenizer.pad({"input_ids": ids}, return_tensors="pt")
            members = [
                model(batches[model.base_model]["input_ids"], batches[model.base_model]["attention_mask"])
                for model in self.models
            ]
            probs[idx] = torch.stack([torch.softmax(m.float(), dim=-1) for m in members]).mean(0).numpy()
        if self.lexical is not None and n:
            weight = self.config.ensemble_weight
            lexical = lexical_probabilities(self.lexical, texts, self.labels)
            probs = (weight * probs + (1 - weight) * lexical).astype(np.float32)
        return Prediction(probs, self.decide(probs), truncated)

    def predict_spans(
        self, texts: Sequence[str], spans: Sequence[Sequence[tuple[int, int]]], batch_size: int = 64
    ) -> list[SpanPrediction]:
        """Classify each text's character ``spans`` by reading every distinct span as a text of its own (the
        cost the one-pass :class:`nlp.analysis.span_classifier.SpanClassifier` avoids), labels as
        :func:`decide_spans` decides them. One prediction per text."""
        segments: dict[str, int] = {}
        keys = [
            [segments.setdefault(text[a:b], len(segments)) for a, b in text_spans]
            for text, text_spans in zip(texts, spans, strict=True)
        ]
        pred = self.predict(list(segments), batch_size=batch_size)
        return [
            SpanPrediction(
                pred.probabilities[k],
                decide_spans(
                    pred.probabilities[k], text_spans, len(text), self.config.decision_bias, self.labels
                ),
                any(pred.truncated[i] for i in k),
                [pred.truncated[i] for i in k],
            )
            for k, text, text_spans in zip(keys, texts, spans, strict=True)
        ]

    def decide(self, probs: np.ndarray) -> list[str]:
        """Arg-max of log-probabilities plus the tuned decision biases -> one label per row."""
        return decide(probs, self.config.decision_bias, self.labels)


def lexical_probabilities(lexical, texts: Sequence[str], labels: Sequence[str]) -> np.ndarray:
    """A scikit-learn classifier's (the TF-IDF blend's) probabilities ``(N, C)`` with columns in ``labels``'
    order (scikit-learn sorts its ``classes_``)."""
    raw = lexical.predict_proba(list(texts))
    order = [list(lexical.classes_).index(label) for label in labels]
    return np.asarray(raw[:, order], dtype=np.float32)


def decide(probs: np.ndarray, bias: Sequence[float] | None, labels: Sequence[str]) -> list[str]:
    """One label per row of ``probs`` ``(N, C)``: arg-max of log-probabilities plus ``bias`` (None = zeros)."""
    offsets = np.asarray(bias or [0.0] * len(labels))
    picks = np.argmax(np.log(np.clip(probs, 1e-12, None)) + offsets, axis=1)
    return [labels[int(k)] for k in picks]


def decide_spans(
    probs: np.ndarray,
    spans: Sequence[tuple[int, int]],
    length: int,
    bias: Sequence[float] | None,
    labels: Sequence[str],
) -> list[str]:
    """Labels of one text's ``spans`` (character ``(start, end)``) from their ``probs`` ``(S, C)``.

    The decision ``bias`` is tuned for macro-F1 on whole clothing reviews, whose classes are skewed, so only a
    span covering the whole text (``(0, length)``: the document) is decided with it; a sentence or clause gets
    its most probable class. The document's bias on SST-2's dev sentences would cost 3 points of accuracy and
    call "Drop-dead gorgeous." negative at 0.61 positive (sentiment v9's card).
    """
    biased, plain = decide(probs, bias, labels), decide(probs, None, labels)
    return [biased[k] if tuple(span) == (0, length) else plain[k] for k, span in enumerate(spans)]


def _load_fine_tune(folder: Path, num_labels: int, base: str) -> PooledClassifier:
    """Base model ``base`` with ``folder``'s LoRA adapter merged in (or its full fine-tune's weight deltas
    added), and ``folder``'s head."""
    model = PooledClassifier(load_fine_tuned_encoder(folder, base), num_labels, base_model=base)
    model.head.load_state_dict(load_file(str(folder / HEAD_FILE)))
    return model


def load_fine_tuned_encoder(folder: Path, base: str = DEFAULT_BASE_MODEL) -> nn.Module:
    """Base model ``base``'s encoder as fine-tuned in artifact ``folder`` (plain, not peft-wrapped).

    Raises:
        FileNotFoundError: ``folder`` holds neither an adapter nor encoder weight deltas, or the base is not
            installed.
    """
    encoder = load_encoder(base)
    if (folder / ENCODER_DELTA_FILE).exists():
        add_encoder_delta(encoder, load_file(str(folder / ENCODER_DELTA_FILE)))
        return encoder
    if not (folder / ADAPTER_DIR).exists():
        raise FileNotFoundError(f"{folder} holds neither {ADAPTER_DIR}/ nor {ENCODER_DELTA_FILE}")
    from peft import PeftModel

    return PeftModel.from_pretrained(encoder, str(folder / ADAPTER_DIR)).merge_and_unload()


def add_encoder_delta(encoder: nn.Module, delta: dict[str, torch.Tensor]) -> None:
    """Add the weight deltas :func:`save_artifact` stored (int8 matrices times their row scales) in place."""
    with torch.no_grad():
        for name, param in encoder.named_parameters():
            if name in delta:
                param.add_(delta[name].float() * delta.get(name + SCALE_SUFFIX, torch.tensor(1.0)))


def fine_tune_bytes(folder: Path) -> int:
    """Bytes of ``folder``'s fine-tune as an ensemble member stores it (adapter or layer deltas, and head)."""
    folder = Path(folder)
    files = [folder / ENCODER_DELTA_FILE, folder / HEAD_FILE, *(folder / ADAPTER_DIR).glob("*")]
    return sum(f.stat().st_size for f in files if f.is_file())


def assemble_ensemble(members: Sequence[Path], folder: Path, model_version: str) -> ClassifierConfig:
    """Copy the fine-tunes of the classifier artifacts ``members`` into one ensemble artifact at ``folder``.

    Member ``k``'s fine-tuned weights (adapter or layer deltas), head and model card go to
    ``folder/member-<k>``; each member's base model is recorded. Lexical blends and decision biases of the
    members are not carried over: they are chosen again for the ensemble. Returns the saved config.

    Raises:
        ValueError: fewer than two members, members with different labels, or a member that is an ensemble.
        FileNotFoundError: a member is not a classifier artifact.
        FileExistsError: ``folder`` already holds a classifier (a member or a registered model).
    """
    if len(members) < 2:
        raise ValueError(f"an ensemble needs at least two members, got {len(members)}")
    folders = [Path(m) for m in members]
    if (Path(folder) / CONFIG_FILE).exists():
        raise FileExistsError(f"{folder} already holds a classifier; choose another --version or --out")
    missing = [str(f) for f in folders if not (f / CONFIG_FILE).exists()]
    if missing:
        raise FileNotFoundError(f"not classifier artifacts (no {CONFIG_FILE}): {', '.join(missing)}")
    configs = [ClassifierConfig.load(f) for f in folders]
    labels = [c.labels for c in configs]
    if any(member_labels != labels[0] for member_labels in labels):
        raise ValueError(f"members disagree on labels: {labels}")
    if any(c.members for c in configs):
        raise ValueError("an ensemble member is itself an ensemble; pass its members instead")
    subs = [f"member-{k}" for k in range(len(members))]
    for member, sub in zip(folders, subs, strict=True):
        (folder / sub).mkdir(parents=True, exist_ok=True)
        if (member / ADAPTER_DIR).exists():
            shutil.copytree(member / ADAPTER_DIR, folder / sub / ADAPTER_DIR, dirs_exist_ok=True)
        for name in (ENCODER_DELTA_FILE, HEAD_FILE, "MODEL_CARD.md"):
            if (member / name).exists():
                shutil.copy2(member / name, folder / sub / name)
    bases = [c.base_model for c in configs]
    config = ClassifierConfig(labels=labels[0], model_version=model_version, members=subs)
    if set(bases) != {config.base_model}:
        config.member_base_models = bases
    config.save(folder)
    return config


def save_artifact(model: PooledClassifier, config: ClassifierConfig, folder: Path) -> None:
    """Write what fine-tuning changed in ``model``, its head and ``config`` to ``folder``.

    A peft-wrapped encoder saves its adapter; a fully fine-tuned one saves, for every trainable encoder
    parameter, its difference from the base weights (:func:`encoder_delta`; each change is off by at most
    1/254 of its row's largest change, which is small beside the weight itself).
    """
    folder.mkdir(parents=True, exist_ok=True)
    if hasattr(model.encoder, "peft_config"):
        model.encoder.save_pretrained(str(folder / ADAPTER_DIR))  # type: ignore[operator]
    else:
        save_file(
            encoder_delta(model.encoder, load_encoder(config.base_model)), str(folder / ENCODER_DELTA_FILE)
        )
    save_head(model.head, folder)
    config.save(folder)


def encoder_delta(encoder: nn.Module, base: nn.Module) -> dict[str, torch.Tensor]:
    """Every trainable parameter of ``encoder`` minus the same-named one of ``base``: matrices as int8 with a
    float32 scale per row (absmax quantisation, as in Dettmers et al. 2022, "LLM.int8()"), vectors float32."""
    base_params = dict(base.named_parameters())
    delta = {}
    for name, param in encoder.named_parameters():
        if param.requires_grad:
            change = (param.detach() - base_params[name].detach()).float()
            if change.dim() == 2:
                scale = change.abs().amax(dim=1, keepdim=True).clamp(min=1e-12) / 127
                delta[name + SCALE_SUFFIX] = scale.contiguous()
                change = torch.round(change / scale).to(torch.int8)
            delta[name] = change.contiguous()
    return delta


def save_head(head: nn.Linear, folder: Path) -> None:
    """Write a classification head's weights to ``folder/head.safetensors``."""
    save_file({k: v.detach().contiguous() for k, v in head.state_dict().items()}, str(folder / HEAD_FILE))
