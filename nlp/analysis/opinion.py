"""Short texts that hold no opinion: "ok", "n/a", "I bought this for my sister's birthday last week.".

The sentiment models were trained on reviews that say something; a text with no opinion in it still gets a
confident reading from them ("n/a" negative 0.88, the birthday sentence positive 0.90). A review analysis
therefore flags :data:`NO_OPINION`, and withholds the reading (neutral, 1/3 per class), for a text that is
short (at most :data:`MAX_WORDS` words) and holds no opinion expression:

- no word of the VADER lexicon (Hutto & Gilbert 2014, "VADER: A Parsimonious Rule-based Model for Sentiment
  Analysis of Social Media Text", ICWSM; 7,500 hand-rated words, emoticons and slang, MIT licence, shipped
  inside the ``vadersentiment`` package) whose mean valence (-4..4) is at least :data:`MIN_VALENCE` in
  size. Lukewarm verdicts lie below it ("ok" 1.2, "okay" 0.9, "fine" 0.8, "meh" -0.3), so "ok" alone reads
  as no opinion, which is the neutral of the three classes;
- no verdict word VADER lacks (:data:`VERDICT_WORDS`): a return ("had to take it back"), the plainest
  verdict a shopper gives, or "too" of excess ("too sheer", "too long");
- no emoji, and no aspect with an opinion from :func:`nlp.analysis.aspects.extract_aspects` (the clothing opinions
  VADER lacks: "runs small", "the zipper broke", "tight");
- no exclamation mark, and no adjective, adverb or interjection of the parse that judges: VADER rates too few
  of the words short reviews judge with ("Timeless and unique", "Cheaply made", "Totally sublime"), so a word of
  those parts of speech counts unless it places, counts, times or sizes (:data:`NON_EVALUATIVE`: "last week",
  "ordered a medium") or is a lukewarm verdict (:data:`LUKEWARM`: "ok", "fine", "meh").

How often it fires and what it changes: ``nlp/data/absa_gold/README.md`` ("Texts with no opinion").
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from functools import cache
from importlib.resources import files
from typing import TYPE_CHECKING

import emoji

if TYPE_CHECKING:  # nlp.analysis.aspects reads the lexicon of this module
    from spacy.tokens import Token

    from nlp.analysis.aspects import AspectMention, Opinion

#: The flag an analysis record carries when its text is short and holds no opinion expression.
NO_OPINION = "no_opinion"
#: Words (:data:`_WORD` matches) a text may have at most to be flagged.
MAX_WORDS = 10
#: Absolute VADER valence (-4..4, mean of ten raters) a word needs to count as an opinion.
MIN_VALENCE = 1.5
#: Absolute VADER valence the last word of an opinion term needs to give the term a polarity of its own
#: (:func:`opinion_polarity`): "sure" (1.3, so "not sure" is negative) counts, "fine" (0.8) does not. Chosen on
#: the ABSA gold set's dev split (``nlp/data/absa_gold/README.md``).
TERM_VALENCE = 1.0
#: Verdicts that VADER does not rate, or rates below :data:`MIN_VALENCE`: word forms of returning an item, "too" of
#: excess ("too sheer"), the words of a complaint ("my only complaint is the zipper", "Sizing issues.") and "tts",
#: reviewers' shorthand for true to size (these two kinds from the ABSA gold set's train split).
VERDICT_WORDS = frozenset(
    [
        "return", "returns", "returned", "returning", "back", "exchange", "exchanged", "refund", "too",
        "complaint", "issue", "issues", "flaw", "flaws", "tts",
    ]
)  # fmt: skip

#: Lukewarm verdicts: an "ok" alone reads as no opinion, the neutral of the three classes.
LUKEWARM = frozenset(["ok", "okay", "fine", "meh", "alright", "whatever"])
#: Adjectives and adverbs that place, count, time or size rather than judge ("last week", "my usual size",
#: "ordered a medium", "haven't worn it yet").
# fmt: off
NON_EVALUATIVE = frozenset([
    "last", "next", "first", "second", "third", "other", "another", "same", "own", "many", "few",
    "several", "much", "more", "most", "such", "whole", "usual", "each", "every", "only", "just", "also",
    "yet", "still", "already", "again", "ever", "even", "then", "now", "here", "there", "when", "where",
    "how", "why", "always", "never", "often", "sometimes", "usually", "soon", "later", "today", "tomorrow",
    "yesterday", "ago", "away", "back", "up", "down", "out", "in", "on", "off", "over", "together", "else",
    "maybe", "probably", "almost", "about", "around", "however", "though", "instead", "rather", "quite",
    "enough", "small", "medium", "large", "xs", "xl", "petite", "regular", "tall", "short", "long", "big",
    "little"
])
# fmt: on
#: Parts of speech (spaCy's universal tags) whose words may judge.
_JUDGING_POS = frozenset(["ADJ", "ADV", "INTJ"])

_WORD = re.compile(r"[a-z]+(?:'[a-z]+)?")
#: An opinion term that calls its target faulty whatever the tone of the clause around it: "too" of excess ("too
#: long"), a size the garment runs ("runs small"), a comparative of size, a departure from the size expected ("much
#: baggier", "2 inches shorter"; hedged by "a little" / "slightly" it is the mild remark the gold set reads neutral)
#: and the failures of :data:`nlp.analysis.aspects.FAILURE_VERBS` ("broke", "fell apart"), in the forms reviews use.
_FAULT = re.compile(
    r"\btoo\b"
    r"|\b(?:run|runs|running|ran)\s+(?:(?:a\s+)?[a-z]+\s+)?(?:small|large|big|long|short|narrow|wide|tight)\b"
    r"|(?<!little )(?<!slightly )(?<!bit )(?<!tad )"
    r"\b(?:bigger|smaller|larger|longer|shorter|wider|narrower|tighter|looser|baggier|boxier)\b"
    r"|\b(?:broke|broken|ripped|tore|torn|faded|shrank|shrunk|pilled|snagged|unravell?ed|frayed|bled|peeled)\b"
    r"|\b(?:fell|falls|falling|came|comes|coming)\s+(?:apart|off|undone|loose)\b"
)


def names_a_fault(opinion: str) -> bool:
    """Whether an opinion term (not negated; the caller checks) says its target is faulty: ``"way too long"``,
    ``"runs small"``, ``"runs a bit large"`` (one degree word, with or without "a", may stand between), ``"much
    baggier"`` (not ``"a little shorter"``), ``"broke"``, ``"fell apart"``. An aspect whose clause the model reads as neutral is then
    read negative: the clause's other words ("the hem was much too long") carry no tone the model picks up."""
    return _FAULT.search(opinion.lower()) is not None


