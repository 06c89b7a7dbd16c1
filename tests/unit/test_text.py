"""Tests for nlp.text: normalisation, undecodable input, PII redaction, truncation and spaCy parsing."""

from __future__ import annotations

import unicodedata

import pytest
from spacy.tokens import Doc

from nlp.text import TextPreparer, UndecodableTextError, normalize


@pytest.fixture(scope="module")
def preparer() -> TextPreparer:
    return TextPreparer()


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
        ("Tom &amp; Jerry", "Tom & Jerry"),
        ("It&#39;s great", "It's great"),
        ("It&#x27;s great", "It's great"),
        ("&quot;soft&quot;", '"soft"'),
        ("size&nbsp;&nbsp;M", "size M"),
    ],
)
def test_html_entities_unescaped(raw: str, expected: str) -> None:
    assert normalize(raw) == expected


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


def test_prepare_redacts_email() -> None:
    prepared, truncated = TextPreparer(redact_pii=True).prepare(
        "Mail me at jane.doe@example.com &amp; thanks"
    )
    assert prepared == "Mail me at [EMAIL] & thanks"
    assert "@" not in prepared
    assert truncated is False


def test_prepare_without_redaction_keeps_email(preparer: TextPreparer) -> None:
    assert preparer.prepare("Mail jane@example.com") == ("Mail jane@example.com", False)


@pytest.mark.parametrize(
    ("raw", "expected", "truncated"),
    [
        ("Hello wonderful world", "Hello wond", True),
        ("0123456789", "0123456789", False),
        ("short", "short", False),
        ("  Hello   wonderful  ", "Hello wond", True),  # the limit applies to the normalised text
    ],
)
def test_prepare_truncates(raw: str, expected: str, truncated: bool) -> None:
    prepared, was_truncated = TextPreparer(max_chars=10).prepare(raw)
    assert prepared == expected
    assert len(prepared) <= 10
    assert was_truncated is truncated


def test_prepare_raises_on_undecodable(preparer: TextPreparer) -> None:
    with pytest.raises(UndecodableTextError):
        preparer.prepare(b"caf\xe9".decode("utf-8", "surrogateescape"))


def test_parse_sentence_offsets_index_prepared_text(preparer: TextPreparer) -> None:
    raws = [
        "First sentence here.  Second one is great!<br />Third line",
        "Only one &amp; done.",
        "Cafe\u0301 was fine. The   staff were rude.",
    ]
    prepared = [preparer.prepare(r)[0] for r in raws]
    docs = list(preparer.parse(prepared, batch_size=2))
    assert len(docs) == len(prepared)
    for text, doc in zip(prepared, docs, strict=True):
        assert isinstance(doc, Doc)
        assert doc.text == text
        sentences = list(doc.sents)
        assert sentences
        for sent in sentences:
            assert text[sent.start_char : sent.end_char] == sent.text
        assert sentences[0].start_char == 0
        assert sentences[-1].end_char == len(text)
    assert len(list(docs[0].sents)) == 3
    assert [s.text.strip() for s in docs[0].sents][1] == "Second one is great!"


def test_parse_empty_input(preparer: TextPreparer) -> None:
    assert list(preparer.parse([])) == []


def test_openblas_pipeline_parses_exactly_as_the_blis_default(preparer: TextPreparer) -> None:
    import spacy

    from nlp import datasets
    from nlp.paths import SPACY_MODEL

    models = [getattr(pipe, "model", None) for _, pipe in preparer.nlp.pipeline]
    assert {(type(m.ops).__name__, m.ops.use_blis) for m in models if m is not None} == {("NumpyOps", False)}
    blis = spacy.load(SPACY_MODEL)
    texts = datasets.clothing_reviews().text.head(200).map(lambda t: preparer.prepare(t)[0]).tolist()

    def reading(doc: Doc) -> list[tuple]:
        return [
            (t.tag_, t.pos_, t.dep_, t.head.i, t.lemma_, t.ent_iob_, t.ent_type_, t.is_sent_start)
            for t in doc
        ]

    assert [reading(d) for d in preparer.nlp.pipe(texts)] == [reading(d) for d in blis.pipe(texts)]
