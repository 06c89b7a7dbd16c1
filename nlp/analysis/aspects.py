"""Aspect (opinion target) and opinion extraction from spaCy dependency parses.

Rule-based in the style of double propagation (Qiu et al. 2011, "Opinion Word Expansion and Target
Extraction through Double Propagation"): nouns (with their compounds) are candidate aspects; opinions are
adjectives modifying them (``soft fabric``), predicate adjectives of the clause they are the subject of
(``the fabric is so soft``, ``it runs small`` style verb + complement: ``runs small``), adverbs of their verb
(``fits perfectly``) and a few opinion verbs taking them as object (``I love the colour``); a conjunct
shares its coordination's opinion (``the color and fabric are pretty``), and a preposition's object takes the
reviewer's judgement (``happy with the quality``, ``so happy with this jacket``) or one placed in a part of the
garment (``too full around the hem``). A ``neg`` child on the opinion or its verb marks it negated (``not soft``).
Adjectives that place or count (``the front section``, ``several different tones``) are no opinions. Nouns that
name something other than the product (sizes worn, measurements, the reviewer's body, other garments worn with
it, photos, people), the review's framing of an opinion (``my only complaint``, ``pros``) and times (``this
summer``) are left out, as the ABSA gold set's guidelines leave them out (``nlp/data/absa_gold/README.md``). The sentiment itself comes from the transformer on the aspect's clause
(see :func:`clause_spans`), not from a lexicon.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from spacy.tokens import Doc, Span, Token

from nlp.analysis.opinion import valences

#: Nouns too generic to be an aspect on their own.
GENERIC_NOUNS = frozenset(
    [
        "thing",
        "things",
        "lot",
        "lots",
        "bit",
        "one",
        "ones",
        "way",
        "time",
        "times",
        "day",
        "days",
        "review",
        "reviews",
        "retailer",
        "item",
        "items",
        "piece",
        "pieces",
        "everything",
        "nothing",
        "something",
        "anything",
        "anyone",
        "someone",
        "everyone",
        "people",
        "person",
        "year",
        "years",
        "week",
        "weeks",
        "month",
        "months",
        "today",
        "yesterday",
        "kind",
        "sort",
        "type",
        "part",
        "end",
        "side",
        # the review's own framing of an opinion ("my only complaint is ...", "pros: ...", "for reference")
        "issue",
        "problem",
        "complaint",
        "reservation",
        "concern",
        "pro",
        "pros",
        "con",
        "cons",
        "fact",
        "reason",
        "thought",
        "reference",
        "difference",
        "addition",
        "exception",
        "chance",
        # time expressions ("perfect for this summer", "on a friday night")
        "season",
        "summer",
        "winter",
        "spring",
        "autumn",
        "morning",
        "evening",
        "night",
        "weekend",
        "hour",
        "minute",
    ]
)
OPINION_VERBS = frozenset(
    ["love", "like", "hate", "dislike", "adore", "enjoy", "recommend", "regret", "prefer", "appreciate"]
)
#: Verbs that judge their subject by saying it failed ("the zipper broke", "the seams ripped"): the verb is
#: the opinion term. ``fall`` and ``come`` count with a particle that says so ("fell apart", "came off").
FAILURE_VERBS = frozenset(
    ["break", "rip", "tear", "fade", "shrink", "pill", "snag", "unravel", "fray", "bleed", "peel", "split"]
)
FAILURE_PARTICLES = {
    "fall": frozenset(["apart", "off"]),
    "come": frozenset(["apart", "off", "undone", "loose"]),
}
#: Verbs whose complement says how the garment fits ("runs small", "fits perfectly"); without a noun
#: subject ("It runs small.", "Fits well.") their opinion has an implicit target, SemEval-2016's NULL.
FIT_VERBS = frozenset(["run", "fit"])
#: The aspect term given to an implicit fit opinion (:func:`implicit_fit`), the one "the fit is ..." has.
FIT_TERM = "fit"
#: Adjectives that say how the garment feels to wear; predicated of the product without naming it ("It is so
#: comfortable.", "It's soft and cozy.") their opinion has an implicit target (:func:`implicit_comfort`).
COMFORT_ADJECTIVES = frozenset(["comfortable", "uncomfortable", "comfy", "cozy", "cosy", "itchy", "scratchy"])
#: The aspect term given to an implicit comfort opinion.
COMFORT_TERM = "comfort"
#: British spellings -> the American one, so that both give one aspect term (one key in reports): the review
#: corpora use the American forms most ("color" 3,686 times, "colour" 17 in the embeddings' vocabulary).
SPELLING_VARIANTS = {
    "colour": "color",
    "grey": "gray",
    "fibre": "fiber",
    "favourite": "favorite",
    "jewellery": "jewelry",
    "pyjama": "pajama",
    "pyjamas": "pajamas",
    "centre": "center",
}
#: Garment nouns that spaCy lists as stop words ("Cute top."): candidates all the same when tagged as nouns.
STOP_WORD_NOUNS = frozenset(["top", "bottom", "back", "front"])
#: Nouns whose compound names their value, not a part of the product ("ivory color"): the term is the noun alone.
COLOUR_NOUNS = frozenset(["color", "colour"])
#: Colour names (lemmas) that spaCy often tags as the noun of a compound ("maroon top", "gold thread"): a value that
#: describes the product, not part of its name, so never part of an aspect term (the gold set's guidelines:
#: "pink **color**", "gray floral **print**").
COLOUR_VALUES = frozenset(
    [
        "black", "white", "red", "blue", "navy", "green", "pink", "gray", "grey", "ivory", "beige", "coral",
        "maroon", "burgundy", "gold", "silver", "cream", "tan", "olive", "mustard", "teal", "turquoise", "purple",
        "lavender", "lilac", "yellow", "orange", "brown", "khaki", "charcoal", "camel", "rust", "wine", "plum",
        "mint", "peach", "blush", "nude", "taupe", "magenta", "fuchsia", "emerald", "cobalt", "indigo", "oatmeal",
    ]
)  # fmt: skip
#: Adjectives that place a part on the garment and belong to its name ("top button", "mid section", "back button
#: detail", as the gold set annotates them), when they stand right before it.
PLACE_ADJECTIVES = frozenset(
    ["top", "middle", "mid", "back", "front", "bottom", "side", "upper", "lower", "inner", "outer"]
)
#: Absolute VADER valence (-4..4) at which a noun is an opinion, not an aspect term: "love" (3.2), "beauty" (2.8),
#: "compliment" (2.1), "favorite" (2.0); not "fit" (1.5) or "comfort" (1.5). Chosen on the ABSA gold set's dev split.
OPINION_NOUN_VALENCE = 2.0
#: Size labels of retail clothing. The size a reviewer wears or ordered stands for the garment ("the small is
#: too large": the target is the garment, SemEval's NULL), so a label is never an aspect term of its own.
SIZE_LABELS = frozenset(["xxs", "xs", "xl", "xxl", "xxxl", "small", "medium", "large", "petite", "regular"])
#: Nouns (lemmas) that name what a review compares the product with or a person, not the product or a part of
#: it: the shop's photos and models ("the model in the pictures must be tall"), shoppers and the people around
#: the reviewer ("petite customers should be aware", "strangers compliment me").
NOT_PRODUCT_NOUNS = frozenset(
    [
        "photo", "picture", "pic", "image", "model", "website", "site", "customer", "shopper", "buyer",
        "woman", "girl", "lady", "friend", "stranger", "husband", "daughter", "mother", "mom", "sister",
        "reviewer", "fan", "seamstress", "tailor",
    ]
)  # fmt: skip
#: Dependency relations of a noun that is the object of a verb or a preposition ("I bought a size 8", "wore it
#: with jeans", "as in the photo"): such a noun is mentioned, not judged, unless an opinion rule reaches it.
OBJECT_DEPS = frozenset(["dobj", "pobj", "dative", "npadvmod", "appos", "pcomp"])
#: Dependency relations only a noun phrase fills: subject, object, predicate noun, coordinated noun.
NOMINAL_DEPS = OBJECT_DEPS | {"nsubj", "nsubjpass", "attr", "conj"}
#: Prepositions that place a judgement in a part of the garment ("too full around the hem", "doesn't fit on
#: top", "tight in the bust"): their object is the aspect the judgement is about. Not "with" or "for", which
#: name what it is worn with or for ("great with jeans", "perfect for fall").
LOCATIVE_PREPOSITIONS = frozenset(
    [
        "around",
        "at",
        "in",
        "on",
        "across",
        "through",
        "under",
        "below",
        "above",
        "along",
        "near",
        "except",
        "over",
    ]
)
#: Adjectives that place, count or pick out a thing rather than judge it ("several different tones", "the front
#: section", "my usual size", "other reviewers"): never an opinion term.
DESCRIPTIVE_ADJECTIVES = frozenset(
    [
        "many", "several", "few", "other", "another", "same", "different", "various", "certain", "such",
        "particular", "usual", "typical", "normal", "own", "whole", "entire", "only", "first", "second", "third",
        "last", "next", "previous", "front", "back", "bottom", "top", "left", "right", "mid", "middle",
        "upper", "lower", "inner", "outer", "side",
    ]
)  # fmt: skip
#: Personal pronouns of the reviewer: an adjective they are the subject of judges its prepositional object
#: ("I'm happy with the quality", "not sure about the tassels", "I was disappointed in the fabric").
REVIEWER_PRONOUNS = frozenset(["i", "we"])
#: Where a sentence's clauses part: before a contrast marker or ";", and after a comma or an ellipsis ("Runs
#: small, lovely fabric.", "Great shirt, poor first impression.", "love the details... only complaint is").
_CLAUSE_CUT = re.compile(
    r"\b(?:but|however|although|though|yet|whereas|while|except)\b|;|(?<=[,…])(?=\s)|(?<=\.\.)(?=\s)",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Opinion:
    """An opinion expression about an aspect; offsets are characters in the prepared text."""

    text: str
    offset: int
    length: int
    negated: bool


@dataclass(frozen=True)
class AspectMention:
    """A candidate aspect: its surface ``text``, ``offset``/``length`` in the prepared text, its ``term``
    (lemmatised vocabulary key, e.g. ``battery life``), and attached ``opinions``. ``implicit``: no noun
    names the target ("It runs small."); ``text`` is then the opinion's and ``term`` :data:`FIT_TERM`."""

    text: str
    offset: int
    length: int
    term: str
    opinions: tuple[Opinion, ...]
    implicit: bool = False


