"""Tests for nlp.analysis.pii: what is redacted, what is left alone, offsets, precedence and idempotence."""

from __future__ import annotations

import random
from itertools import pairwise

import pytest

from nlp.analysis.pii import PiiSpan, find_pii, overlaps_placeholder, redact_pii

EMAILS = [
    "jane@example.com",
    "jane.doe@example.com",
    "jane.doe+shop@mail.example.co.uk",
    "j_smith-99@sub.domain.org",
]
PHONES = [
    "+1 (555) 123-4567",
    "555-123-4567",
    "(555) 123 4567",
    "555.123.4567",
    "1-800-555-0199",
    "+44 20 7946 0958",
    "+49 30 1234567",
    "07911 123456",
    "020 7946 0958",
]
CARDS = [
    "4111 1111 1111 1111",
    "4111-1111-1111-1111",
    "4111111111111111",
    "5555 5555 5555 4444",
    "3782 822463 10005",
    "4222222222222",
]
NEGATIVES = [
    "It cost $49.99 on sale.",
    "Paid 1,299 for the set.",
    "Arrived 2024-05-03, ordered 03/05/2024.",
    "I'm 5'8\" and wear a 34B.",
    "Fits like a size 10; jeans 28x30.",
    "order #12345678 never arrived",
    "Order 12345678 was late",
    "order #555-123-4567 is my order number",
    "order 555-123-4567 again",
    "ticket # 020 7946 0958",
    "Bought my first one in 1999.",
    "Saved 15% and then another +20%.",
    "I'm 5'4\" 120 lbs and ordered a size 4",
    "order 1234 5678 9012 3456",
    "Thanks @jane_doe and @shop.team for the help!",
    "Measurements 34-26-36, waist 5551234",
]


@pytest.mark.parametrize("email", EMAILS)
def test_email_redacted(email: str) -> None:
    assert redact_pii(f"Write to {email} please.") == "Write to [EMAIL] please."


@pytest.mark.parametrize("phone", PHONES)
def test_phone_redacted(phone: str) -> None:
    assert redact_pii(f"Call me at {phone} today") == "Call me at [PHONE] today"


@pytest.mark.parametrize("card", CARDS)
def test_card_redacted(card: str) -> None:
    assert redact_pii(f"My card {card} was charged twice.") == "My card [CARD] was charged twice."


@pytest.mark.parametrize("text", NEGATIVES)
def test_non_pii_left_unchanged(text: str) -> None:
    assert find_pii(text) == []
    assert redact_pii(text) == text


@pytest.mark.parametrize(
    ("digits", "valid"),
    [
        ("4111111111111111", True),
        ("378282246310005", True),
        ("6011000990139424", True),
        ("1234567890123456", False),
        ("4111111111111112", False),
        ("378282246310006", False),
    ],
)
def test_a_card_is_a_card_number_that_passes_the_luhn_check(digits: str, valid: bool) -> None:
    assert (find_pii(f"paid with {digits} today") == [PiiSpan("card", 10, 10 + len(digits))]) is valid


def test_the_luhn_check_is_iso_7812s_for_any_card_length() -> None:
    """python-stdnum's check against the definition (double every second digit from the right, sum the
    digits, a multiple of 10), on random numbers of every card length: the same cards as before it."""
    rng = random.Random(7812)
    for _ in range(3000):
        digits = "".join(rng.choice("0123456789") for _ in range(rng.randint(13, 19)))
        doubled = [int(d) * (2 if i % 2 else 1) for i, d in enumerate(reversed(digits))]
        valid = sum(n // 10 + n % 10 for n in doubled) % 10 == 0
        assert (find_pii(digits) == [PiiSpan("card", 0, len(digits))]) is valid, digits


def test_luhn_failure_is_not_a_card() -> None:
    assert redact_pii("card 4111 1111 1111 1112 declined") == "card 4111 1111 1111 1112 declined"
    assert redact_pii("card 4111 1111 1111 1111 declined") == "card [CARD] declined"


def test_card_takes_precedence_over_overlapping_phone() -> None:
    # With a failing checksum the same shape is an international phone number ...
    assert find_pii("+3782 822463 10006") == [PiiSpan("phone", 0, 18)]
    # ... but a valid card overlapping that phone wins, and no phone span is left beside it.
    assert find_pii("+3782 822463 10005") == [PiiSpan("card", 1, 18)]
    assert redact_pii("+3782 822463 10005") == "+[CARD]"


@pytest.mark.parametrize(
    ("pii", "kind"),
    [(EMAILS[2], "email"), (PHONES[0], "phone"), (PHONES[5], "phone"), (CARDS[0], "card")],
)
def test_offsets_cover_exactly_the_pii(pii: str, kind: str) -> None:
    text = f"Note: {pii}, thanks!"
    spans = find_pii(text)
    assert [(s.kind, text[s.start : s.end]) for s in spans] == [(kind, pii)]


def test_spans_sorted_and_non_overlapping() -> None:
    text = "Card 4111-1111-1111-1111, mail a.b@c.io, phone 555-123-4567, alt +49 30 1234567."
    spans = find_pii(text)
    assert [s.kind for s in spans] == ["card", "email", "phone", "phone"]
    assert all(a.end <= b.start for a, b in pairwise(spans))
    assert [text[s.start : s.end] for s in spans] == [
        "4111-1111-1111-1111",
        "a.b@c.io",
        "555-123-4567",
        "+49 30 1234567",
    ]


def test_pii_span_is_frozen() -> None:
    span = PiiSpan("email", 0, 3)
    with pytest.raises(AttributeError):
        span.start = 1  # type: ignore[misc]


@pytest.mark.parametrize(
    "text",
    [
        "Email jane@example.com or call +1 (555) 123-4567; card 4111 1111 1111 1111.",
        "No PII here, just a size 10 for $49.99.",
        "",
    ],
)
def test_redaction_is_idempotent(text: str) -> None:
    once = redact_pii(text)
    assert redact_pii(once) == once


def test_realistic_review() -> None:
    review = (
        "Love this dress! I'm 5'4\" 120 lbs and ordered a size 4 for $49.99 (order #12345678). "
        "The seller asked me to reach out at jane.doe+shop@mail.example.co.uk or (555) 123 4567 "
        "about the 2024-05-03 delivery. Runs small, 28x30 jeans fit fine."
    )
    expected = (
        "Love this dress! I'm 5'4\" 120 lbs and ordered a size 4 for $49.99 (order #12345678). "
        "The seller asked me to reach out at [EMAIL] or [PHONE] "
        "about the 2024-05-03 delivery. Runs small, 28x30 jeans fit fine."
    )
    assert redact_pii(review) == expected
    assert [s.kind for s in find_pii(review)] == ["email", "phone"]


def test_overlaps_placeholder() -> None:
    text = redact_pii("Card 4111 1111 1111 1111, thanks Anna.")
    start = text.index("[CARD]")
    assert overlaps_placeholder(text, start + 1, start + 5)  # "CARD", as spaCy's recogniser finds it
    assert not overlaps_placeholder(text, text.index("Anna"), text.index("Anna") + 4)
