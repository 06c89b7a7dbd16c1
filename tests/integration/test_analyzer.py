"""The Analyzer over the committed models: shapes, offsets, errors, negation, PII, real rows."""

from __future__ import annotations

import json
import re

import pytest

from nlp.analysis.analyzer import AnalysisError, Analyzer, ReviewAnalysis
from nlp.training.metrics import classification_report
from tests.conftest import needs_datasets


def _one(analyzer, text: str) -> ReviewAnalysis:
    [result] = analyzer.analyze([text])
    assert isinstance(result, ReviewAnalysis), result
    return result


def test_bad_inputs_become_errors_in_place(analyzer):
    texts = ["Lovely dress, fits perfectly.", "", None, 5, "   \n ", float("nan"), "Terrible, it fell apart."]
    results = analyzer.analyze(texts)
    assert len(results) == len(texts)
    codes = [r.code if isinstance(r, AnalysisError) else "ok" for r in results]
    assert codes == ["ok", "empty_text", "missing_text", "invalid_type", "empty_text", "missing_text", "ok"]
    assert results[0].sentiment.label == "positive"
    assert results[-1].sentiment.label == "negative"


def test_undecodable_bytes_are_an_error(analyzer):
    text = b"Great tea \xff\xfe really".decode("utf-8", "surrogateescape")
    [result] = analyzer.analyze([text])
    assert isinstance(result, AnalysisError) and result.code == "undecodable_text"


def test_scores_are_probabilities_and_offsets_index_the_prepared_text(analyzer):
    result = _one(analyzer, "Great taste<br /><br />Would buy again.  The bag arrived torn, though.")
    assert "<br" not in result.text
    assert len(result.sentences) >= 2
    for item in [result, *result.sentences, *result.aspects]:
        assert sum(item.sentiment.scores.values()) == pytest.approx(1.0, abs=1e-3)
        assert item.sentiment.label in item.sentiment.scores
    for s in result.sentences:
        assert result.text[s.offset : s.offset + s.length] == s.text
    for a in result.aspects:
        assert result.text[a.offset : a.offset + a.length] == a.text
        for o in a.opinions:
            assert o.text.endswith(result.text[o.offset : o.offset + o.length].split()[-1])


def test_mixed_review_gives_each_aspect_its_clause_sentiment(analyzer):
    result = _one(analyzer, "The fabric is so soft, but the zipper is cheap and broke after one wash.")
    aspects = {a.text: a for a in result.aspects}
    assert aspects["fabric"].sentiment.label == "positive"
    assert [o.text for o in aspects["fabric"].opinions] == ["so soft"]
    assert aspects["zipper"].sentiment.label == "negative"
    assert aspects["fabric"].topic["id"] != -1


def test_aspects_carry_a_category_and_spelling_variants_share_a_term(analyzer):
    from nlp.analysis.categories import CATEGORIES

    result = _one(analyzer, "Runs small, lovely fabric. I love the colour and the grey is pretty. Cute top.")
    categories = {a.text: (a.term, a.category) for a in result.aspects}
    assert categories["fabric"] == ("fabric", "fabric/material")
    assert categories["colour"] == ("color", "colour")
    assert categories["grey"] == ("gray", "colour")
    assert categories["top"] == ("top", "style/look")
    assert all(a.category in CATEGORIES for a in result.aspects)
    assert [a["category"] for a in result.to_dict()["aspects"]] == [a.category for a in result.aspects]


def test_a_german_review_is_flagged_and_not_read_as_english(analyzer):
    german, english = analyzer.analyze(
        ["Das Kleid ist wunderschön, aber leider viel zu klein. Ich schicke es zurück.", "Runs small, sadly."]
    )
    assert isinstance(german, ReviewAnalysis) and isinstance(english, ReviewAnalysis)
    record = german.to_dict()
    assert (record["language"], record["flags"]) == ("de", ["unsupported_language"])
    assert record["sentiment"]["label"] == "neutral"
    assert max(record["sentiment"]["scores"].values()) - min(record["sentiment"]["scores"].values()) < 1e-3
    assert (record["sentences"], record["aspects"], record["entities"]) == ([], [], [])
    assert [t["id"] for t in record["topics"]] == [-1]
    assert (english.language, english.flags) == ("en", [])