def clause_bounds(text: str) -> list[tuple[int, int]]:
    """Character ranges of the clauses of one sentence's ``text``, cut before contrast markers (``but``,
    ``although``, ``while``, ``;``) and after commas and ellipses followed by a space. The ranges tile the text; a
    piece without a letter or digit joins its neighbour, and a text without any is one range.

    ``"soft but runs small"`` -> ``[(0, 5), (5, 19)]``, ``"Runs small, lovely fabric."`` -> ``[(0, 11), (11,
    26)]``, so each aspect gets the sentiment of its own part.
    """
    bounds = [0]
    for cut in [*(m.start() for m in _CLAUSE_CUT.finditer(text)), len(text)]:
        if any(ch.isalnum() for ch in text[bounds[-1] : cut]):  # a piece without one joins the next
            bounds.append(cut)
    if len(bounds) == 1:
        return [(0, len(text))]
    bounds[-1] = len(text)  # a last piece without one joins the clause before it
    return list(itertools.pairwise(bounds))


def clause_spans(sentence: Span) -> list[tuple[int, int]]:
    """:func:`clause_bounds` of a spaCy sentence, as character offsets in its document."""
    base = sentence.start_char
    return [(base + a, base + b) for a, b in clause_bounds(sentence.text)]


def span_at(spans: Sequence[tuple[int, int]], position: int, default: tuple[int, int]) -> tuple[int, int]:
    """The first of ``spans`` (``[start, end)``) holding character ``position``, else ``default``: the clause an
    aspect at ``position`` is read from (the document, or the sentence, when it lies in none)."""
    return next((span for span in spans if span[0] <= position < span[1]), default)


