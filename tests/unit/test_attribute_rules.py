"""nlp.analysis.attribute_rules against spaCy's own ``AttributeRuler`` on hand-built docs (a blank English
pipeline, no trained model): the same attributes for every kind of rule, precedence included."""

from __future__ import annotations

import spacy
from spacy.tokens import Doc

from nlp.analysis.attribute_rules import MemoisedAttributeRuler, use_memoised_attribute_ruler

RULES = [
    {"patterns": [[{"TAG": "NN"}]], "attrs": {"POS": "NOUN", "MORPH": "Number=Sing"}},
    {"patterns": [[{"TAG": "VBZ"}]], "attrs": {"POS": "VERB", "MORPH": "Number=Sing|Person=3"}},
    {"patterns": [[{"TAG": "RB"}]], "attrs": {"POS": "ADV"}},
    {"patterns": [[{"TAG": "_SP"}]], "attrs": {"POS": "SPACE", "MORPH": "_"}},
    # later rules override earlier ones, attribute by attribute
    {"patterns": [[{"TAG": "VBZ", "LOWER": {"IN": ["is", "'s"]}}]], "attrs": {"POS": "AUX", "LEMMA": "be"}},
    {
        "patterns": [[{"TAG": "RB", "LOWER": {"IN": ["not", "n't"]}}]],
        "attrs": {"POS": "PART", "LEMMA": "not"},
    },
    {"patterns": [[{"DEP": {"NOT_IN": ["det", ""]}, "TAG": {"IN": ["DT"]}}]], "attrs": {"POS": "PRON"}},
    {"patterns": [[{"TAG": "DT"}]], "attrs": {"MORPH": "PronType=Art"}},
    {
        "patterns": [[{"TAG": "VBZ", "LOWER": "gets"}], [{"TAG": "VBD", "LOWER": "got"}]],
        "attrs": {"LEMMA": "get"},
    },
    # these go through spaCy's Matcher: a regular expression, two-token phrases with an index
    {"patterns": [[{"LOWER": {"REGEX": "^n[ou]thin'$"}}]], "attrs": {"LEMMA": "nothing"}},
    {"patterns": [[{"LOWER": "gon"}, {"LOWER": "na"}]], "attrs": {"LEMMA": "go"}, "index": 0},
    {"patterns": [[{"LOWER": "gon"}, {"LOWER": "na"}]], "attrs": {"LEMMA": "to"}, "index": -1},
    {"patterns": [[{"DEP": "expl"}, {"LOWER": "is"}]], "attrs": {"POS": "VERB"}, "index": 1},
    {"patterns": [[{"IS_SPACE": True}]], "attrs": {"TAG": "_SP", "DEP": "dep"}},
]

SENTENCES = [
    (["There", "is", "nothin'", "here"], ["EX", "VBZ", "NN", "RB"], ["expl", "ROOT", "attr", "advmod"]),
    (
        ["It", "'s", "not", "gon", "na", "fit"],
        ["PRP", "VBZ", "RB", "VBG", "TO", "VB"],
        ["nsubj", "aux", "neg", "ROOT", "aux", "xcomp"],
    ),
    (
        ["That", "dress", "gets", "this", "  ", "got"],
        ["DT", "NN", "VBZ", "DT", "SP", "VBD"],
        ["det", "nsubj", "ROOT", "dobj", "", "conj"],
    ),
    (["This", "is", "n't", "it"], ["DT", "VBZ", "RB", "PRP"], ["nsubj", "ROOT", "neg", "attr"]),
]


def _reading(doc: Doc) -> list[tuple]:
    return [(t.pos_, t.tag_, t.lemma_, str(t.morph), t.dep_) for t in doc]


def _docs(nlp) -> list[Doc]:
    return [
        Doc(nlp.vocab, words=words, tags=tags, deps=deps, heads=[0] * len(words))
        for words, tags, deps in SENTENCES
    ]


def test_memoised_rules_set_what_spacys_ruler_sets() -> None:
    nlp = spacy.blank("en")
    stock = nlp.add_pipe("attribute_ruler")
    stock.add_patterns(RULES)
    memoised = MemoisedAttributeRuler(nlp.vocab, stock.patterns)
    expected = [_reading(stock(doc)) for doc in _docs(nlp)]
    assert [_reading(memoised(doc)) for doc in _docs(nlp)] == expected
    assert expected[1][3:5] == [
        ("", "VBG", "go", "", "ROOT"),
        ("", "TO", "to", "", "aux"),
    ]  # the phrase rules ran
    assert expected[0][1][0] == "VERB" and expected[0][2][2] == "nothing"


def test_the_pipeline_gets_the_memoised_ruler_under_the_same_name() -> None:
    nlp = spacy.blank("en")
    nlp.add_pipe("attribute_ruler").add_patterns(RULES)
    use_memoised_attribute_ruler(nlp)
    assert nlp.pipe_names == ["attribute_ruler"]
    assert isinstance(nlp.get_pipe("attribute_ruler"), MemoisedAttributeRuler)
    reference = spacy.blank("en")
    reference.add_pipe("attribute_ruler").add_patterns(RULES)
    assert [_reading(nlp(d)) for d in _docs(nlp)] == [_reading(reference(d)) for d in _docs(reference)]


def test_a_rule_setting_another_attribute_keeps_spacys_ruler() -> None:
    nlp = spacy.blank("en")
    nlp.add_pipe("attribute_ruler").add_patterns(
        [*RULES, {"patterns": [[{"LOWER": "u"}]], "attrs": {"NORM": "you"}}]
    )
    use_memoised_attribute_ruler(nlp)
    assert not isinstance(nlp.get_pipe("attribute_ruler"), MemoisedAttributeRuler)
    use_memoised_attribute_ruler(spacy.blank("en"))  # no ruler: nothing to replace, no error
