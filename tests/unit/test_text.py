"""Tests for nlp.analysis.text's normalisation and undecodable input, without spaCy (``TextPreparer``, which loads
spaCy's pipeline: ``tests/integration/test_text_preparer.py``)."""

from __future__ import annotations

import unicodedata

import pytest

from nlp.analysis.text import UndecodableTextError, normalize


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Great dress<br />Soft fabric", "Great dress\nSoft fabric"),
        ("Great dress<br>Soft fabric", "Great dress\nSoft fabric"),
        ("Great dress<br/>Soft fabric", "Great dress\nSoft fabric"),
        ("Great dress<BR />Soft fabric", "Great dress\nSoft fabric"),
        ("Great dress < br / > Soft fabric", "Great dress\nSoft fabric"),
        ("Great dress&lt;br /&gt;Soft fabric", "Great dress\nSoft fabric"),
    ],
)
def test_br_remnants_become_line_breaks(raw: str, expected: str) -> None:
    assert normalize(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("<p>The <b>fabric</b> is cheap.</p><p>Runs small.</p>", "The fabric is cheap.\n\nRuns small."),
        ('so <a href="https://x.example">soft</a>, <em>really</em>', "so soft , really"),
        ("<div>Nice</div><ul><li>warm</li><li>light</li></ul>", "Nice\n\nwarm\n\nlight"),
    ],
)
def test_an_inline_tag_is_a_space_and_a_block_tag_a_line_break(raw: str, expected: str) -> None:
    """QA: "<p>The <b>fabric</b> is cheap." was the sentence "The\\nfabric\\nis cheap."."""
    assert normalize(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Tom &amp; Jerry", "Tom & Jerry"),
        ("It&#39;s great", "It's great"),
        ("It&#x27;s great", "It's great"),
        ("&quot;soft&quot;", '"soft"'),
        ("size&nbsp;&nbsp;M", "size M"),
        ("i&amp;#39;d say it fits", "i'd say it fits"),  # escaped twice (15 of the clothing reviews)
        ("AT&amp;T &amp;amp; more", "AT&T & more"),
    ],
)
def test_html_entities_unescaped(raw: str, expected: str) -> None:
    assert normalize(raw) == expected
    assert normalize(normalize(raw)) == normalize(raw)  # preparing a prepared text changes nothing


def test_nfc_composes_decomposed_characters() -> None:
    decomposed = "Cafe\u0301 au lait"
    assert unicodedata.is_normalized("NFD", decomposed)
    result = normalize(decomposed)
    assert result == "Caf\u00e9 au lait"
    assert len(result) == len(decomposed) - 1
    assert unicodedata.is_normalized("NFC", result)


def test_nfc_holds_after_zero_width_removal() -> None:
    result = normalize("Cafe\u200b\u0301")
    assert result == "Caf\u00e9"
    assert unicodedata.is_normalized("NFC", result)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("soft    fabric", "soft fabric"),
        ("soft\t\tfabric", "soft fabric"),
        ("soft\u00a0\u2003fabric", "soft fabric"),
        ("  padded text  ", "padded text"),
        ("line one  \n   line two", "line one\nline two"),
    ],
)
def test_whitespace_runs_collapsed(raw: str, expected: str) -> None:
    assert normalize(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("para one\n\n\n\npara two", "para one\n\npara two"),
        ("para one\n \n \n \npara two", "para one\n\npara two"),
        ("para one\r\n\r\n\r\npara two", "para one\n\npara two"),
        ("p1<br /><br /><br />p2", "p1\n\np2"),
        ("para one\n\npara two", "para one\n\npara two"),
        ("line one\nline two", "line one\nline two"),
    ],
)
def test_at_most_one_blank_line(raw: str, expected: str) -> None:
    assert normalize(raw) == expected


@pytest.mark.parametrize("char", ["\u200b", "\u200c", "\u2060", "\ufeff"])
def test_zero_width_characters_stripped(char: str) -> None:
    assert normalize(f"so{char}ft fab{char}ric") == "soft fabric"


def test_zero_width_joiner_kept_inside_emoji_sequences() -> None:
    family = "\U0001f468\u200d\U0001f469\u200d\U0001f467"
    assert normalize(f"gift for the {family}") == f"gift for the {family}"


@pytest.mark.parametrize(
    "text",
    [
        "I <3 this dress",
        "Love it \U0001f60d\U0001f44d",
        "Perfect fit <3 <3",
        "5 stars \u2b50\u2b50\u2b50\u2b50\u2b50",
    ],
)
def test_emoji_and_hearts_kept(text: str) -> None:
    assert normalize(text) == text


@pytest.mark.parametrize(
    "text",
    [
        b"caf\xe9".decode("utf-8", "surrogateescape"),
        "fine text then a lone \udc80 surrogate",
        "\ud83d",
    ],
)
def test_lone_surrogate_raises(text: str) -> None:
    with pytest.raises(UndecodableTextError):
        normalize(text)


def test_undecodable_error_is_a_value_error() -> None:
    assert issubclass(UndecodableTextError, ValueError)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Love it" + "!" * 20_000, "Love it" + "!" * 20),
        ("Wow " + "!?" * 5_000 + " ok", "Wow " + "!?" * 10 + " ok"),
        ("\U0001f60d" * 30, "\U0001f60d" * 20),
        ("Soft!!! Fits well... " + "-" * 21, "Soft!!! Fits well... " + "-" * 20),
        ("=" * 20 + " sizing " + "=" * 20, "=" * 20 + " sizing " + "=" * 20),  # runs of 20 stay whole
    ],
)
def test_long_symbol_runs_are_cut(raw: str, expected: str) -> None:
    """spaCy's tokenizer takes time quadratic in the length of such a run (36 s for 20,000 "!")."""
    assert normalize(raw) == expected
    assert normalize(expected) == expected