def clause_at(sentence: str, position: int) -> str:
    """The clause of ``sentence`` (:func:`clause_bounds`) holding character ``position``, whitespace
    stripped: the part whose sentiment an aspect there has ("The print is pretty but the sizing is way off.",
    4 -> "The print is pretty"). A position outside the sentence gives the whole sentence, stripped."""
    a, b = span_at(clause_bounds(sentence), position, (0, len(sentence)))
    return sentence[a:b].strip()


def strip_span(text: str, start: int, end: int) -> tuple[int, int]:
    """``(start, end)`` moved inwards past surrounding whitespace of ``text[start:end]``."""
    piece = text[start:end]
    lead = len(piece) - len(piece.lstrip())
    return start + lead, start + lead + len(piece.strip())


def sentiment_spans(doc: Doc) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """Character ranges that get a sentiment of their own: ``(sentences, clauses)``, whitespace stripped.

    Sentences are spaCy's with any text; clauses are :func:`clause_spans` of each sentence, in order. The
    document itself (``(0, len(doc.text))``) is the third kind; an aspect takes the clause it lies in.
    """
    text = doc.text  # spaCy joins every token for each read of Doc.text
    sentences = [s for s in doc.sents if s.text.strip()]
    clauses = [strip_span(text, a, b) for s in sentences for a, b in clause_spans(s)]
    return [strip_span(text, s.start_char, s.end_char) for s in sentences], clauses


def _term_tokens(noun: Token) -> list[Token]:
    """``noun`` with the words that form its name: its compounds and theirs ("baby doll style", "hot air
    balloons" -> "air balloons"), none for a colour noun, whose compound is its value ("ivory color" -> "color",
    as the gold set's guidelines annotate "pink color"), and a place adjective right before them ("top button").

    A compound that describes rather than names is left out, as the guidelines leave out descriptive adjectives
    spaCy tags as nouns: a colour value ("maroon top", "gold thread") and an evaluative word ("fun dress": VADER
    valence at least :data:`OPINION_NOUN_VALENCE` in size, as for an opinion noun)."""
    if noun.lemma_.lower() in COLOUR_NOUNS:
        return [noun]
    compounds = [c for c in noun.lefts if c.dep_ == "compound" and c.pos_ in {"NOUN", "PROPN"} and _names(c)]
    tokens = [*(t for c in compounds for t in _term_tokens(c)), noun]
    if tokens[0].i == 0:
        return tokens
    before = tokens[0].doc[tokens[0].i - 1]
    placed = before.dep_ == "amod" and before.head in tokens and before.lower_ in PLACE_ADJECTIVES
    return [before, *tokens] if placed else tokens