@cache
def valences() -> dict[str, float]:
    """The VADER lexicon: token (lower-case word or emoticon such as ``:)``) -> mean valence, -4..4. Read once
    from the ``vadersentiment`` package's ``vader_lexicon.txt`` (tab-separated: token, mean valence, standard
    deviation, the ten ratings)."""
    lexicon = files("vaderSentiment").joinpath("vader_lexicon.txt").read_text(encoding="utf-8")
    # "ok" is listed twice, among the emoticons (1.6) and among the words (1.2): the later, the word's, holds
    rated = dict(line.split("\t")[:2] for line in lexicon.splitlines() if line.count("\t") >= 2)
    return {token: float(valence) for token, valence in rated.items()}


@cache
def opinion_words(min_valence: float = MIN_VALENCE) -> frozenset[str]:
    """:func:`valences` entries with ``|valence| >= min_valence``, plus :data:`VERDICT_WORDS`."""
    return (
        frozenset(token for token, valence in valences().items() if abs(valence) >= min_valence)
        | VERDICT_WORDS
    )


def opinion_polarity(opinion: Opinion, min_valence: float = TERM_VALENCE) -> str | None:
    """The polarity an opinion term states by itself, or ``None`` when it states none a lexicon knows:

    - ``"negative"`` when it is not negated and names a fault (:func:`names_a_fault`: "much too long", "runs a
      bit large", "broke");
    - else the sign of the VADER valence (:func:`valences`) of its last word when at least ``min_valence`` in
      size, reversed when the term is negated: ``"nice"`` and ``"fits perfectly"`` positive, ``"disliked"`` and
      ``"not sure"`` negative. Only the last word counts: an opinion term is an adjective, adverb or verb with
      the degree words before it (``nlp.analysis.aspects``), so ``"pretty boxy"`` reads its head "boxy", which VADER
      lacks (``None``), not the intensifier "pretty".

    An aspect whose clause the sentiment model reads as neutral takes this polarity (``nlp.analysis.analyzer``): the
    clause's other words carry no tone the model picks up, the opinion term does ("there is a nice hemstitch
    detail on the sleeve trim").
    """
    if not opinion.negated and names_a_fault(opinion.text):
        return "negative"
    words = _WORD.findall(opinion.text.lower())
    if (
        words and words[-1] == "enough"
    ):  # "thick enough" is a verdict of sufficiency, "not warm enough" of want
        return "negative" if opinion.negated else "positive"
    valence = valences().get(words[-1], 0.0) if words else 0.0
    if abs(valence) < min_valence:
        return None
    return "positive" if (valence > 0) != opinion.negated else "negative"


def holds_no_opinion(
    text: str,
    mentions: Sequence[AspectMention] = (),
    doc: Iterable[Token] = (),
    max_words: int = MAX_WORDS,
    min_valence: float = MIN_VALENCE,
) -> bool:
    """Whether ``text`` (a prepared text) is short and holds no opinion expression (the rule of this module).

    ``mentions``: the text's aspects from :func:`nlp.analysis.aspects.extract_aspects`; one with an opinion, or an
    implicit one, is an opinion. ``doc``: the text's spaCy parse (tokens with ``pos_``), whose judging adjectives,
    adverbs and interjections are opinions; without it only the lexicon, emoji, "!" and ``mentions`` count. A few
    dozen set look-ups: no model runs.
    """
    lowered = text.lower()
    words = _WORD.findall(lowered)
    if len(words) > max_words or emoji.emoji_count(text) or "!" in text:
        return False
    lexicon = opinion_words(min_valence)
    if not lexicon.isdisjoint(words) or not lexicon.isdisjoint(lowered.split()):
        return False
    if any(_judges(token) for token in doc):
        return False
    return not any(m.opinions or m.implicit for m in mentions)


def _judges(token: Token) -> bool:
    word = token.lower_
    return (
        token.pos_ in _JUDGING_POS and word.isalpha() and word not in NON_EVALUATIVE and word not in LUKEWARM
    )
