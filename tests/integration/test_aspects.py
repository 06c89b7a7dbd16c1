"""Tests for nlp.analysis.aspects on real spaCy parses: aspects, opinions, negation, offsets, clauses and terms."""

from __future__ import annotations

from itertools import pairwise

import pytest
from spacy.language import Language
from spacy.tokens import Doc

from nlp.analysis.aspects import AspectMention, aspect_candidates, aspect_terms, clause_spans, extract_aspects
from nlp.analysis.text import load_spacy


@pytest.fixture(scope="module")
def nlp() -> Language:
    return load_spacy()


def _by_text(mentions: list[AspectMention]) -> dict[str, AspectMention]:
    return {m.text.lower(): m for m in mentions}


@pytest.mark.parametrize(
    ("text", "aspect", "opinion"),
    [
        ("The fabric is so soft but it runs small.", "fabric", "so soft"),
        ("This dress runs small.", "dress", "runs small"),
        ("I love the color.", "color", "love"),
        ("The sleeves are long and the battery life is great.", "battery life", "great"),
        ("Soft fabric, fits perfectly.", "fabric", "soft"),
        ("Soft fabric, fits perfectly.", "fabric", "fits perfectly"),
        ("Love the colour, but the zipper broke on day two.", "zipper", "broke"),
        ("The seams came apart after one wash.", "seams", "came apart"),
        ("The print is pretty but the sizing is way off.", "sizing", "way off"),
        ("Runs small, lovely fabric.", "fabric", "lovely"),
    ],
)
def test_aspect_with_opinion(nlp: Language, text: str, aspect: str, opinion: str) -> None:
    mentions = _by_text(extract_aspects(nlp(text)))
    assert aspect in mentions, f"{aspect!r} not among {list(mentions)}"
    opinions = {o.text.lower(): o for o in mentions[aspect].opinions}
    assert opinion in opinions, f"{opinion!r} not among {list(opinions)}"
    assert opinions[opinion].negated is False


def test_aspect_mention_fields(nlp: Language) -> None:
    (mention, fit) = extract_aspects(nlp("The fabric is so soft but it runs small."))
    assert (fit.text, fit.implicit, mention.implicit) == ("runs small", True, False)
    assert (mention.text, mention.offset, mention.length, mention.term) == ("fabric", 4, 6, "fabric")
    assert [o.text for o in mention.opinions] == ["so soft"]


@pytest.mark.parametrize(
    "text", ["The fabric is not soft at all.", "The fabric isn't soft.", "I do not love the color."]
)
def test_negated_opinion(nlp: Language, text: str) -> None:
    mentions = extract_aspects(nlp(text))
    assert len(mentions) == 1
    (opinion,) = mentions[0].opinions
    assert opinion.negated is True
    assert "not" in opinion.text.lower() or "n't" in opinion.text.lower()


OFFSET_TEXTS = [
    "The fabric is so soft but it runs small.",
    "This dress runs small.",
    "I love the color.",
    "The sleeves are long and the battery life is great.",
    "Soft fabric, fits perfectly.\nThe zipper broke although the color is nice.",
]


@pytest.mark.parametrize("text", OFFSET_TEXTS)
def test_offsets_index_the_text(nlp: Language, text: str) -> None:
    doc = nlp(text)
    mentions = extract_aspects(doc)
    assert mentions
    for m in mentions:
        assert doc.text[m.offset : m.offset + m.length] == m.text
        for o in m.opinions:
            assert doc.text[o.offset : o.offset + o.length] == o.text


@pytest.mark.parametrize("text", ["The fabric is not soft at all.", "I do not love the color."])
def test_negated_opinion_offsets_index_the_text(nlp: Language, text: str) -> None:
    doc = nlp(text)
    (mention,) = extract_aspects(doc)
    (opinion,) = mention.opinions
    assert doc.text[opinion.offset : opinion.offset + opinion.length] == opinion.text


def test_mentions_in_text_order(nlp: Language) -> None:
    mentions = extract_aspects(nlp("The sleeves are long and the battery life is great."))
    assert [m.term for m in mentions] == ["sleeve", "battery life"]
    assert mentions[0].offset < mentions[1].offset