def _names(compound: Token) -> bool:
    """Whether a compound noun is part of its head's name rather than a description of it (see :func:`_term_tokens`)."""
    lemma = compound.lemma_.lower()
    return lemma not in COLOUR_VALUES and abs(valences().get(lemma, 0.0)) < OPINION_NOUN_VALENCE


def _term(noun: Token) -> str:
    """The aspect term of a candidate noun: lower-cased lemmas of it and its compounds, British spellings
    made American (:data:`SPELLING_VARIANTS`): ``Colours`` -> ``color``, ``grey Sleeves`` -> ``sleeve``."""
    lemmas = (t.lemma_.lower() for t in _term_tokens(noun))
    return " ".join(SPELLING_VARIANTS.get(lemma, lemma) for lemma in lemmas)


def _is_candidate(token: Token) -> bool:
    """Whether ``token`` may be an aspect term's head: a noun (or a garment stop word spaCy tags an adjective in a
    noun's place), not generic (:data:`GENERIC_NOUNS`), not a stop word
    (but :data:`STOP_WORD_NOUNS`) and not itself an opinion: a noun whose VADER valence (``nlp.analysis.opinion.valences``)
    is at least :data:`OPINION_NOUN_VALENCE` in size ("it was love at first sight", "Romantic flowy beauty.", "got
    compliments") is the opinion term, as the gold set's guidelines annotate it."""
    lemma = token.lemma_.lower()
    # spaCy tags a garment stop word an adjective even as an object ("Purchased this top online")
    mistagged = token.lower_ in STOP_WORD_NOUNS and token.pos_ == "ADJ" and token.dep_ in NOMINAL_DEPS
    return (
        (token.pos_ in {"NOUN", "PROPN"} or mistagged)
        and token.dep_ != "compound"
        and token.is_alpha
        and len(token.text) > 1
        and lemma not in GENERIC_NOUNS
        and (not token.is_stop or token.lower_ in STOP_WORD_NOUNS)
        and abs(valences().get(lemma, 0.0)) < OPINION_NOUN_VALENCE
    )


def _negations(*tokens: Token) -> list[Token]:
    return [child for tok in tokens for child in tok.children if child.dep_ == "neg"]


def _opinion(tokens: list[Token], negations: list[Token]) -> Opinion:
    """The opinion span from its first to its last token, negation included: ``not soft``, and ``don't
    recommend`` rather than the ``n't recommend`` of spaCy's tokens."""
    doc = tokens[0].doc
    every = [*tokens, *negations]
    start = min(t.i for t in every)
    if start > 0 and doc[start].lower_ in {"n't", "nt"}:  # the auxiliary the contraction hangs on
        start -= 1
    span = doc[start : max(t.i for t in every) + 1]
    return Opinion(span.text, span.start_char, len(span.text), bool(negations))


def _with_adverbs(adj: Token) -> list[Token]:
    """``adj`` with its degree words: those before it ("so soft") and a following "enough" ("not warm enough",
    "thick enough"), which turns the adjective into a verdict on sufficiency."""
    enough = [c for c in adj.rights if c.dep_ == "advmod" and c.lower_ == "enough"]
    return [*(c for c in adj.lefts if c.dep_ == "advmod"), adj, *enough]


def _adjective_and_conjuncts(adj: Token) -> list[Token]:
    return [adj, *(c for c in adj.conjuncts if c.pos_ == "ADJ")]


def _follows(adj: Token, verb: Token) -> bool:
    """Whether ``adj`` (with its adverbs) comes right after ``verb``, a fit verb: "Runs small, lovely
    fabric" - spaCy reads ``small`` as an adjective of ``fabric``, but it is the complement of ``Runs``."""
    return verb.pos_ == "VERB" and verb.lemma_.lower() in FIT_VERBS and adj.left_edge.i == verb.i + 1


def _ends_clause(token: Token) -> bool:
    """Whether ``token`` is the last word of its clause (followed by punctuation, a conjunction or nothing)."""
    following = token.nbor() if token.i + 1 < len(token.doc) else None
    return following is None or following.is_punct or following.pos_ == "CCONJ"


def _failure(verb: Token) -> list[Token]:
    """The opinion tokens of a verb that says its subject failed (:data:`FAILURE_VERBS`), else ``[]``."""
    lemma = verb.lemma_.lower()
    if lemma in FAILURE_VERBS:
        return [verb]
    particles = [c for c in verb.children if c.lower_ in FAILURE_PARTICLES.get(lemma, ())]
    return [verb, *particles] if particles else []


