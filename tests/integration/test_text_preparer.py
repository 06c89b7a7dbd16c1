"""Tests for nlp.analysis.text's ``TextPreparer`` (it loads spaCy's pipeline): PII redaction, truncation, undecodable
input and spaCy parsing, which must match spaCy's stock pipeline (BLIS kernels, its attribute ruler) on the shared
clothing reviews."""

from __future__ import annotations

import pytest
from spacy.tokens import Doc

from nlp.analysis.text import TextPreparer, UndecodableTextError, load_spacy
from nlp.artifacts.paths import nlp_settings
from tests.conftest import needs_datasets


@pytest.fixture(scope="module")
def preparer() -> TextPreparer:
    return TextPreparer()


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


#: Texts for the attribute ruler's rules of two tokens, regular expressions and dependency labels.
RULE_CASES = [
    "Gonna love it y'all, ain't it? Let's go, c'mon, we got ta try it.",
    "I  ain't   nothin' but happy.\n\nThere is a problem; there's none, and it fits me.",
    "Do you have it? I did, but it didn't fit the way I had hoped it would.",
]


@needs_datasets
def test_the_pipeline_parses_exactly_as_spacys_stock_one(preparer: TextPreparer) -> None:
    """OpenBLAS instead of BLIS and the memoised attribute ruler: the same parse, tags, morphology and lemmas."""
    import spacy

    from nlp.analysis.attribute_rules import MemoisedAttributeRuler
    from nlp.artifacts.paths import nlp_settings
    from nlp.training import datasets

    models = [getattr(pipe, "model", None) for _, pipe in preparer.nlp.pipeline]
    assert {(type(m.ops).__name__, m.ops.use_blis) for m in models if m is not None} == {("NumpyOps", False)}
    assert isinstance(preparer.nlp.get_pipe("attribute_ruler"), MemoisedAttributeRuler)
    stock = spacy.load(nlp_settings().spacy_model)
    texts = datasets.clothing_reviews().text.head(600).map(lambda t: preparer.prepare(t)[0]).tolist()
    texts += RULE_CASES

    def reading(doc: Doc) -> list[tuple]:
        return [
            (
                t.tag_,
                t.pos_,
                str(t.morph),
                t.dep_,
                t.head.i,
                t.lemma_,
                t.ent_iob_,
                t.ent_type_,
                t.is_sent_start,
            )
            for t in doc
        ]

    assert [reading(d) for d in preparer.nlp.pipe(texts)] == [reading(d) for d in stock.pipe(texts)]


def test_the_default_pipeline_and_the_same_by_name_are_one_load() -> None:
    assert load_spacy() is load_spacy(nlp_settings().spacy_model)
