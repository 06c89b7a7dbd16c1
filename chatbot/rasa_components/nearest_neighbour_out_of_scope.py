"""An out-of-scope detector for Rasa's NLU pipeline: nearest neighbours of the message's sentence embedding.

Runs inside Rasa (see ``minilm_featurizer.py`` for how Rasa finds this folder). Placed after the intent
classifier (DIET) and before the ``FallbackClassifier``, it re-routes a message to the out-of-scope intent
when the message's sentence embedding is nearer to its k nearest out-of-scope training examples than to its
k nearest in-scope ones, by more than a margin. The classifier fits the training templates; distance in a
pretrained embedding space does not, so off-topic requests worded like a shop's ("find me a ...") stay near
the off-topic examples. Distance-based out-of-scope detection: Podolskiy et al. 2021, "Revisiting Mahalanobis
Distance for Transformer-Based Out-of-Domain Detection" (AAAI), and Sun et al. 2022, "Out-of-Distribution
Detection with Deep Nearest Neighbors" (ICML), who score by the cosine to the k-th nearest training example.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.classifier import IntentClassifier
from rasa.shared.nlu.constants import (
    INTENT,
    INTENT_NAME_KEY,
    INTENT_RANKING_KEY,
    PREDICTED_CONFIDENCE_KEY,
    TEXT,
)
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

#: File of the persisted training embeddings inside the component's model storage.
INDEX_FILE = "training_embeddings.npz"


def unit_rows(vectors: np.ndarray) -> np.ndarray:
    """``vectors`` ``[n, d]`` with each row scaled to length 1 (zero rows stay zero)."""
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.maximum(norms, 1e-12)


def out_of_scope_margin(
    embeddings: np.ndarray, index: np.ndarray, is_out_of_scope: np.ndarray, k: int = 1
) -> np.ndarray:
    """For each row of ``embeddings`` ``[n, d]`` (unit length): the mean cosine to its ``k`` nearest
    out-of-scope rows of ``index`` ``[m, d]`` (unit length) minus the mean cosine to its ``k`` nearest
    in-scope rows, shape ``[n]``, in [-2, 2]; ``is_out_of_scope`` ``[m]`` marks the out-of-scope rows.
    Raises ValueError when the index has fewer than ``k`` rows of either kind."""
    if min(int(is_out_of_scope.sum()), int((~is_out_of_scope).sum())) < k:
        raise ValueError(f"the index needs at least k={k} out-of-scope and k in-scope training examples")
    cosines = embeddings @ index.T

    def nearest(columns: np.ndarray) -> np.ndarray:
        return np.sort(columns, axis=1)[:, -k:].mean(axis=1)

    return nearest(cosines[:, is_out_of_scope]) - nearest(cosines[:, ~is_out_of_scope])


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class NearestNeighbourOutOfScope(GraphComponent, IntentClassifier):
    """Re-routes a message to ``intent`` (config, default ``out_of_scope``) when the mean cosine of its dense
    sentence feature to its ``k`` nearest training examples of that intent (config, default 1) exceeds the
    mean cosine to its ``k`` nearest training examples of the other intents by more than ``margin`` (config,
    default 0).

    The sentence feature is the dense one of the text attribute (e.g. ``MiniLMFeaturizer``'s); ``featurizers``
    (config) names which featurizers' features to use, all dense ones when empty. The re-routed message's
    ``out_of_scope`` takes the confidence its top intent had, and that intent the one ``out_of_scope`` had,
    so a ``FallbackClassifier`` after it still sees one distribution. Messages the classifier already routes
    to ``intent`` and messages without the feature are left as they are. It must come after the intent
    classifier in the pipeline (like the ``FallbackClassifier``, it does not declare one: Rasa would look
    for it among the components it is trained after).
    """

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        """``intent``, ``margin`` (cosine units), ``k`` (neighbours of each kind) and ``featurizers``."""
        return {"intent": "out_of_scope", "margin": 0.0, "k": 1, "featurizers": []}

    @classmethod
    def validate_config(cls, config: dict[str, Any]) -> None:
        """``margin`` must be a number in [-2, 2] and ``k`` a positive integer; raises ValueError if not."""
        margin, k = config.get("margin"), config.get("k")
        if not isinstance(margin, int | float) or not -2 <= margin <= 2:
            raise ValueError(f"NearestNeighbourOutOfScope: margin must be in [-2, 2], not {margin!r}")
        if not isinstance(k, int) or k < 1:
            raise ValueError(f"NearestNeighbourOutOfScope: k must be a positive integer, not {k!r}")

    def __init__(
        self,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        index: np.ndarray | None = None,
        is_out_of_scope: np.ndarray | None = None,
    ) -> None:
        self.validate_config(config)
        self.config, self.model_storage, self.resource = config, model_storage, resource
        self.index, self.is_out_of_scope = index, is_out_of_scope

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> NearestNeighbourOutOfScope:
        """An untrained detector."""
        return cls(config, model_storage, resource)

    def sentence_embedding(self, message: Message) -> np.ndarray | None:
        """The message's dense sentence feature ``[d]``, or None when it has none."""
        _, sentence = message.get_dense_features(TEXT, self.config["featurizers"] or None)
        return None if sentence is None else np.asarray(sentence.features, dtype=np.float32).reshape(-1)

    def train(self, training_data: TrainingData) -> Resource:
        """Keeps the unit-length sentence features ``[examples, d]`` of the intent examples and which of them
        are of ``intent``; raises ValueError when none has the feature or either kind has fewer than ``k``."""
        rows, labels = [], []
        for example in training_data.intent_examples:
            embedding = self.sentence_embedding(example)
            if embedding is not None:
                rows.append(embedding)
                labels.append(example.get(INTENT) == self.config["intent"])
        if not rows:
            raise ValueError("NearestNeighbourOutOfScope: no training example has a dense sentence feature")
        self.index, self.is_out_of_scope = unit_rows(np.stack(rows)), np.array(labels)
        out_of_scope_margin(self.index[:1], self.index, self.is_out_of_scope, self.config["k"])  # k of each
        with self.model_storage.write_to(self.resource) as directory:
            np.savez(directory / INDEX_FILE, index=self.index, is_out_of_scope=self.is_out_of_scope)
        return self.resource

    @classmethod
    def load(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> NearestNeighbourOutOfScope:
        """The detector as ``train`` persisted it."""
        with model_storage.read_from(resource) as directory:
            stored = np.load(directory / INDEX_FILE)
            return cls(config, model_storage, resource, stored["index"], stored["is_out_of_scope"])

    def process(self, messages: list[Message]) -> list[Message]:
        """Re-routes, in place, each message whose margin exceeds ``margin``."""
        if self.index is None or self.is_out_of_scope is None:
            return messages
        target = self.config["intent"]
        for message in messages:
            intent = message.get(INTENT) or {}
            embedding = self.sentence_embedding(message)
            if embedding is None or intent.get(INTENT_NAME_KEY) == target:
                continue
            margin = out_of_scope_margin(
                unit_rows(embedding[None, :]), self.index, self.is_out_of_scope, self.config["k"]
            )
            if margin[0] > self.config["margin"]:
                self._reroute(message, target)
        return messages

    @staticmethod
    def _reroute(message: Message, target: str) -> None:
        """Swaps the confidences of the top intent and ``target`` and puts ``target`` first."""
        top = dict(message.get(INTENT))
        ranking = [dict(row) for row in message.get(INTENT_RANKING_KEY) or [top]]
        old = next((row for row in ranking if row[INTENT_NAME_KEY] == target), None)
        rerouted = {INTENT_NAME_KEY: target, PREDICTED_CONFIDENCE_KEY: top[PREDICTED_CONFIDENCE_KEY]}
        top[PREDICTED_CONFIDENCE_KEY] = old[PREDICTED_CONFIDENCE_KEY] if old else 0.0
        rest = [row for row in ranking if row[INTENT_NAME_KEY] not in (target, top[INTENT_NAME_KEY])]
        rest.append(top)
        rest.sort(key=lambda row: -row[PREDICTED_CONFIDENCE_KEY])
        message.set(INTENT, rerouted, add_to_output=True)
        message.set(INTENT_RANKING_KEY, [rerouted, *rest], add_to_output=True)