def _described_subject(noun: Token) -> Token | None:
    """The subject ``noun`` describes as a predicate noun with an adjective, the attribute of a copula or the
    object of "have" ("the sleeves are the perfect *length*", "the v neck is somewhat low *cut*", "the fabric has a
    substantial *weight*"): the subject is then the opinion target and ``noun`` part of what is said of it. ``None``
    when the verb has no subject of its own ("the length is just right and has a beautiful *flow*"), or one that
    is no candidate noun (a pronoun: "it has a beautiful flow"), names something other than the
    product, or is the product itself named with "this" / "these", whose attribute is judged ("This blouse is a
    beautiful *color*")."""
    verb = noun.head
    predicate = (noun.dep_ == "attr" and verb.lemma_ == "be") or (
        noun.dep_ == "dobj" and verb.lemma_ == "have"
    )
    if not predicate or not any(c.dep_ == "amod" and c.pos_ == "ADJ" for c in noun.children):
        return None
    subject = next(
        (c for c in verb.children if c.dep_ in {"nsubj", "nsubjpass"}), None
    )  # its own, not a conjunct's
    if subject is None or not _is_candidate(subject) or _not_the_product(subject):
        return None
    return None if named_as_this(subject) else subject


def _predicate_opinions(noun: Token) -> list[Opinion]:
    """Opinions of the clause ``noun`` is the subject of: "is so soft", "runs small", "fits perfectly",
    "is way off", "broke", and the adjectives of a predicate noun that describes it (:func:`_described_subject`:
    "the sleeves are the *perfect* length")."""
    described = [
        _opinion(_with_adverbs(adj), _negations(noun.head, adj))
        for c in noun.head.children
        if c.dep_ in {"attr", "dobj"} and _described_subject(c) == noun
        for adj in c.children
        if adj.dep_ == "amod" and adj.pos_ == "ADJ"
    ]
    return described + _verb_opinions(noun)


def _verb_opinions(noun: Token) -> list[Opinion]:
    """The verb's part of :func:`_predicate_opinions`: its complements, adverbs and failure."""
    head = noun.head
    complements = [
        c for c in head.children if c.dep_ in {"acomp", "oprd"} or (c.dep_ == "attr" and c.pos_ == "ADJ")
    ]
    if head.pos_ == "ADJ":  # parses where the adjective heads the clause
        complements = [head]
    if not complements and head.pos_ == "VERB" and head.lemma_.lower() in FIT_VERBS:
        fit = _fit_complement(head)  # "this top does run large", where spaCy reads "large" as an adverb
        if fit:
            return [_opinion([head, *fit], _negations(head, *fit))]
    is_copula = head.lemma_ == "be" or head.pos_ == "AUX"
    found = []
    for comp in complements:
        for adj in _adjective_and_conjuncts(comp):
            # copula: "is so soft" -> "so soft"; other verbs keep the verb: "runs small"
            tokens = _with_adverbs(adj) if is_copula or adj == head else [head, *_with_adverbs(adj)]
            found.append(_opinion(tokens, _negations(head, adj)))
    if complements or head.pos_ not in {"VERB", "AUX"}:
        return found
    adverbs = [c for c in head.children if c.dep_ == "advmod" and c.pos_ == "ADV" and c.i > head.i]
    if is_copula:  # "the sizing is way off": an adverb that ends the clause is its predicate
        return [_opinion(_with_adverbs(adv), _negations(head)) for adv in adverbs[:1] if _ends_clause(adv)]
    if adverbs:  # "fits perfectly", "washed well"
        return [_opinion([head, adverbs[0]], _negations(head))]
    failed = _failure(head)  # "the zipper broke", "the seams came apart"
    return [_opinion(failed, _negations(head))] if failed else []


def _modifier_opinions(noun: Token) -> list[Opinion]:
    """Adjectives of ``noun`` as opinions: "soft fabric", "super soft fabric", "is not a soft fabric"."""
    found = []
    for child in noun.children:
        if (
            child.dep_ == "amod"
            and child.pos_ in {"ADJ", "VERB"}
            and child.is_alpha
            and child.lower_ not in DESCRIPTIVE_ADJECTIVES
            and not _follows(child, noun.head)
        ):
            # "is not a soft fabric": the negation sits on the copula the noun is attribute of
            negations = _negations(child, noun.head) if noun.dep_ == "attr" else _negations(child)
            found.append(_opinion(_with_adverbs(child), negations))
    return found


def first_conjunct(noun: Token) -> Token:
    """The first noun of the coordination ``noun`` is in ("the color and *fabric*" -> ``color``), else ``noun``:
    the one whose relation to the clause the others share."""
    while noun.dep_ == "conj" and noun.head.pos_ in {"NOUN", "PROPN"}:
        noun = noun.head
    return noun


