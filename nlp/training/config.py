"""The hyper-parameters of the training recipes, in one light module: the recipes train with them and the CLI
shows them as its defaults without importing torch."""

from __future__ import annotations

from dataclasses import dataclass

from nlp.artifacts.base_models import DEFAULT_BASE_MODEL


@dataclass
class TrainingConfig:
    """Hyper-parameters of :func:`nlp.training.finetune.train_classifier`; the defaults are the ones the
    committed sentiment model was trained with."""

    epochs: float = 2.0
    learning_rate: float = 1e-3
    batch_size: int = 32
    #: Training inputs are cut to this many tokens (speed); inference reads up to INFERENCE_MAX_LENGTH.
    max_length: int = 128
    lora_r: int = 16
    lora_alpha: int = 32
    lora_dropout: float = 0.1
    #: Train all transformer-layer weights instead of a LoRA adapter (use a ~10x smaller learning rate).
    full_fine_tune: bool = False
    warmup_share: float = 0.06
    #: Label smoothing of the cross-entropy (Szegedy et al. 2016); keeps intent confidences informative.
    label_smoothing: float = 0.0
    #: Share of a 2- or 4-star review's target moved to neutral (:func:`nlp.training.datasets.soft_sentiment_target`).
    rating_smoothing: float = 0.0
    #: Share moved by the reviewer's recommend flag (:func:`nlp.training.datasets.soft_sentiment_target`).
    recommend_smoothing: float = 0.0
    seed: int = 13
    model_version: str = "1"
    #: The base transformer fine-tuned (:data:`nlp.artifacts.base_models.BASE_MODELS`).
    base_model: str = DEFAULT_BASE_MODEL


#: Intent questions are short: 64 tokens cover all of Bitext and BANKING77. Few epochs and label smoothing
#: keep the model from memorising Bitext's templated phrasing, which made it overconfident on everything.
INTENT_TRAINING = {"epochs": 3.0, "max_length": 64, "label_smoothing": 0.1}


def intent_config(**overrides) -> TrainingConfig:
    """The training configuration of intent models (:data:`INTENT_TRAINING` plus ``overrides``)."""
    return TrainingConfig(**(INTENT_TRAINING | overrides))


@dataclass
class StudentConfig:
    """Hyper-parameters of :func:`nlp.training.distill.train_student`."""

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
    #: Share of a 2- or 4-star review's gold target on neutral (:func:`nlp.training.datasets.soft_sentiment_target`).
    rating_smoothing: float = 0.25
    seed: int = 13
    model_version: str = "6"
    #: Augmented variants of each SST-2 train sentence in the transfer set
    #: (:func:`nlp.training.distill.augment_sentences`).
    augmented: int = 0
    #: Augmented variants of each clothing train review sentence in the transfer set.
    augmented_clothing: int = 0
