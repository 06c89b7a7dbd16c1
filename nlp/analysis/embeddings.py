"""Word2Vec review embeddings with phrase detection (gensim).

Two passes of gensim ``Phrases`` (Mikolov et al. 2013, "Distributed Representations of Words and Phrases",
section 4 scoring) turn frequent collocations into single tokens, with English connector words allowed
inside, so ``true to size`` becomes ``true_to_size`` and ``battery life`` becomes ``battery_life``. Word2Vec
(skip-gram) is then trained on the phrased corpus. Stored as ``phrases.pkl`` (frozen phrasers) and
``vectors.kv`` (``KeyedVectors``).
"""

from __future__ import annotations

import pickle
import re
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
from gensim.models import KeyedVectors, Word2Vec
from gensim.models.callbacks import CallbackAny2Vec
from gensim.models.phrases import ENGLISH_CONNECTOR_WORDS, FrozenPhrases, Phrases
from tqdm.auto import tqdm

from nlp.analysis.text import normalize

_TOKEN = re.compile(r"[^\W_]+(?:'[^\W_]+)?")
VECTORS_FILE = "vectors.kv"
PHRASES_FILE = "phrases.pkl"


def tokenize(text: str) -> list[str]:
    """Lower-cased word tokens (Unicode letters and digits, one inner apostrophe) of normalised ``text``."""
    return _TOKEN.findall(normalize(text).lower().replace("\u2019", "'"))


class PhraseEmbeddings:
    """Phrase-aware word vectors: ``phrase(tokens)`` joins collocations, ``vector(text)`` embeds a term.

    ``vectors.vector_size`` dimensions (100 by default), unit-normalised on request.
    """

    def __init__(self, phrasers: Sequence[FrozenPhrases], vectors: KeyedVectors) -> None:
        self.phrasers = list(phrasers)
        self.vectors = vectors

    def phrase(self, tokens: list[str]) -> list[str]:
        for phraser in self.phrasers:
            tokens = phraser[tokens]
        return tokens

    def term_key(self, text: str) -> str:
        """The vocabulary key of a term: ``"Battery Life"`` -> ``"battery_life"``."""
        return "_".join(tokenize(text))

    def vector(self, text: str) -> np.ndarray | None:
        """Unit vector of a term: the phrase token when known, else the mean of its known tokens; else None."""
        key = self.term_key(text)
        if key in self.vectors:
            vec = self.vectors[key]
        else:
            known = [t for t in self.phrase(tokenize(text)) if t in self.vectors]
            if not known:
                return None
            vec = np.mean([self.vectors[t] for t in known], axis=0)
        norm = float(np.linalg.norm(vec))
        return vec / norm if norm else None

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.vectors.save(str(folder / VECTORS_FILE))
        with open(folder / PHRASES_FILE, "wb") as fh:
            pickle.dump(self.phrasers, fh)

    @classmethod
    def load(cls, folder: Path) -> PhraseEmbeddings:
        """Load from an artifact folder. Raises ``FileNotFoundError`` when it is not one."""
        if not (folder / VECTORS_FILE).exists():
            raise FileNotFoundError(f"{folder} holds no {VECTORS_FILE}; run `reviewpulse train embeddings`")
        with open(folder / PHRASES_FILE, "rb") as fh:
            phrasers = pickle.load(fh)  # our own artifact, written by save()
        return cls(phrasers, KeyedVectors.load(str(folder / VECTORS_FILE)))


class _EpochBar(CallbackAny2Vec):
    """A tqdm bar over Word2Vec epochs (gensim itself only logs)."""

    def __init__(self, epochs: int, enabled: bool) -> None:
        self.bar = tqdm(total=epochs, desc="word2vec", unit="epoch", disable=not enabled)

    def on_epoch_end(self, model: Word2Vec) -> None:
        self.bar.update()


def train_embeddings(
    texts: Iterable[str],
    vector_size: int = 100,
    window: int = 5,
    min_count: int = 5,
    epochs: int = 10,
    seed: int = 13,
    progress: bool = True,
) -> PhraseEmbeddings:
    """Detect phrases (bigrams, then trigrams) and train skip-gram Word2Vec on ``texts``.

    Uses one worker thread so the result is reproducible for a given ``seed``.
    """
    sentences = [tokenize(t) for t in tqdm(texts, desc="tokenising", unit="doc", disable=not progress)]
    phrasers = []
    for _ in range(2):
        phrases = Phrases(sentences, min_count=10, threshold=10.0, connector_words=ENGLISH_CONNECTOR_WORDS)
        frozen = phrases.freeze()
        phrasers.append(frozen)
        sentences = [frozen[s] for s in sentences]
    model = Word2Vec(
        sentences,
        vector_size=vector_size,
        window=window,
        min_count=min_count,
        sg=1,
        epochs=epochs,
        seed=seed,
        workers=1,
        callbacks=[_EpochBar(epochs, progress)],
    )
    return PhraseEmbeddings(phrasers, model.wv)