def _clause_opinions(noun: Token) -> list[Opinion]:
    """Opinions the clause gives ``noun`` as its subject ("the fabric is so soft", "the zipper broke") or as
    the object of an opinion verb ("I love the colour"); a conjunct shares its coordination's ("the color
    and fabric is pretty", "I love the long length and the side slits")."""
    first = first_conjunct(noun)
    if first.dep_ in {"nsubj", "nsubjpass"}:
        return _predicate_opinions(first)
    if first.dep_ == "dobj" and first.head.lemma_.lower() in OPINION_VERBS:
        return [_opinion([first.head], _negations(first.head))]
    return []


def _subject(predicate: Token) -> Token | None:
    """The subject of the clause ``predicate`` (an adjective or a verb) says something about, if any; a verb
    coordinated with another shares its subject ("it is soft and *has* a nice flow")."""
    verb = predicate.head if predicate.dep_ in {"acomp", "oprd"} else predicate
    while True:
        subject = next((c for c in verb.children if c.dep_ in {"nsubj", "nsubjpass"}), None)
        if subject is not None or verb.dep_ != "conj" or verb.head.pos_ not in {"VERB", "AUX"}:
            return subject
        verb = verb.head


def named_as_this(noun: Token) -> bool:
    """Whether ``noun`` is named with "this" / "these", as a review names the product itself ("this dress")."""
    return any(c.dep_ == "det" and c.lower_ in {"this", "these"} for c in noun.children)


def _prepositional_opinions(noun: Token) -> list[Opinion]:
    """Opinions of a predicate about the object of its preposition: the reviewer's judgement of it ("I'm happy
    with the quality", "I was disappointed in the fabric", "not sure about the tassels") or a judgement placed
    in a part of the garment (:data:`LOCATIVE_PREPOSITIONS`: "a little too full around the hem", "doesn't fit
    at all on the top")."""
    prep = noun.head
    if noun.dep_ != "pobj" or prep.dep_ != "prep":
        return []
    predicate = prep.head
    subject = _subject(predicate)
    reviewer = subject is not None and subject.lower_ in REVIEWER_PRONOUNS
    located = prep.lower_ in LOCATIVE_PREPOSITIONS
    if predicate.pos_ == "ADJ" and predicate.dep_ in {"acomp", "ROOT"}:
        # "about" gives the topic of the reviewer's state even without a subject: "not sure about the tassels",
        # and so does the product itself, named with "this": "So happy with this jacket!"
        if reviewer or located or prep.lower_ == "about" or named_as_this(noun):
            verb = predicate.head if predicate.dep_ == "acomp" else predicate
            return [_opinion(_with_adverbs(predicate), _negations(predicate, verb))]
    elif predicate.tag_ == "VBN" and reviewer and subject is not None and subject.dep_ == "nsubjpass":
        return [_opinion(_with_adverbs(predicate), _negations(predicate))]  # "I was disappointed in"
    elif predicate.pos_ == "VERB" and predicate.lemma_.lower() in FIT_VERBS and located:
        complement = _fit_complement(predicate)
        if complement:
            return [_opinion([predicate, *complement], _negations(predicate, *complement))]
    return []


def _in_passing(noun: Token) -> bool:
    """Whether ``noun`` is only mentioned, as the object of a verb or a preposition (:data:`OBJECT_DEPS`, that of
    its coordination's first noun), so that its adjectives describe rather than judge it ("wore it with skinny
    jeans", "ordered the petite size", "a poor first impression"). Not in passing: the product itself ("wore this
    beautiful top"), an attribute the product has ("it has a beautiful flow") and a part named with it ("a dress
    with a lovely lace trim")."""
    first = first_conjunct(noun)
    if first.dep_ not in OBJECT_DEPS:
        return False
    if named_as_this(first):
        return False
    head = first.head
    if first.dep_ in {"dobj", "npadvmod"} and any(t.text == "," for t in noun.doc[head.i + 1 : first.i]):
        return False  # "Runs small, lovely fabric.": a phrase of its own that spaCy made the verb's object
    if first.dep_ == "dobj" and head.lemma_ == "have":
        subject = _subject(head)
        return subject is None or subject.lower_ in REVIEWER_PRONOUNS
    return not (first.dep_ == "pobj" and head.lower_ == "with" and head.head.pos_ in {"NOUN", "PROPN"})


def _said_of(noun: Token) -> bool:
    """Whether a clause says something about ``noun`` by where it stands, with no opinion term: as a subject or a
    fragment of its own ("the hem comes to the knee", "Pockets!"), or as what "there is" ("there are pockets").
    Not as the object of a verb or preposition (:data:`OBJECT_DEPS`: "wore it with jeans"), nor as the predicate
    noun that says what something else is ("it's really not a dress, it's a tunic", "to me it is navy")."""
    first = first_conjunct(noun)
    if first.dep_ == "attr":
        return any(c.dep_ == "expl" for c in first.head.children)
    if first.dep_ == "dobj" and first.head.lemma_ == "have":
        subject = _subject(first.head)
        return subject is not None and subject.lower_ not in REVIEWER_PRONOUNS
    return first.dep_ not in OBJECT_DEPS