@pytest.mark.parametrize(
    "text",
    [
        "I had a lot of things to do.",
        "It took some time and a bit of a way.",
        "Everything was great.",
    ],
)
def test_generic_nouns_are_not_aspects(nlp: Language, text: str) -> None:
    doc = nlp(text)
    assert extract_aspects(doc) == []
    assert aspect_terms(doc) == []


def test_known_terms_make_bare_noun_an_aspect(nlp: Language) -> None:
    doc = nlp("The zipper.")
    assert extract_aspects(doc) == []
    (mention,) = extract_aspects(doc, known_terms={"zipper"})
    assert (mention.text, mention.term, mention.opinions) == ("zipper", "zipper", ())
    assert doc.text[mention.offset : mention.offset + mention.length] == "zipper"


def test_known_terms_do_not_invent_other_aspects(nlp: Language) -> None:
    assert extract_aspects(nlp("The zipper."), known_terms={"button"}) == []


@pytest.mark.parametrize(
    ("text", "clauses"),
    [
        ("The fabric is so soft but it runs small.", ["The fabric is so soft", "but it runs small."]),
        ("The fabric is soft; the zipper broke.", ["The fabric is soft", "; the zipper broke."]),
        (
            "The color is lovely although the fit is off.",
            ["The color is lovely", "although the fit is off."],
        ),
        (
            "Soft fabric but tight sleeves, however the color is nice.",
            ["Soft fabric", "but tight sleeves,", "however the color is nice."],
        ),
        # a comma or an ellipsis ends a clause (issue 27: "lovely" is read apart from "Runs small")
        ("Runs small, lovely fabric.", ["Runs small,", "lovely fabric."]),
        ("Great shirt, poor first impression.", ["Great shirt,", "poor first impression."]),
        (
            "I love the details... only complaint is the fit.",
            ["I love the details...", "only complaint is the fit."],
        ),
        (
            "While the color is pretty, the back is too low.",
            ["While the color is pretty,", "the back is too low."],
        ),
    ],
)
def test_clause_spans_split_at_contrast(nlp: Language, text: str, clauses: list[str]) -> None:
    doc = nlp(text)
    (sentence,) = doc.sents
    spans = clause_spans(sentence)
    assert [doc.text[a:b].strip() for a, b in spans] == clauses
    # Clauses tile the sentence: contiguous, first at its start, last at its end.
    assert spans[0][0] == sentence.start_char
    assert spans[-1][1] == sentence.end_char
    assert all(prev[1] == nxt[0] for prev, nxt in pairwise(spans))


@pytest.mark.parametrize(
    "text",
    [
        "This dress runs small.",
        "I love the color.",
        "But I love the color.",  # a marker at the very start does not cut
        "The butter was thoroughly enjoyable.",  # 'but' inside a word does not cut
    ],
)
def test_clause_spans_without_markers_is_whole_sentence(nlp: Language, text: str) -> None:
    (sentence,) = nlp(text).sents
    assert clause_spans(sentence) == [(sentence.start_char, sentence.end_char)]


def test_clause_spans_use_document_offsets(nlp: Language) -> None:
    doc = nlp("I love the color. The fabric is soft but it runs small.")
    second = list(doc.sents)[1]
    spans = clause_spans(second)
    assert spans[0][0] == second.start_char > 0
    assert [doc.text[a:b].strip() for a, b in spans] == ["The fabric is soft", "but it runs small."]


@pytest.mark.parametrize(
    ("text", "terms"),
    [
        ("The sleeves are too long.", ["sleeve"]),
        ("The battery life is great.", ["battery life"]),
        ("The sleeves are long and the battery life is great.", ["sleeve", "battery life"]),
        ("The zippers broke.", ["zipper"]),
        ("I had a lot of things to do.", []),
    ],
)
def test_aspect_terms_lemmatised(nlp: Language, text: str, terms: list[str]) -> None:
    assert aspect_terms(nlp(text)) == terms


def test_top_is_a_garment_not_a_stop_word(nlp: Language) -> None:
    # spaCy lists "top" as a stop word; as a noun it is the garment
    (mention,) = extract_aspects(nlp("Cute top."))
    assert (mention.text, mention.term, [o.text for o in mention.opinions]) == ("top", "top", ["Cute"])


@pytest.mark.parametrize(
    ("text", "term"),
    [
        ("I love the colour.", "color"),
        ("I love the color.", "color"),
        ("The Colours are lovely.", "color"),
        ("The grey is lovely.", "gray"),
        ("The fibre is soft.", "fiber"),
    ],
)
def test_spelling_variants_are_one_term(nlp: Language, text: str, term: str) -> None:
    assert [m.term for m in extract_aspects(nlp(text))] == [term]
    assert term in aspect_terms(nlp(text))