def test_document_sentiment_only_flags_another_language_too():
    """``--only sentiment`` gave French and German reviews a confident English reading (QA finding)."""
    from nlp.analysis.analyzer import Analyzer, DocumentSentiment

    texts = ["Manteau très chaud et bien coupé. La couleur est magnifique.", "Runs small, sadly.", " "]
    french, english, empty = Analyzer(only="sentiment").analyze(texts)
    assert isinstance(french, DocumentSentiment) and isinstance(english, DocumentSentiment)
    assert (french.language, french.flags, french.sentiment.label) == (
        "fr",
        ["unsupported_language"],
        "neutral",
    )
    assert set(french.sentiment.scores.values()) == {0.3333}
    assert (english.language, english.flags, english.sentiment.label) == ("en", [], "negative")
    assert isinstance(empty, AnalysisError)


@pytest.mark.parametrize("text", ["ok", "Love it!", "Too sheer", "Cute top.", "Yes yes yes!", "n/a"])
def test_short_english_reviews_are_not_flagged_as_another_language(analyzer, text):
    result = _one(analyzer, text)
    assert result.language == "en" and "unsupported_language" not in result.flags


def test_texts_without_an_opinion_are_flagged_and_read_neutral_without_confidence(analyzer):
    """Issue 27: "ok" read negative 0.49, "n/a" negative 0.88, the birthday sentence positive 0.90."""
    texts = ["ok", "n/a", "I bought this for my sister's birthday last week.", "Love it!", "Runs small."]
    *empty, loved, small = analyzer.analyze(texts)
    for result in empty:
        record = result.to_dict()
        assert (record["language"], record["flags"]) == ("en", ["no_opinion"]), record
        assert record["sentiment"] == {
            "label": "neutral",
            "scores": dict.fromkeys(("negative", "neutral", "positive"), 0.3333),
        }
        assert all(s["sentiment"] == record["sentiment"] for s in record["sentences"])
    assert (loved.flags, loved.sentiment.label) == ([], "positive")
    assert small.flags == [] and small.sentiment.label != "positive"


def test_a_sentence_without_an_opinion_reads_neutral_without_confidence_in_a_review_that_has_one(analyzer):
    result = _one(analyzer, "Love this dress, the colour is gorgeous. I ordered a medium on Tuesday.")
    loved, ordered = result.sentences
    assert result.flags == [] and result.sentiment.label == "positive"
    assert loved.sentiment.label == "positive"
    assert ordered.sentiment.label == "neutral"
    assert ordered.sentiment.scores == dict.fromkeys(("negative", "neutral", "positive"), 0.3333)


def test_sentences_take_their_most_probable_class_and_the_document_its_tuned_decision(
    analyzer, examples_path
):
    """The decision biases are tuned on whole clothing reviews; a sentence is read by its scores alone."""
    import pandas as pd

    texts = pd.read_csv(examples_path)["text"].tolist()
    sentences = [
        s
        for r in analyzer.analyze(texts)
        if isinstance(r, ReviewAnalysis) and len(r.sentences) > 1
        for s in r.sentences
        if len(set(s.sentiment.scores.values())) == len(s.sentiment.scores)  # not the flat no-reading
    ]
    assert len(sentences) > 100
    assert all(s.sentiment.label == max(s.sentiment.scores, key=s.sentiment.scores.get) for s in sentences)
    text = "This is my second bag. Same roast as before and it tastes the same, which is rare these days. Shipping was quick."
    shipping = _one(analyzer, text).sentences[-1]  # negative 0.34, positive 0.57: was called negative
    assert (shipping.text, shipping.sentiment.label) == ("Shipping was quick.", "positive")


