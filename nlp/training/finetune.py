"""Fine-tuning of :class:`nlp.analysis.classifier.PooledClassifier` on CPU.

By default parameter-efficient: LoRA (Hu et al. 2021, "LoRA: Low-Rank Adaptation of Large Language Models")
through ``peft`` on every linear layer of the encoder, plus a full linear head. ``full_fine_tune`` trains every
weight of the transformer layers instead (the embeddings and the unused pooler stay frozen, so the artifact
stores only the layers' changes). Length-bucketed batches keep padding low, which matters more
than anything else for speed on two cores. Loss is cross-entropy with square-root-balanced class weights;
decision biases are then tuned on the validation split for macro-F1 (:func:`nlp.training.metrics.tune_decision_bias`).
"""

from __future__ import annotations

import math
import random
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file
from torch import nn
from tqdm.auto import tqdm
from transformers import get_linear_schedule_with_warmup, set_seed

from nlp.analysis.classifier import (
    ADAPTER_DIR,
    HEAD_FILE,
    INFERENCE_MAX_LENGTH,
    ClassifierConfig,
    PooledClassifier,
    TextClassifier,
    load_encoder,
    load_fine_tuned_encoder,
    load_tokenizer,
    save_artifact,
)
from nlp.artifacts.base_models import base_model
from nlp.training.config import TrainingConfig
from nlp.training.metrics import BIAS_BOOTSTRAP, tune_decision_bias

#: Bias tuning searches a grid per class; beyond this many classes the arg-max is used unchanged.
MAX_CLASSES_FOR_BIAS_TUNING = 4


def train_layers_only(encoder: nn.Module) -> nn.Module:
    """Make only the transformer layers of a BERT-style ``encoder`` trainable (not embeddings or pooler)."""
    for name, param in encoder.named_parameters():
        param.requires_grad = name.startswith("encoder.")
    return encoder


def optimise(
    model: nn.Module,
    lengths: Sequence[int],
    loss_of: Callable[[list[int]], torch.Tensor],
    *,
    epochs: float,
    batch_size: int,
    learning_rate: float,
    warmup_share: float,
    seed: int,
    desc: str = "fine-tuning",
    progress: bool = True,
) -> None:
    """Train ``model``'s trainable parameters for ``epochs`` over examples of the given ``lengths``.

    Each step takes a batch of example indices (:func:`batches_by_length`), minimises ``loss_of(indices)``
    with AdamW (weight decay 0.01, gradients clipped to norm 1) under transformers'
    ``get_linear_schedule_with_warmup`` (the rate rises from 0 over the first ``warmup_share`` of the steps,
    then falls linearly to 0), and shows the running loss on a tqdm bar. Leaves the model in eval mode.
    """
    trainable = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(trainable, lr=learning_rate, weight_decay=0.01)
    total_steps = max(1, int(math.ceil(len(lengths) / batch_size) * epochs))
    warmup = max(1, int(total_steps * warmup_share))
    scheduler = get_linear_schedule_with_warmup(optimizer, warmup, total_steps)
    rng = random.Random(seed)
    model.train()
    step, running = 0, None
    bar = tqdm(total=total_steps, desc=desc, unit="batch", disable=not progress)
    while step < total_steps:
        for batch_idx in batches_by_length(lengths, batch_size, rng):
            if step >= total_steps:
                break
            loss = loss_of(batch_idx)
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


def batches_by_length(lengths: Sequence[int], batch_size: int, rng: random.Random) -> list[list[int]]:
    """Shuffle, sort by length inside windows of 50 batches, cut into batches, shuffle the batches."""
    order = list(range(len(lengths)))
    rng.shuffle(order)
    window = batch_size * 50
    batches = []
    for start in range(0, len(order), window):
        chunk = sorted(order[start : start + window], key=lambda i: lengths[i])
        batches += [chunk[k : k + batch_size] for k in range(0, len(chunk), batch_size)]
    rng.shuffle(batches)
    return batches