def test_aspect_terms_include_nouns_without_opinions(nlp: Language) -> None:
    doc: Doc = nlp("The zipper.")
    assert aspect_terms(doc) == ["zipper"]
    assert extract_aspects(doc) == []


def test_an_adjective_after_a_fit_verb_is_its_complement_not_the_next_nouns(nlp: Language) -> None:
    """spaCy parses "Runs small, lovely fabric." with ``small`` as an adjective of ``fabric`` (issue 27)."""
    mentions = extract_aspects(nlp("Runs small, lovely fabric."))
    fabric = _by_text(mentions)["fabric"]
    assert [o.text for o in fabric.opinions] == ["lovely"]
    [fit] = [m for m in mentions if m.implicit]
    assert (fit.text, fit.term, [o.text for o in fit.opinions]) == ("Runs small", "fit", ["Runs small"])


@pytest.mark.parametrize(
    ("text", "opinion"),
    [
        ("It runs very small.", "runs very small"),
        ("Runs large.", "Runs large"),
        ("It fits true to size.", "fits true to size"),
        ("Fits perfectly!", "Fits perfectly"),
        ("Does it run small?", "run small"),  # spaCy: "small" an adverb of "run"
        ("Is it true to size?", "true to size"),
        ("True to size!", "True to size"),
        ("It is not true to size.", "not true to size"),
        ("The medium fits well.", "fits well"),  # a size label stands for the garment: no named target
    ],
)
def test_fit_opinion_without_a_noun_target_is_implicit(nlp: Language, text: str, opinion: str) -> None:
    [mention] = extract_aspects(nlp(text))
    assert mention.implicit and mention.term == "fit" and mention.text == opinion
    assert text[mention.offset : mention.offset + mention.length] == opinion


@pytest.mark.parametrize(
    "text",
    ["This dress runs small.", "I run every morning.", "It fits in my bag.", "The dress is true to size."],
)
def test_no_implicit_fit_with_a_noun_subject_or_without_a_complement(nlp: Language, text: str) -> None:
    assert not [m for m in extract_aspects(nlp(text)) if m.implicit]


@pytest.mark.parametrize(
    ("text", "opinion"),
    [
        ("It is so comfortable.", "so comfortable"),
        ("It's soft and cozy.", "cozy"),
        ("I am very comfortable in it.", "very comfortable"),
        ("Not comfortable at all.", "Not comfortable"),
        ("This is a bit itchy.", "itchy"),
    ],
)
def test_comfort_opinion_without_a_noun_target_is_implicit(nlp: Language, text: str, opinion: str) -> None:
    """Brand-manager QA: a dress's 57 reviews saying it is comfortable gave the comfort category 8 mentions."""
    [mention] = [m for m in extract_aspects(nlp(text)) if m.implicit]
    assert mention.term == "comfort" and mention.text == opinion
    assert text[mention.offset : mention.offset + mention.length] == opinion


@pytest.mark.parametrize(
    "text", ["This dress is very comfortable.", "A comfy dress.", "The comfortable one sold out."]
)
def test_no_implicit_comfort_where_a_noun_is_its_target(nlp: Language, text: str) -> None:
    assert not [m for m in extract_aspects(nlp(text)) if m.implicit]


@pytest.mark.parametrize(
    ("text", "aspect", "opinion"),
    [
        # the reviewer's judgement of a preposition's object, or a judgement placed in a part of the garment
        ("I'm really happy with the quality.", "quality", "really happy"),
        ("Not sure about the tassels at the sleeves.", "tassels", "not sure"),
        ("I was disappointed in the fabric.", "fabric", "disappointed"),
        ("It is a little too full around the hem.", "hem", "too full"),
        # a conjunct shares its coordination's opinion
        ("The color and fabric are pretty.", "fabric", "pretty"),
        ("I love the long length and the side slits.", "side slits", "love"),
        # objects that are the product, an attribute it has, or a part named with it keep their adjectives
        ("I wore this beautiful top to a wedding.", "top", "beautiful"),
        ("It is soft and has a beautiful flow.", "flow", "beautiful"),
        ("Great dress with a horrible zipper.", "zipper", "horrible"),
        ("The v-neckline is deep.", "v-neckline", "deep"),  # the word spaCy splits at its hyphen
    ],
)
def test_opinion_rules_of_issue_27(nlp: Language, text: str, aspect: str, opinion: str) -> None:
    mentions = _by_text(extract_aspects(nlp(text)))
    assert aspect in mentions, f"{aspect!r} not among {list(mentions)}"
    assert opinion in [o.text.lower() for o in mentions[aspect].opinions]


