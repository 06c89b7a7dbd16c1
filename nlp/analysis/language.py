"""Language identification: which language a review is written in, and whether the English models may read it.

The identifier is ``py3langid`` (BSD-3-Clause; a maintained fork of langid.py, Lui & Baldwin 2012, "langid.py:
An Off-the-shelf Language Identification Tool", ACL demos): a multinomial naive Bayes over byte n-grams for
97 languages, whose model (about 4 MB) ships inside the package, so nothing is downloaded at run time. Its
``norm_probs`` posterior is the confidence.

Short texts make language identification unreliable (a few words share n-grams with many languages), so a
text counts as unsupported only when the identifier is confident that it is not English **and** the text is
long enough (:data:`MIN_CONFIDENCE`, :data:`MIN_LETTERS`), or when its letters hold no Latin one (Chinese,
Japanese, Korean, Cyrillic, ...: not English however short or unsure the guess, "非常好" or "Очень красивое
платье", a Russian sentence the identifier gives 0.87). Measured on the women's clothing reviews (all in
English): no review (19,759 with text), no title (17,188; "Too sheer" is guessed Somali at 0.74, "Nice fit for
cool weather" Nigerian Pidgin at 0.83) and no gold-set sentence (434) gets a non-English guess at 0.9 or more,
whatever its length; "Das Kleid ist zu klein." (18 letters) is German at 0.99. A guess below the confidence
bar is no evidence against English, the language the service is built for, so the text is taken as English.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from py3langid.langid import MODEL_FILE
from py3langid.langid import LanguageIdentifier as _NaiveBayesIdentifier

#: The language the sentiment, parse and aspect models read (ISO 639-1).
SUPPORTED = frozenset({"en"})
#: The flag an analysis record carries when its text is in a language the models cannot read.
UNSUPPORTED_LANGUAGE = "unsupported_language"
#: Letters a text needs before a confident non-English guess flags it (about three words).
MIN_LETTERS = 15
#: Posterior probability a non-English guess needs to be taken (else the text is taken as English).
MIN_CONFIDENCE = 0.9


@dataclass(frozen=True)
class LanguageGuess:
    """``language`` (ISO 639-1, e.g. ``"de"``; ``"en"`` when a non-English guess is not confident), the
    identifier's ``confidence`` in its guess (posterior probability, 0..1) and whether the text is
    ``unsupported`` (confidently not English, and long enough to trust that)."""

    language: str
    confidence: float
    unsupported: bool


class LanguageIdentifier:
    """Identify the language of texts, offline.

    Example::

        identify = LanguageIdentifier()
        identify("Das Kleid ist wunderschön, aber leider viel zu klein.")
        # LanguageGuess(language="de", confidence=0.9998, unsupported=True)

    Args:
        min_letters: letters (Unicode alphabetic characters) a text needs before it can be flagged.
        min_confidence: posterior probability a non-English guess needs to be taken.
    """

    def __init__(self, min_letters: int = MIN_LETTERS, min_confidence: float = MIN_CONFIDENCE) -> None:
        self.min_letters = min_letters
        self.min_confidence = min_confidence
        self._model = _NaiveBayesIdentifier.from_model_file(MODEL_FILE, norm_probs=True)

    def __call__(self, text: str) -> LanguageGuess:
        """The :class:`LanguageGuess` of ``text`` (any string; one without letters is English)."""
        guess, probability = self._model.classify(text)
        confidence = float(probability)
        letters = [ch for ch in text if ch.isalpha()]
        if guess not in SUPPORTED and letters and not any(_latin(ch) for ch in letters):
            return LanguageGuess(str(guess), round(confidence, 4), True)
        language = str(guess) if confidence >= self.min_confidence else "en"
        unsupported = language not in SUPPORTED and len(letters) >= self.min_letters
        return LanguageGuess(language, round(confidence, 4), unsupported)


def _latin(letter: str) -> bool:
    return letter.isascii() or unicodedata.name(letter, "").startswith("LATIN")