def _opinions_of(noun: Token) -> list[Opinion]:
    """Every opinion about ``noun``: its adjectives (unless it is mentioned in passing, :func:`_in_passing`), its
    clause's and its preposition's."""
    modifiers = [] if _in_passing(noun) else _modifier_opinions(noun)
    return [*modifiers, *_clause_opinions(noun), *_prepositional_opinions(noun)]


def _fit_complement(verb: Token) -> list[Token]:
    """The complement of a fit verb, with its adverbs: "runs *very small*", "fits *perfectly*", "runs
    *small*, lovely fabric" (spaCy's adjective of the object); ``[]`` when it has none."""
    for token in verb.doc[verb.i + 1 : verb.sent.end]:
        if token.dep_ in {"acomp", "oprd"} and token.head == verb:
            after = verb.doc[token.i + 1 : token.i + 3]  # "true to size", however spaCy attaches "to size"
            return [*_with_adverbs(token), *(after if after.text.lower() == "to size" else [])]
        # "fits perfectly"; "does it run small?", where spaCy reads "small" as an adverb of the verb
        if token.dep_ == "advmod" and token.pos_ in {"ADV", "ADJ"} and token.head == verb:
            return _with_adverbs(token) if token.pos_ == "ADJ" else [token]
        if token.dep_ == "amod" and _follows(token, verb) and token.head.head == verb:
            return _with_adverbs(token)
    return []


def _true_to_size(adj: Token) -> bool:
    """Whether ``adj`` is the "true" of "true to size" as the predicate of a copula ("It's true to size",
    "is it true to size?") or a clause of its own ("True to size!")."""
    after = adj.doc[adj.i + 1 : adj.i + 3]
    return (
        adj.lower_ == "true"
        and after.text.lower() == "to size"
        and (adj.head == adj or adj.head.lemma_ == "be")
    )


def implicit_fit(doc: Doc) -> list[AspectMention]:
    """Fit opinions whose target no noun names ("It runs small.", "Fits perfectly!", "Runs small, lovely
    fabric.", "Is it true to size?"): a verb of :data:`FIT_VERBS` with a complement, or a copula with "true to
    size", without a noun subject that names the product or a part of it (a size label does not: "The medium
    fits well.", :func:`_not_the_product`). Each is an implicit mention (SemEval-2016's NULL target) whose ``text`` is
    the opinion and ``term`` :data:`FIT_TERM`."""
    found = []
    for token in doc:
        if token.pos_ == "VERB" and token.lemma_.lower() in FIT_VERBS:
            verb, complement = token, _fit_complement(token)
            tokens = [verb, *complement]
        elif token.pos_ == "ADJ" and _true_to_size(token):
            verb, complement = token.head, [token]
            tokens = list(doc[token.i : token.i + 3])
        else:
            continue
        subjects = (c for c in verb.children if c.dep_ in {"nsubj", "nsubjpass"})
        if any(_names_the_product(c) for c in subjects):
            continue  # "the dress runs small": the noun is the explicit target; "the medium fits well": implicit
        if complement:
            opinion = _opinion(tokens, _negations(verb, *complement))
            found.append(
                AspectMention(opinion.text, opinion.offset, opinion.length, FIT_TERM, (opinion,), True)
            )
    return found


def implicit_comfort(doc: Doc) -> list[AspectMention]:
    """Comfort opinions whose target no noun names ("It is so comfortable.", "soft and cozy"): an
    adjective of :data:`COMFORT_ADJECTIVES` as a predicate or a sentence of its own (not a noun's modifier,
    "a comfy dress", whose noun is the explicit target), without a noun subject that names the product or a part
    of it ("the dress is comfortable": the dress is). Each is an implicit mention whose ``text`` is the opinion
    and ``term`` :data:`COMFORT_TERM`."""
    found = []
    for token in doc:
        if token.pos_ != "ADJ" or token.lemma_.lower() not in COMFORT_ADJECTIVES:
            continue
        first = token
        # "soft and cozy": cozy shares soft's subject
        while first.dep_ == "conj" and first.head.pos_ == "ADJ":
            first = first.head
        if first.dep_ not in {"acomp", "ROOT", "oprd"}:
            continue
        subject = _subject(first)
        if subject is not None and _names_the_product(subject):
            continue
        verb = first.head if first.dep_ in {"acomp", "oprd"} else first
        opinion = _opinion(_with_adverbs(token), _negations(token, verb))
        found.append(
            AspectMention(opinion.text, opinion.offset, opinion.length, COMFORT_TERM, (opinion,), True)
        )
    return found


def _names_the_product(noun: Token) -> bool:
    """Whether ``noun`` is a candidate aspect that names the product or a part of it: the explicit target of the
    opinions its clause gives ("the dress runs small", "the dress is comfortable")."""
    return _is_candidate(noun) and not _not_the_product(noun)