def test_negation_flips_the_aspect(analyzer):
    result = _one(analyzer, "The fabric is not soft at all.")
    [fabric] = [a for a in result.aspects if a.text == "fabric"]
    assert fabric.opinions[0].negated and "not" in fabric.opinions[0].text
    assert fabric.sentiment.label == "negative"


@pytest.mark.parametrize(
    ("text", "aspect", "polarity"),
    [
        ("I ordered my usual size. I am not sure about the tassels at the sleeves.", "tassels", "negative"),
        ("This sweater runs a bit large around the bottom.", "sweater", "negative"),
    ],
)
def test_an_aspect_in_a_toneless_clause_takes_its_opinion_terms_polarity(text, aspect, polarity):
    """Sentences like the ABSA gold set's dev split's whose clause sentiment v6 reads as neutral (the default v9
    reads the first negative): the opinion term's own polarity (nlp.analysis.opinion.opinion_polarity: "not sure",
    "runs a bit large") decides. On the rules' aspects: the learned filter (aspects v1) drops "tassels" here
    (probability 0.38 < 0.45), a gold target it misses, which is not what this test is about."""
    analyzer = Analyzer(sentiment_version="6", aspect_filter=False)
    assert re.fullmatch(r"sentiment-v6\+topics-v\w+", analyzer.model_version)  # no aspects model was used
    result = _one(analyzer, text)
    [found] = [a for a in result.aspects if a.text == aspect]
    clause = next(s for s in result.sentences if s.offset <= found.offset < s.offset + s.length)
    assert (clause.sentiment.label, found.sentiment.label) == ("neutral", polarity)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "The sleeves are a little long and the hem is uneven, but I love the print.",
            {"sleeves": "negative", "hem": "negative", "print": "positive"},
        ),
        ("The material is a bit thin for the price.", {"material": "negative"}),
        ("The zipper is a bit hard to pull up.", {"zipper": "negative"}),
    ],
)
def test_the_polarity_head_reads_mild_criticism_the_clause_reads_neutral(analyzer, text, expected):
    """Issue 27: criticism of an aspect was read neutral (the largest error class on the ABSA gold set's train
    split); the registered polarity head (aspects v3) reads the same clause state as negative."""
    assert analyzer.aspect_polarity is not None
    assert {a.text: a.sentiment.label for a in _one(analyzer, text).aspects} == expected
    head, analyzer.aspect_polarity = analyzer.aspect_polarity, None
    try:
        clause = {a.text: a.sentiment.label for a in _one(analyzer, text).aspects}
    finally:
        analyzer.aspect_polarity = head
    assert {label for term, label in clause.items() if expected[term] == "negative"} == {"neutral"}


def test_a_polarity_head_fitted_on_another_encoder_is_not_used():
    """The head reads the states of the encoder it was fitted on (sentiment v9); with v6 the clause reading stays."""
    analyzer = Analyzer(sentiment_version="6", entities=False)
    assert analyzer.aspect_filter is not None and analyzer.aspect_polarity is None
    result = _one(analyzer, "The zipper is a bit hard to pull up.")
    analyzer.close()
    [aspect], [sentence] = (
        result.aspects,
        result.sentences,
    )  # one clause: the aspect's is the sentence's reading
    assert aspect.sentiment.scores == sentence.sentiment.scores


def test_aspect_categories_are_the_analysis_aspects_without_the_encoders(analyzer, request):
    text = "The fabric is so soft but the sleeves are too long and the color faded."
    expected = {a.term: a.category for a in _one(analyzer, text).aspects}
    request.getfixturevalue("no_sentiment_encoder")
    assert set(expected) == {"fabric", "sleeve", "color"} and analyzer.aspect_categories(text) == expected
    assert analyzer.aspect_categories("   ") == {} and analyzer.aspect_categories(None) == {}


def test_a_product_named_in_a_question_is_not_the_aspect_asked_about(analyzer):
    """QA (issue 27): "does the linen dress run small?" was answered about fabric, since "linen dress" reads as
    fabric/material; the noun naming the product is the aspect, judged by what is asked of it."""
    for question, expected in [
        ("does the linen dress run small?", {"dress": "fit/size"}),
        ("does the cotton shirt run large?", {"shirt": "fit/size"}),
        ("is the sleeve length too long?", {"sleeve length": "fit/size"}),  # no product: the whole term
    ]:
        assert analyzer.aspect_categories(question) == expected, question


