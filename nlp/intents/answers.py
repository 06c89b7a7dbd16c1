"""Answers to customer questions: knowledge-base templates per intent, and product questions from reviews.

The knowledge base is one YAML file the shop edits (default ``api/service/knowledge_base.yml``; see that file for the
format). A template's ``{{placeholders}}`` are filled from the shop's own facts, the request context and the
entities found in the question; an intent lists templates from most to least specific and the first whose
placeholders can all be filled is used, so an answer never shows a raw ``{{placeholder}}``.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml
from lemminflect import getAllInflections, getAllLemmas
from spacy.lang.en.stop_words import STOP_WORDS

from nlp.analysis.categories import GENERAL, PRODUCT_CATEGORIES, PRODUCT_WORDS
from nlp.insights.report import (
    SENTIMENTS,
    AspectRecord,
    ReviewRecord,
    aspect_quote,
    product_insights,
    shorten_around,
    stance,
)

_PLACEHOLDER = re.compile(r"\{\{\s*(\w+)\s*\}\}")
#: Placeholders a template may use besides the shop's facts: request context and entity types.
DYNAMIC_PLACEHOLDERS = frozenset(
    {"order_id", "product_id", "invoice_id", "refund_amount", "account_type", "location", "person_name"}
)


class KnowledgeBaseError(ValueError):
    """The knowledge-base file is malformed; the message names the file and the entry."""


@dataclass
class KnowledgeBase:
    """Intent -> answer templates, the shop's facts, and the out-of-scope and fallback answers.

    Raises (on :meth:`load`):
        KnowledgeBaseError: unreadable YAML, a missing section, an unknown placeholder, or an intent whose
            last template needs anything but the shop's facts (it could not always be filled).
    """

    shop: dict[str, str]
    intents: dict[str, list[str]]
    out_of_scope: str
    fallback: str
    source: str = "<memory>"

    @classmethod
    def load(cls, path: Path) -> KnowledgeBase:
        try:
            raw = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError) as exc:
            raise KnowledgeBaseError(f"cannot read the knowledge base {path}: {exc}") from exc
        if not isinstance(raw, dict) or not isinstance(raw.get("intents"), dict):
            raise KnowledgeBaseError(f"{path}: expected a mapping with an 'intents' section")
        kb = cls(
            shop={str(k): str(v) for k, v in (raw.get("shop") or {}).items()},
            intents={str(k): [v] if isinstance(v, str) else list(v) for k, v in raw["intents"].items()},
            out_of_scope=str(raw.get("out_of_scope", "")),
            fallback=str(raw.get("fallback", "")),
            source=str(path),
        )
        kb.validate()
        return kb

    def validate(self) -> None:
        known = DYNAMIC_PLACEHOLDERS | set(self.shop)
        for name, text in [("out_of_scope", self.out_of_scope), ("fallback", self.fallback)]:
            if not text or set(_PLACEHOLDER.findall(text)) - set(self.shop):
                raise KnowledgeBaseError(f"{self.source}: '{name}' must be set and use only shop facts")
        for intent, templates in self.intents.items():
            if not templates or not all(isinstance(t, str) and t.strip() for t in templates):
                raise KnowledgeBaseError(
                    f"{self.source}: intent {intent!r} needs at least one non-empty template"
                )
            for template in templates:
                unknown = set(_PLACEHOLDER.findall(template)) - known
                if unknown:
                    raise KnowledgeBaseError(
                        f"{self.source}: intent {intent!r} uses unknown placeholders {sorted(unknown)}; "
                        f"known: {sorted(known)}"
                    )
            if set(_PLACEHOLDER.findall(templates[-1])) - set(self.shop):
                raise KnowledgeBaseError(
                    f"{self.source}: the last template of {intent!r} must use only shop facts, so it can always be filled"
                )

    def answer(self, intent: str, values: Mapping[str, str | None]) -> str:
        """The first template of ``intent`` whose placeholders are all known, filled in (fallback if no entry)."""
        filled = {**self.shop, **{k: v for k, v in values.items() if v}}
        for template in self.intents.get(intent, [self.fallback]):
            if set(_PLACEHOLDER.findall(template)) <= set(filled):
                return _PLACEHOLDER.sub(lambda m: filled[m.group(1)], template).strip()
        raise AssertionError("unreachable: validate() guarantees a fillable last template")

    def render(self, text: str) -> str:
        """A shop-facts-only text (``out_of_scope``, ``fallback``) filled in."""
        return _PLACEHOLDER.sub(lambda m: self.shop[m.group(1)], text).strip()


def _words(text: str) -> set[str]:
    return set(re.findall(r"\w+", text.lower()))


def _mentions(records: Sequence[ReviewRecord], wanted: Callable[[AspectRecord], bool]) -> dict:
    """``{review_id: (record, [matching aspect mentions])}`` for the reviews with at least one."""
    found = {}
    for record in records:
        hits = [a for a in record.aspects if wanted(a)]
        if hits:
            found[record.review_id] = (record, hits)
    return found


def reviews_that(count: int, verb: str) -> str:
    """``"1 review that mentions"``, ``"3 reviews that mention"``: the count with noun and verb agreeing."""
    return f"{count} review that {verb}s" if count == 1 else f"{count} reviews that {verb}"


#: Question words that say nothing of which opinion is asked about ("does it *run* small?": "runs just a tad
#: big" shares "run" but answers nothing; "is it *good* for tall people?").
_UNINFORMATIVE = frozenset({
    "run", "runs", "fit", "fits", "wear", "look", "looks", "feel", "feels", "good", "great", "nice", "bad", "well",
    "like",
})  # fmt: skip
#: Negation cues (NegEx, Chapman et al. 2001, "A Simple Algorithm for Identifying Negated Findings and Diseases
#: in Discharge Summaries"): one before a phrase, within :data:`NEGATION_WINDOW` words and no scope
#: terminator (punctuation, "but") between, negates it.
_NEGATIONS = frozenset({"not", "n't", "no", "never", "hardly", "barely", "nothing", "without", "nor"})
_SCOPE_ENDS = frozenset({",", ";", ":", "but", "though", "although", "however", "yet"})
NEGATION_WINDOW = 8


#: Words of a fit or feel whose opposite a shopper needs beside them: "3 say “runs small”" is misleading where
#: 45 say "runs large".
_OPPOSITES = {
    "small": ("large", "big"), "big": ("small",), "large": ("small",), "tight": ("loose",), "loose": ("tight",),
    "short": ("long",), "long": ("short",), "thin": ("thick",), "thick": ("thin",), "heavy": ("light",),
    "light": ("heavy",), "narrow": ("wide",), "wide": ("narrow",),
}  # fmt: skip
#: A size word naming a size, not saying one ("the extra small fit perfectly", "I ordered a large").
_SIZE_LABEL = re.compile(r"\b(?:extra|x|xx|a|an|the|my|in|usual)[\s-]+(?:small|large|big|medium)\b")


def _opinion_words(text: str, context: str) -> set[str]:
    """The words an opinion says in ``context`` (its clause), lower case: without a size word that only names
    a size there (:data:`_SIZE_LABEL`: the opinion "small" of "the extra small fit perfectly")."""
    text = text.lower()
    named = _SIZE_LABEL.sub(" ", text)
    if text in context.lower() and text not in _SIZE_LABEL.sub(" ", context.lower()):
        named = re.sub(r"\b(?:small|large|big|medium)\b", " ", named)
    return _words(named)


def _opposites(words: set[str]) -> set[str]:
    """The :data:`_OPPOSITES` of ``words`` that are not themselves asked."""
    return {o for w in words for o in _OPPOSITES.get(w, ())} - words


def _starts_negated(phrase: str) -> bool:
    """Whether ``phrase`` begins with a negation cue ("not itchy", "don't recommend")."""
    first = phrase.lower().replace("n't", " n't").split()[:1]
    return bool(first) and first[0] in _NEGATIONS


def _negated(context: str, phrase: str) -> bool:
    """Whether ``phrase`` is negated in ``context``: it starts with a negation cue ("not itchy"), or a cue
    comes before its first occurrence in the same clause ("i did not find the sweater to be itchy"; not in
    "not soft, but itchy")."""
    if _starts_negated(phrase):
        return True
    text = context.lower().replace("n't", " n't")
    at = text.find(phrase.lower())
    if at < 0:
        return False
    before = re.findall(r"[\w']+|[,;:]", text[:at])[-NEGATION_WINDOW:]
    for word in reversed(before):
        if word in _SCOPE_ENDS:
            return False
        if word in _NEGATIONS:
            return True
    return False


def product_answer(
    records: Sequence[ReviewRecord],
    terms: set[str],
    opinion_words: set[str],
    categories: set[str] = frozenset(),  # type: ignore[assignment]
) -> dict | None:
    """What the reviews of one product say about the aspect a question asks about, or None if none mention it.

    Args:
        records: the product's analysed reviews.
        terms: lemmatised aspect terms of the question ("fabric", "fit" for "does it run small?");
            mentions with the same term match; when none does (the question names no aspect the reviews
            mention: "is it see-through?"), the mentions of the aspect most often described with
            ``opinion_words``.
        opinion_words: lower-case content words of the question that are not aspects ("small", "soft"); those
            of :data:`_UNINFORMATIVE` ("run", "good") are ignored.
        categories: the aspect categories of the question's aspects (``nlp.analysis.categories``); one that names an
            attribute (not ``general`` or ``style/look``) matches every mention of that category first ("does
            it run small?" -> fit/size: "sizing", "waist" and "runs small" alike).

    Returns:
        ``{"aspect" (the category's first name, "fit", when matched by category, else the mentions' most
        frequent text), "category" (the matched category, or None), "reviews" (reviews mentioning it),
        "sentiment" {label: share of those reviews}, "opinion": {"text", "reviews", "share"} | None (the
        opinion saying the question's words most often, and the reviews saying it: opinions with the same
        question words and negation count as one, "runs small" and "runs very small"; "not itchy" is not
        "itchy", :func:`_negated`; a size named is not said: "the extra small fit perfectly"; "opposite": ``{"text",
        "reviews"}`` of the mentions saying the opposite word, :data:`_OPPOSITES`, "runs large" beside "runs
        small", or None), "quote": {"review_id", "text" (the clause of the mention,
        ``nlp.insights.report.aspect_quote``, or the review around the opinion when the clause lacks it),
        "sentiment" (the mention's ``nlp.insights.report.stance``)}: a mention saying the opinion when there is
        one, else one with the most reviews' stance, from the review whose probability of that stance is
        highest, "answer": one readable sentence}``.
    """
    asked = opinion_words - _UNINFORMATIVE
    specific = categories - PRODUCT_CATEGORIES
    matched = _mentions(records, lambda a: a.category in specific)
    by_category = bool(matched)
    matched = matched or _mentions(records, lambda a: a.term in terms)
    if not matched:  # "is it see-through?": the aspect most often described with the question's words
        described = Counter(
            a.term for r in records for a in r.aspects for o in a.opinions if asked & _words(o)
        )
        if described:
            term = described.most_common(1)[0][0]
            matched = _mentions(records, lambda a: a.term == term)
    if not matched:
        return None
    pairs = [(r, a) for r, hits in matched.values() for a in hits]  # (review, matching mention)
    mentions = [a for _, a in pairs]
    category = Counter(a.category for a in mentions).most_common(1)[0][0] if by_category else None
    # a category by its first name ("fit/size" -> "fit"), an aspect term by the reviews' words
    aspect = (
        category.split("/")[0] if category else Counter(a.text.lower() for a in mentions).most_common(1)[0][0]
    )
    n = len(matched)
    labels = Counter(Counter(stance(a) for a in hits).most_common(1)[0][0] for _, hits in matched.values())
    shares = {label: round(labels[label] / n, 4) for label in SENTIMENTS}

    # what each mention says in the question's words, keyed by (negated, the question's words it holds)
    said: dict[tuple, list[tuple[ReviewRecord, AspectRecord, str]]] = {}
    # review id -> its opinions saying the opposite of the question's words ("runs large" for "small")
    opposite: dict[int, list[str]] = {}
    for record, mention in pairs:
        for text in {o.lower() for o in mention.opinions}:
            context = mention.quote or record.text
            said_words = _opinion_words(text, context)
            if asked & said_words:
                key = (_negated(context, text), frozenset(asked & said_words))
                said.setdefault(key, []).append((record, mention, text))
            elif _opposites(asked) & said_words and not _negated(context, text):
                opposite.setdefault(record.review_id, []).append(text)
    opinion = None
    words = ""  # the opinion's own words in the reviews
    if said:
        (negated, _), group = max(
            said.items(),
            key=lambda item: (len({r.review_id for r, _, _ in item[1]}), -item[1][0][0].review_id),
        )
        words = Counter(t for _, _, t in group).most_common(1)[0][0]
        text = f"not {words}" if negated and not _starts_negated(words) else words
        saying = len({r.review_id for r, _, _ in group})
        opinion = {"text": text, "reviews": saying, "share": round(saying / n, 4), "opposite": None}
        say = "says" if saying == 1 else "say"
        answer = f"{saying} of {reviews_that(n, 'mention')} {aspect} {say} \u201c{text}\u201d"
        if opposite and not negated:
            said_instead = Counter(t for texts in opposite.values() for t in set(texts)).most_common(1)[0][0]
            opinion["opposite"] = {"text": said_instead, "reviews": len(opposite)}
            answer += f", {len(opposite)} \u201c{said_instead}\u201d"
        answer += "."
        agreeing = [(r, a) for r, a, t in group if t == words]
    else:
        top = max(shares, key=lambda k: shares[k])
        are = "is" if labels[top] == 1 else "are"
        answer = f"{labels[top]} of {reviews_that(n, 'mention')} {aspect} {are} {top}."
        agreeing = [(r, a) for r, a in pairs if stance(a) == top]
    # the quote says what the answer does (the opinion reported, else the majority stance), from the review
    # that holds its mention's stance most surely
    record, hit = max(
        agreeing, key=lambda pair: (pair[0].scores.get(stance(pair[1]), 0.0), -pair[0].review_id)
    )
    text = aspect_quote(record, hit)
    if (
        words not in text.lower()
    ):  # the clause holds another of the mention's opinions: quote the one reported
        text = shorten_around(record.text, words)
    quote = {"review_id": record.review_id, "text": text, "sentiment": stance(hit)}
    answer += f" One reviewer wrote: \u201c{quote['text']}\u201d"
    return {
        "aspect": aspect,
        "category": category,
        "reviews": n,
        "sentiment": shares,
        "opinion": opinion,
        "quote": quote,
        "answer": answer,
    }


# A yes/no question about the product's own property: "is it itchy?", "are they see through?", "does it
# shrink in the wash?"; the property is what follows the pronoun (a linking verb and degree words aside).
_PROPERTY_QUESTION = re.compile(
    r"^(?:is|are|was|were|does|do|did|will|would|can|could)\s+(?:it|this|they|these|those|that)\s+"
    r"(?:(?:get|gets|feel|feels|look|looks|seem|seems|be)\s+)?(?:(?:very|too|really|quite|a bit)\s+)?"
    r"(?P<property>[a-z][a-z' -]*?)[\s?.!]*$"
)
#: The longest property a question may ask about ("shrink in the wash").
MAX_PROPERTY_WORDS = 4
#: Ways shoppers write a property whose words are all stop words, as one word.
_PROPERTY_SPELLINGS = {r"see[ -]?(?:through|thru)": "see-through"}
#: Verbs too common to be the property asked about ("does it come in blue?" asks about the colour).
_LIGHT_VERBS = frozenset({"be", "come", "go", "get", "have", "make", "take", "look", "feel", "work", "need"})


#: Degree words before a property ("is this sweater *really* scratchy?").
_DEGREE = frozenset({"very", "too", "really", "quite", "so", "bit", "a", "little"})


def asked_property(question: str, names: frozenset[str] | set[str] = frozenset()) -> list[str]:
    """The property a yes/no question asks of the product, longest phrase first, or [] for any other
    question: "Is it see through?" -> ["see-through"], "does it shrink in the wash?" -> ["shrink in the wash",
    "shrink in the", "shrink in", "shrink"]; with the thing asked about named by a garment word
    (:data:`nlp.analysis.categories.PRODUCT_WORDS`) or one of ``names`` (the question's aspect terms), "is this
    sweater really scratchy?" -> ["scratchy"]. Lower case; a property longer than :data:`MAX_PROPERTY_WORDS`
    gives none, and a phrase needs a word that is neither a stop word (spaCy's), a light verb ("does it come in
    blue?" gives none) nor one of :data:`_UNINFORMATIVE` ("does it run small?" gives "run small", not "run")."""
    found = _PROPERTY_QUESTION.match(" ".join(question.lower().split()))
    if not found:
        return []
    text = found["property"]
    for written, usual in _PROPERTY_SPELLINGS.items():
        text = re.sub(rf"\b{written}\b", usual, text)
    words = text.split()
    if words and words[0] in names | PRODUCT_WORDS:
        words = words[1:]
        while words[:-1] and words[0] in _DEGREE:
            words = words[1:]
    if len(words) > MAX_PROPERTY_WORDS:  # "will it be sunny in brighton on saturday?": not the product's
        return []
    phrases = (words[:n] for n in range(len(words), 0, -1))
    return [" ".join(p) for p in phrases if set(p) - STOP_WORDS - _LIGHT_VERBS - _UNINFORMATIVE]


def _phrase_pattern(phrase: str) -> re.Pattern:
    """``phrase`` as a whole-word, case-insensitive pattern: hyphens and spaces alike between its parts, a
    regular inflection of each word ("shrink" finds "shrinks", "shrinking"; "run small" finds "runs small"), and
    the past forms of a verb by lemminflect's English lexicon ("shrink" and "shrinking" find "shrank", "shrunk";
    "run small", "ran small"). Not every form of the verb: "lined" is not "lining" nor "lines", which name other
    things."""
    return re.compile(
        r"\b" + r"[\s-]+".join(map(_word_forms, re.split(r"[\s-]+", phrase))) + r"\b", re.IGNORECASE
    )


def _word_forms(word: str) -> str:
    """A pattern of ``word`` with its regular inflections and its past forms as a verb (:func:`_phrase_pattern`)."""
    past = {
        form
        for lemma in getAllLemmas(word).get("VERB", ())
        for tag in ("VBD", "VBN")
        for form in getAllInflections(lemma, upos="VERB").get(tag, ())
    } - {word}
    return "(?:" + "|".join([rf"{re.escape(word)}(?:s|es|ed|d|ing)?", *map(re.escape, sorted(past))]) + ")"


def _sentence_with(text: str, pattern: re.Pattern) -> tuple[str, str] | None:
    """The first sentence of ``text`` where ``pattern`` matches and the words it matched, or None."""
    for sentence in re.split(r"(?<=[.!?])\s+", text):
        if found := pattern.search(sentence):
            return sentence, found.group()
    return None


def phrase_answer(records: Sequence[ReviewRecord], phrases: Sequence[str]) -> dict | None:
    """What a product's reviews say in the words of a property question that names no aspect the analysis
    knows ("is it itchy?": "1 of 3 reviews says “itchy”, 1 “not itchy”", with a quote), or None when no review
    uses one of ``phrases`` (:func:`asked_property`; the longest one found is used).

    Counted over the reviews the models read (``ReviewRecord.read``); a review whose sentence negates the
    phrase (:func:`_negated`: "soft, not itchy", "i did not find it itchy") says "not itchy". Returns
    :func:`product_answer`'s shape: ``aspect`` the phrase, ``category`` None, ``reviews`` the reviews using it,
    ``sentiment`` their document labels' shares, ``opinion`` ``{"text": the phrase or "not" and the phrase,
    whichever more reviews say (the phrase on a tie), "reviews": those reviews, "share": of the reviews read,
    "opposite": the reviews saying its opposite when the phrase is said (:func:`_saying_the_opposite`: "run large"
    beside "run small") or None}`` and a ``quote``: that side's sentence from the review most sure of its label,
    with that label.
    """
    read = [r for r in records if r.read]
    for phrase in phrases:
        pattern = _phrase_pattern(phrase)
        # review id -> (its first sentence using the phrase, the words found there)
        found = {r.review_id: hit for r in read if (hit := _sentence_with(r.text, pattern))}
        if found:
            break
    else:
        return None
    saying = [r for r in read if r.review_id in found]
    negated = {r.review_id: _negated(*found[r.review_id]) for r in saying}
    denying = [r for r in saying if negated[r.review_id]]
    affirming = [r for r in saying if not negated[r.review_id]]
    side, text = (affirming, phrase) if len(affirming) >= len(denying) else (denying, f"not {phrase}")
    record = max(side, key=lambda r: (r.scores.get(r.sentiment, 0.0), -r.review_id))
    sentence, words = found[record.review_id]
    quote = {
        "review_id": record.review_id,
        "text": shorten_around(sentence, words),
        "sentiment": record.sentiment,
    }
    labels = Counter(r.sentiment for r in saying)
    noun = "review" if len(read) == 1 else "reviews"
    say = "says" if len(side) == 1 else "say"
    other = denying if side is affirming else affirming
    also = f", {len(other)} \u201c{phrase if side is denying else 'not ' + phrase}\u201d" if other else ""
    opposite = _saying_the_opposite(read, phrase) if side is affirming else None
    if opposite:
        also += f", {opposite['reviews']} \u201c{opposite['text']}\u201d"
    return {
        "aspect": phrase,
        "category": None,
        "reviews": len(saying),
        "sentiment": {label: round(labels[label] / len(saying), 4) for label in SENTIMENTS},
        "opinion": {
            "text": text,
            "reviews": len(side),
            "share": round(len(side) / len(read), 4),
            "opposite": opposite,
        },
        "quote": quote,
        "answer": f"{len(side)} of {len(read)} {noun} {say} \u201c{text}\u201d{also}."
        f" One reviewer wrote: \u201c{quote['text']}\u201d",
    }


def _saying_the_opposite(records: Sequence[ReviewRecord], phrase: str) -> dict | None:
    """``{"text", "reviews"}``: how many of ``records`` say ``phrase`` with one word turned to its opposite
    (:data:`_OPPOSITES`: "run small" -> "run large", "run big"), unnegated, and the words most of them use; None
    when none does or the phrase has no such word."""
    words = phrase.split()
    patterns = [
        _phrase_pattern(" ".join([*words[:k], opposite, *words[k + 1 :]]))
        for k, word in enumerate(words)
        for opposite in _OPPOSITES.get(word, ())
    ]
    said: Counter[str] = Counter()
    for record in records:
        hits = [hit for pattern in patterns if (hit := _sentence_with(record.text, pattern))]
        unnegated = [found.lower() for sentence, found in hits if not _negated(sentence, found)]
        if unnegated:
            said[unnegated[0]] += 1
    if not said:
        return None
    return {"text": said.most_common(1)[0][0], "reviews": sum(said.values())}


#: What a general question about the product asks for: its criticism ("what do people dislike about it?"), its
#: praise ("what do people like about it?") or the whole ("would you recommend it?"), first match wins.
_OVERVIEW_CUES = (
    ("negative", re.compile(
        r"\b(?:dislike\w*|(?:do|did)(?: not|n't) like|complain\w*|complaints?|problems?|issues?|wrong|cons|"
        r"downsides?|negatives?|bad reviews?|hate)\b")),
    ("positive", re.compile(r"\b(?:(?:like|love)s? about|pros|positives?|praised?|good reviews?|best thing)\b")),
    ("overall", re.compile(
        r"\b(?:recommend\w*|worth (?:it|buying|getting)|overall|think (?:of|about)|opinions?|"
        r"(?:people|reviewers|customers|buyers|reviews) (?:say|think|like|love)|how (?:is|was|are) (?:it|this|they)|"
        r"good buy|any good)\b")),
)  # fmt: skip


def asked_overview(question: str) -> str | None:
    """``"negative"``, ``"positive"`` or ``"overall"``: what a general question about a product asks of its
    reviews (:data:`_OVERVIEW_CUES`), or None for any other question."""
    text = " ".join(question.lower().split())
    return next((side for side, cue in _OVERVIEW_CUES if cue.search(text)), None)


def overview_answer(records: Sequence[ReviewRecord], side: str) -> dict | None:
    """The reviews' verdict on the product for a general question (:func:`asked_overview`), or None when no
    review was read: the share of positive and negative reviews and the aspects praised and criticised most
    (``nlp.insights.report.product_insights``; the product itself, category ``general``, left out), with a
    quote of the side asked about (criticism for ``negative``; praise for ``positive``; for ``overall`` the side
    most reviews take; None without such a quote). Returns :func:`product_answer`'s shape: ``aspect`` "the product", ``category`` and
    ``opinion`` None, ``reviews`` the reviews read, ``sentiment`` their shares."""
    insights = product_insights(records)
    read = insights["review_count"] - insights["unread_reviews"]
    if not read:
        return None
    shares = insights["sentiment_distribution"]
    top = {
        polarity: [a for a in insights[key] if a["category"] != GENERAL and a["quotes"]]
        for polarity, key in (("positive", "praised_aspects"), ("negative", "criticised_aspects"))
    }
    noun = "review" if read == 1 else "reviews"
    answer = (
        f"{round(100 * shares['positive'])}% of {read} {noun} are positive, "
        f"{round(100 * shares['negative'])}% negative."
    )
    named = {"positive": "Praised most", "negative": "Criticised most"}
    for polarity in ("positive", "negative") if side == "overall" else (side,):
        if top[polarity]:
            aspects = ", ".join(a["aspect"] for a in top[polarity][:3])
            answer += f" {named[polarity]}: {aspects}."
    quoted = side if side != "overall" else max(("positive", "negative"), key=lambda k: shares[k])
    if not top[quoted]:
        return None
    quote = top[quoted][0]["quotes"][0]
    return {
        "aspect": "the product",
        "category": None,
        "reviews": read,
        "sentiment": shares,
        "opinion": None,
        "quote": quote,
        "answer": f"{answer} One reviewer wrote: \u201c{quote['text']}\u201d",
    }
