"""PII redaction for review text, applied before anything is stored or printed.

Three kinds are caught, each replaced by a placeholder (``[EMAIL]``, ``[PHONE]``, ``[CARD]``):

* **e-mail** -- ``local@domain.tld`` with dots, ``+`` tags and subdomains; ``@username`` mentions are not.
* **card** -- 13-19 digits, contiguous or in groups split by single spaces or hyphens
  (``4111 1111 1111 1111``, ``3782 822463 10005``), that pass the Luhn checksum (ISO/IEC 7812-1,
  python-stdnum's ``luhn``), so
  ``1234 5678 9012 3456`` is not a card. Cards win over phones where the two overlap.
* **phone** -- 7-15 digits in one of three shapes: international ``+CC`` then groups
  (``+44 20 7946 0958``, ``+1 (555) 123-4567``), North American ``555-123-4567`` / ``(555) 123 4567``
  with an optional leading ``1``, and national numbers with a trunk ``0`` and at least one separator
  (``07911 123456``, ``030 1234567``).

Precision comes before recall: prices, dates, sizes, measurements, years, percentages and numbers
introduced by ``order`` / ``order #`` / ``#`` are left alone, and so are bare digit runs that could be
phones (``5551234567``) and seven-digit local numbers (``555-1234``). A card that runs straight into another
number (``4111 1111 1111 1111 2024``) is read as one longer number and is not caught.

Offsets are character offsets into the original ``str`` (end exclusive).

Phones are matched by pattern, not by the ``phonenumbers`` library: with ``Leniency.VALID`` it rejects the
fictional numbers people and tests write (``555-123-4567``, ``07700 900123``) and needs a region for
national numbers; with ``Leniency.POSSIBLE`` it also reads prices, dates, years and order numbers as phones.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from stdnum import luhn

PLACEHOLDERS = {"email": "[EMAIL]", "phone": "[PHONE]", "card": "[CARD]"}

_EMAIL = re.compile(r"(?<![\w.%+-])[A-Za-z0-9._%+-]+@(?:[A-Za-z0-9-]+\.)+[A-Za-z]{2,}\b")
_CARD = re.compile(r"(?<![\w-])(?:\d{4,6}(?:[ -]\d{2,6}){2,4}|\d{13,19})(?![\w-])")
_PHONE = re.compile(
    r"""
    (?<![\w+\#/.,$-])                                   # not glued to a word, price, date or number
    (?:
        \+\d{1,3}(?:[ .-]?(?:\(\d{1,4}\)|\d{1,10})){1,5}             # +CC then groups
      | (?:1[ .-]?)?(?:\([2-9]\d{2}\)[ .-]?|[2-9]\d{2}[ .-])\d{3}[ .-]\d{4}   # North American
      | 0\d{2,4}[ -]\d{3,4}(?:[ -]?\d{3,4})?                         # national, trunk prefix 0
    )
    (?![\w/-]|[.,]\d)
    """,
    re.VERBOSE,
)
_ORDER_PREFIX = re.compile(r"(?:\border\s*(?:\#|no\.?|number)?|\#)\s*:?\s*$", re.IGNORECASE)
_NON_DIGIT = re.compile(r"\D")


@dataclass(frozen=True)
class PiiSpan:
    """One PII match: ``kind`` is ``"email"``, ``"phone"`` or ``"card"``; ``text[start:end]`` is the match."""

    kind: str
    start: int
    end: int


def find_pii(text: str) -> list[PiiSpan]:
    """Find e-mails, card numbers and phone numbers in ``text`` (shapes in the module docstring).

    Returns non-overlapping spans sorted by ``start``, in character offsets with ``end`` exclusive. Where
    candidates overlap, e-mails win over cards and cards over phones.
    """
    spans: list[PiiSpan] = []

    def add(kind: str, match: re.Match[str]) -> None:
        start, end = match.span()
        if all(end <= s.start or start >= s.end for s in spans):
            spans.append(PiiSpan(kind, start, end))

    for m in _EMAIL.finditer(text):
        add("email", m)
    for m in _CARD.finditer(text):
        digits = _NON_DIGIT.sub("", m.group())
        if 13 <= len(digits) <= 19 and luhn.is_valid(digits):
            add("card", m)
    for m in _PHONE.finditer(text):
        n_digits = len(_NON_DIGIT.sub("", m.group()))
        if 7 <= n_digits <= 15 and not _ORDER_PREFIX.search(text[max(0, m.start() - 20) : m.start()]):
            add("phone", m)
    return sorted(spans, key=lambda s: s.start)


def redact_pii(text: str) -> str:
    """Replace each span from :func:`find_pii` with ``[EMAIL]``, ``[PHONE]`` or ``[CARD]``.

    Text without PII comes back unchanged, and redacting twice gives the same result as redacting once.
    """
    parts: list[str] = []
    pos = 0
    for span in find_pii(text):
        parts += [text[pos : span.start], PLACEHOLDERS[span.kind]]
        pos = span.end
    parts.append(text[pos:])
    return "".join(parts)


_PLACEHOLDER = re.compile("|".join(re.escape(p) for p in PLACEHOLDERS.values()))


def overlaps_placeholder(text: str, start: int, end: int) -> bool:
    """Whether ``text[start:end]`` overlaps a placeholder of :func:`redact_pii` (spaCy's recogniser reads
    ``[CARD]`` as an organisation)."""
    return any(m.start() < end and start < m.end() for m in _PLACEHOLDER.finditer(text))