def test_topics_and_model_version(analyzer):
    result = _one(analyzer, "Runs small and the sleeves are too long. The color is gorgeous.")
    assert result.model_version == analyzer.model_version
    assert re.fullmatch(r"sentiment-v\w+\+aspects-v\w+\+topics-v\w+", result.model_version)
    assert result.topics and result.topics[0].id != -1
    assert sum(t.score for t in result.topics) == pytest.approx(1.0, abs=1e-3)
    off_topic = _one(analyzer, "Hello? Can anyone hear me?")
    assert [t.id for t in off_topic.topics] == [-1]


def test_pii_is_redacted_everywhere(analyzer):
    from nlp.analysis.analyzer import Analyzer

    redacting = Analyzer(redact_pii=True)
    text = "Email me at jane.doe@example.com or call 555-123-4567, the coat is lovely."
    [result] = redacting.analyze([text])
    dumped = json.dumps({"text": result.text, **result.to_dict()})
    assert "jane.doe" not in dumped and "555-123-4567" not in dumped
    assert "[EMAIL]" in result.text and "[PHONE]" in result.text
    [carded] = redacting.analyze(
        ["Email me at jane.doe@example.com, card 4111 1111 1111 1111. Lovely dress."]
    )
    assert "[CARD]" in carded.text
    assert carded.entities is not None and not [e for e in carded.entities if "CARD" in e.text]  # was an ORG


def test_long_text_is_truncated_and_says_so(analyzer):
    long_text = "The fabric is soft and the fit is great. " * 120
    result = _one(analyzer, long_text)
    assert result.truncated and result.to_dict()["truncated"] is True
    assert "truncated" not in _one(analyzer, "Nice.").to_dict()
    # a trailing bidi mark is not text left unread (QA finding)
    assert "truncated" not in _one(analyzer, "great dress\u202c").to_dict()


def test_emoji_carry_sentiment(analyzer):
    assert _one(analyzer, "😍😍😍").sentiment.label == "positive"
    assert _one(analyzer, "🤮 awful").sentiment.label == "negative"


@needs_datasets
def test_real_held_out_rows(analyzer):
    from nlp.training.datasets import clothing_reviews

    clothing = clothing_reviews()
    rows = clothing[clothing.split == "test"].head(300)
    results = analyzer.analyze(rows["text"].tolist())
    assert all(isinstance(r, ReviewAnalysis) for r in results)
    report = classification_report(
        rows["label"].tolist(), [r.sentiment.label for r in results], analyzer.sentiment.labels
    )
    # The model card reports the full test split; this guards against a broken artifact or pipeline.
    assert report["macro_f1"] >= 0.6, report
    assert sum(bool(r.aspects) for r in results) / len(results) > 0.8


def test_without_entities_the_records_are_the_same_but_for_entities(analyzer):
    """``Analyzer(entities=False)`` (``score --no-entities``, the store's loader) skips the entity recogniser
    and nothing else: every other field of every record is unchanged."""
    from nlp.analysis.analyzer import Analyzer

    texts = [
        "Ordered the Maeve dress from Anthropologie in March for $98; the zipper broke by Friday.",
        "Runs small, lovely fabric.",
        "Das Kleid ist wunderschön und passt perfekt.",
        "",
    ]
    lean = Analyzer(entities=False)
    try:
        with_entities, without = analyzer.analyze(texts), lean.analyze(texts)
    finally:
        lean.close()
    assert with_entities[0].entities, "the first text names entities"
    for full, bare in zip(with_entities[:3], without[:3], strict=True):
        assert bare.entities is None and "entities" not in bare.to_dict()
        assert bare.to_dict() == {k: v for k, v in full.to_dict().items() if k != "entities"}
    assert isinstance(without[3], AnalysisError) and without[3].code == "empty_text"