def _not_the_product(noun: Token) -> bool:
    """Whether ``noun`` names someone or something other than the product and its parts: a person or the shop's
    photos (:data:`NOT_PRODUCT_NOUNS`), a size label (:data:`SIZE_LABELS`, also after "size": "size large"), a
    measurement (a number modifies it: "a size 8", "110 pounds"), or, as the object of a verb or preposition,
    the reviewer's own body or things ("tight across my ribs", "with my jeans")."""
    if noun.lemma_.lower() in NOT_PRODUCT_NOUNS or noun.lower_ in SIZE_LABELS:
        return True
    for child in noun.children:
        if (child.dep_ == "nummod" and child.like_num) or (child.i > noun.i and child.lower_ in SIZE_LABELS):
            return True
    first = first_conjunct(noun)
    return first.dep_ in OBJECT_DEPS and any(
        c.dep_ == "poss" and c.lower_ in {"my", "our"} for c in first.children
    )


def _word_start(token: Token) -> int:
    """The index where the word of ``token`` starts: before a prefix spaCy split off at a hyphen ("v-neckline",
    "a-line"), else ``token.i``."""
    doc, i = token.doc, token.i
    hyphenated = (
        i >= 2 and doc[i - 1].text == "-" and not doc[i - 1].whitespace_ and not doc[i - 2].whitespace_
    )
    return i - 2 if hyphenated and doc[i - 2].is_alpha else i


@dataclass(frozen=True)
class Candidate:
    """A noun that may head an aspect term (:func:`_is_candidate`), as :func:`aspect_candidates` reads it: ``token``
    (its head), ``mention`` (span, term and opinions, as an aspect it would be), and what the rules say of it:
    ``known`` (its term or head word is a known term), ``said_of`` (:func:`_said_of`), ``not_the_product``
    (:func:`_not_the_product`), ``described`` (a predicate noun describing its subject, :func:`_described_subject`)
    and ``kept``: the rules' decision (:func:`extract_aspects` without a filter)."""

    token: Token
    mention: AspectMention
    known: bool
    said_of: bool
    not_the_product: bool
    described: bool
    kept: bool


class CandidateFilter(Protocol):
    """Decides which candidates are aspects (``nlp.analysis.aspect_filter.AspectFilter``): one bool per candidate."""

    def keep(self, candidates: Sequence[Candidate]) -> list[bool]: ...


def aspect_candidates(doc: Doc, known_terms: frozenset[str] | set[str] = frozenset()) -> list[Candidate]:
    """Every candidate noun of ``doc`` (:func:`_is_candidate`) in text order, with its opinions (:func:`_opinions_of`)
    and the rules' reading (:class:`Candidate`). The rules keep a candidate that names the product or a part of it,
    is no predicate noun describing its subject, and carries an opinion or has a known term or head word in
    ``known_terms`` and stands where a clause says something about it (:func:`_said_of`: "the hem comes to the
    knee", not "wore it with jeans")."""
    found = []
    for token in doc:
        if not _is_candidate(token):
            continue
        tokens = _term_tokens(token)
        term = _term(token)
        opinions = tuple(_opinions_of(token))
        known = term in known_terms or token.lemma_.lower() in known_terms
        said_of, not_product = _said_of(token), _not_the_product(token)
        described = _described_subject(token) is not None
        span = doc[_word_start(tokens[0]) : token.i + 1]
        mention = AspectMention(span.text, span.start_char, len(span.text), term, opinions)
        kept = not not_product and not described and bool(opinions or (known and said_of))
        found.append(Candidate(token, mention, known, said_of, not_product, described, kept))
    return found


def extract_aspects(
    doc: Doc,
    known_terms: frozenset[str] | set[str] = frozenset(),
    candidate_filter: CandidateFilter | None = None,
) -> list[AspectMention]:
    """Aspects in ``doc``: the candidates (:func:`aspect_candidates`) the rules keep, or ``candidate_filter``
    keeps when one is given (a learned filter, ``nlp.analysis.aspect_filter``), and the implicit fit and comfort
    opinions (:func:`implicit_fit`, :func:`implicit_comfort`).

    Returns mentions in text order; each aspect's ``term`` is its lower-cased lemma form, American
    spelling (:func:`_term`).
    """
    candidates = aspect_candidates(doc, known_terms)
    kept = candidate_filter.keep(candidates) if candidate_filter else [c.kept for c in candidates]
    explicit = [c.mention for c, keep in zip(candidates, kept, strict=True) if keep]
    mentions = implicit_fit(doc) + implicit_comfort(doc) + explicit
    return sorted(mentions, key=lambda m: m.offset)


def aspect_terms(doc: Doc) -> list[str]:
    """Every candidate aspect term of ``doc`` (lemmatised, lower-cased), for topic discovery."""
    return [_term(tok) for tok in doc if _is_candidate(tok)]