@pytest.mark.parametrize(
    ("text", "aspect", "opinion", "not_aspects"),
    [
        # a compound of a compound is part of the name; a colour noun's compound is its value
        ("The baby doll style fit loosely.", "baby doll style", None, {"doll style", "style"}),
        ("The ivory color was a little too yellow for me.", "color", "too yellow", {"ivory color"}),
        # a predicate noun with an adjective describes its subject, which is the target
        ("The sleeves are the perfect length.", "sleeves", "perfect", {"length"}),
        ("The fabric has a substantial weight and it's lined.", "fabric", "substantial", {"weight"}),
        ("The pattern is a good scale for a strong frame.", "pattern", "good", {"scale"}),
        # ... but the product itself named with "this" has its attribute judged, and a verb without a subject
        # of its own keeps its object
        ("This blouse is a beautiful color.", "color", "beautiful", {"blouse"}),
        ("The length is just right and has a beautiful flow to it.", "flow", "beautiful", set()),
    ],
)
def test_compound_names_and_predicate_nouns(
    nlp: Language, text: str, aspect: str, opinion: str | None, not_aspects: set[str]
) -> None:
    mentions = _by_text(extract_aspects(nlp(text)))
    assert aspect in mentions and not not_aspects & set(mentions), list(mentions)
    assert opinion is None or opinion in [o.text.lower() for o in mentions[aspect].opinions]


@pytest.mark.parametrize(
    ("text", "opinion_noun"),
    [
        ("I saw this shirt and it was love at first sight.", "love"),
        ("Romantic flowy beauty.", "beauty"),
        ("I get compliments every time I wear it.", "compliments"),
    ],
)
def test_a_noun_that_is_an_opinion_is_no_aspect(nlp: Language, text: str, opinion_noun: str) -> None:
    known = {"love", "beauty", "compliment"}
    assert opinion_noun not in _by_text(extract_aspects(nlp(text), known_terms=known))


def test_fit_is_an_aspect_although_vader_rates_it(nlp: Language) -> None:
    assert "fit" in _by_text(extract_aspects(nlp("The fit is boxy.")))


def test_negated_preposition_opinion(nlp: Language) -> None:
    [mention] = [m for m in extract_aspects(nlp("It doesn't fit at all on the top.")) if not m.implicit]
    [opinion] = mention.opinions
    assert (mention.text, opinion.negated) == ("top", True)


@pytest.mark.parametrize(
    ("text", "not_aspects"),
    [
        ("I usually wear a size 8 and I bought a size medium.", {"size"}),  # sizes worn or ordered
        ("Ordered size large because I weigh 155 pounds.", {"size", "pounds"}),
        ("Sometimes even a small is too large.", {"small"}),  # a size label stands for the garment
        ("It was very tight across my ribs.", {"ribs"}),  # the reviewer's body
        ("I wore it with my tight jeans and boots.", {"jeans", "boots"}),  # the reviewer's other garments
        ("It looks great with skinny jeans.", {"jeans"}),  # what it is worn with, described in passing
        ("I ordered the petite size for a better fit.", {"size", "fit"}),
        ("The model in the pictures must be tall.", {"model", "pictures"}),  # the shop's photos and model
        ("Petite customers should be aware of this.", {"customers"}),
    ],
)
def test_what_is_not_an_aspect_of_the_product(nlp: Language, text: str, not_aspects: set[str]) -> None:
    known = {"size", "pound", "jean", "boot", "rib", "fit", "model", "picture", "customer"}
    mentions = _by_text(extract_aspects(nlp(text), known_terms=known))
    assert not not_aspects & set(mentions), list(mentions)