def train_classifier(
    texts: Sequence[str],
    labels: Sequence[str],
    label_names: Sequence[str],
    out_dir: Path,
    config: TrainingConfig,
    validation: tuple[Sequence[str], Sequence[str]] | None = None,
    progress: bool = True,
    init_from: Path | None = None,
    soft_targets: np.ndarray | None = None,
) -> TextClassifier:
    """Fine-tune a LoRA classifier on ``texts`` / ``labels`` and save it to ``out_dir``.

    Args:
        texts, labels: training examples; every label must be in ``label_names``.
        init_from: a classifier artifact whose fine-tune and head training continues from (same labels); a
            LoRA run needs a LoRA artifact, a full fine-tune starts from either kind.
        validation: optional held-out texts and labels for tuning the decision biases.
        soft_targets: optional ``(len(texts), len(label_names))`` target probabilities (rows sum to 1) that
            replace the one-hot labels in the loss; ``labels`` still set the class weights.
        progress: show a tqdm bar on stderr.

    Returns:
        The trained classifier, loaded back from ``out_dir`` (so what is returned is what was saved).

    Raises:
        ValueError: empty data, a label outside ``label_names``, soft targets of the wrong shape, or a LoRA
            run from a full fine-tune.
    """
    from peft import LoraConfig, PeftModel, get_peft_model

    label_names = list(label_names)
    unknown = sorted(set(labels) - set(label_names))
    if not texts or unknown:
        raise ValueError(f"cannot train: {len(texts)} texts, labels not in {label_names}: {unknown[:5]}")
    if soft_targets is not None and soft_targets.shape != (len(texts), len(label_names)):
        raise ValueError(
            f"soft targets of shape {soft_targets.shape}, not ({len(texts)}, {len(label_names)})"
        )
    spec = base_model(config.base_model)
    if init_from is not None and ClassifierConfig.load(init_from).base_model != spec.name:
        raise ValueError(f"{init_from} was not fine-tuned from {spec.name}; pass its own base model")
    set_seed(config.seed)

    tokenizer = load_tokenizer(spec.name)
    if config.full_fine_tune:
        encoder = train_layers_only(
            load_fine_tuned_encoder(init_from, spec.name) if init_from else load_encoder(spec.name)
        )
    elif init_from is not None:
        if not (init_from / ADAPTER_DIR).exists():
            raise ValueError(
                f"{init_from} has no LoRA adapter to continue; continue it with full fine-tuning"
            )
        encoder = PeftModel.from_pretrained(
            load_encoder(spec.name), str(init_from / ADAPTER_DIR), is_trainable=True
        )
    else:
        encoder = get_peft_model(
            load_encoder(spec.name),
            LoraConfig(
                r=config.lora_r,
                lora_alpha=config.lora_alpha,
                lora_dropout=config.lora_dropout,
                target_modules=list(spec.lora_targets),
            ),
        )
    model = PooledClassifier(encoder, len(label_names), base_model=spec.name)
    if init_from is not None:
        model.head.load_state_dict(load_file(str(init_from / HEAD_FILE)))
    encoded = tokenizer(list(texts), truncation=True, max_length=config.max_length)["input_ids"]
    targets = torch.tensor([label_names.index(label) for label in labels])
    loss_targets = targets if soft_targets is None else torch.tensor(soft_targets, dtype=torch.float32)

    counts = Counter(targets.tolist())
    weights = torch.tensor(
        [
            math.sqrt(len(targets) / (len(label_names) * max(counts.get(k, 0), 1)))
            for k in range(len(label_names))
        ]
    )
    loss_fn = nn.CrossEntropyLoss(weight=weights, label_smoothing=config.label_smoothing)

    def loss_of(batch_idx: list[int]) -> torch.Tensor:
        batch = tokenizer.pad({"input_ids": [encoded[i] for i in batch_idx]}, return_tensors="pt")
        return loss_fn(model(batch["input_ids"], batch["attention_mask"]), loss_targets[batch_idx])

    optimise(
        model,
        [len(ids) for ids in encoded],
        loss_of,
        epochs=config.epochs,
        batch_size=config.batch_size,
        learning_rate=config.learning_rate,
        warmup_share=config.warmup_share,
        seed=config.seed,
        progress=progress,
    )

    clf_config = ClassifierConfig(
        labels=label_names,
        max_length=INFERENCE_MAX_LENGTH,
        model_version=config.model_version,
        base_model=spec.name,
    )
    clf = TextClassifier([model], clf_config)
    if validation is not None and len(label_names) <= MAX_CLASSES_FOR_BIAS_TUNING:
        val_probs = clf.predict(list(validation[0])).probabilities
        clf_config.decision_bias = tune_decision_bias(
            val_probs, list(validation[1]), label_names, bootstrap=BIAS_BOOTSTRAP, seed=config.seed
        )
    save_artifact(model, clf_config, out_dir)
    return TextClassifier.load(out_dir)