def test_known_terms_mentioned_in_passing_are_not_aspects(nlp: Language) -> None:
    """A known term as the object of a verb or preposition, with no opinion, is mentioned, not judged; as a
    subject it is what the clause describes (SemEval-2014 annotates it, neutral)."""
    known = {"hem", "knee"}
    mentions = extract_aspects(nlp("The hem comes to just below the knee."), known_terms=known)
    assert [(m.text, m.opinions) for m in mentions] == [("hem", ())]


@pytest.mark.parametrize(
    ("text", "known", "aspect", "opinions"),
    [
        # adjectives that place or count are no opinions; one that places a part names it with its noun
        ("The front section laid strangely.", {"section"}, "front section", []),
        ("My usual size in this brand is too big.", set(), "size", ["too big"]),
        # a fit verb's complement that spaCy reads as an adverb; "enough" belongs to the adjective
        ("This top does run large.", set(), "top", ["run large"]),
        ("The material was thick enough.", set(), "material", ["thick enough"]),
        ("The jacket is not warm enough.", set(), "jacket", ["not warm enough"]),
        # the product named with "this" takes the judgement of a subject-less adjective
        ("So happy with this jacket!", set(), "jacket", ["so happy"]),
        # what the product has is said of it; a known head word makes a named product known
        ("This shirt does not have a lining.", {"lining"}, "lining", []),
        ("This maeve dress caught my eye.", {"dress"}, "maeve dress", []),
        # "back", "front" and "bottom" are spaCy stop words, and parts of a garment
        ("The back is slightly longer than the front.", set(), "back", ["slightly longer"]),
    ],
)
def test_rules_of_issue_27_part_1(
    nlp: Language, text: str, known: set[str], aspect: str, opinions: list[str]
) -> None:
    mentions = _by_text(extract_aspects(nlp(text), known_terms=known))
    assert aspect in mentions, f"{aspect!r} not among {list(mentions)}"
    assert [o.text.lower() for o in mentions[aspect].opinions] == opinions


@pytest.mark.parametrize(
    ("text", "known", "not_aspects"),
    [
        ("There are several different tones of ivory.", set(), {"tones"}),  # counted, not judged
        ("Other reviewers said it runs small.", set(), {"reviewers"}),  # people
        ("My only complaint is the zipper.", {"complaint"}, {"complaint"}),  # the review's framing
        ("It will be perfect this summer.", {"summer"}, {"summer"}),  # a time
        ("It's really not a dress, it's a tunic.", {"dress", "tunic"}, {"dress", "tunic"}),  # what it is
        ("To me it is navy and purple.", {"navy", "purple"}, {"navy", "purple"}),
        ("I have broad shoulders.", {"shoulder"}, {"shoulders"}),  # what the reviewer has
        ("It looks great with jeans.", {"jean"}, {"jeans"}),  # not "this": what it is worn with
    ],
)
def test_what_is_not_an_aspect_issue_27_part_1(
    nlp: Language, text: str, known: set[str], not_aspects: set[str]
) -> None:
    mentions = _by_text(extract_aspects(nlp(text), known_terms=known))
    assert not not_aspects & set(mentions), list(mentions)


def test_there_is_keeps_its_known_noun(nlp: Language) -> None:
    """A predicate noun is no aspect without an opinion, except what "there is": "there are pockets"."""
    mentions = _by_text(extract_aspects(nlp("There are pockets."), known_terms={"pocket"}))
    assert [(m.text, m.opinions) for m in mentions.values()] == [("pockets", ())]


@pytest.mark.parametrize(
    ("text", "term"),
    [
        ("Beautiful maroon top.", "top"),  # a colour value describes the garment; it is not part of its name
        ("The gold thread came loose.", "thread"),
        ("Simple fun dress.", "dress"),  # an evaluative word spaCy tags as a compound noun
        ("The sweater dress is warm.", "sweater dress"),  # a compound that names the garment stays
        ("The top button came off.", "top button"),  # a place adjective names the part
        ("It is a bit wide in the mid section.", "mid section"),
        ("Purchased this top online.", "top"),  # spaCy tags this "top" an adjective, as the object
    ],
)
def test_a_candidate_term_spans_the_words_that_name_it(nlp: Language, text: str, term: str) -> None:
    """The ABSA gold set's span conventions (nlp/data/absa_gold/README.md): the head noun with the words that form
    its name, without descriptive words."""
    candidates = aspect_candidates(nlp(text))
    assert term in [c.mention.text for c in candidates]
    assert not any(term in c.mention.text and c.mention.text != term for c in candidates)
