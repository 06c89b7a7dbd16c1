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
from spacy.lang.en.stop_words import STOP_WORDS

from nlp.analysis.categories import PRODUCT_CATEGORIES
from nlp.insights.report import AspectRecord, ReviewRecord, aspect_quote, shorten_around, stance

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


def product_answer(
    records: Sequence[ReviewRecord],
    terms: set[str],
    topic_ids: set[int],
    opinion_words: set[str],
    categories: set[str] = frozenset(),  # type: ignore[assignment]
) -> dict | None:
    """What the reviews of one product say about the aspect a question asks about, or None if none mention it.

    Args:
        records: the product's analysed reviews.
        terms: lemmatised aspect terms of the question ("fabric", "fit" for "does it run small?");
            mentions with the same term match.
        topic_ids: the question's aspect topics; when no mention has one of ``terms``, mentions in the same
            topic match instead (-1 is ignored); when none does either (the question names no aspect: "does
            it run small?"), the mentions of the aspect most often described with ``opinion_words``.
        opinion_words: lower-case content words of the question that are not aspects ("small", "soft").
        categories: the aspect categories of the question's aspects (``nlp.analysis.categories``); one that names an
            attribute (not ``general`` or ``style/look``) matches every mention of that category first ("does
            it run small?" -> fit/size: "sizing", "waist" and "runs small" alike).

    Returns:
        ``{"aspect" (the category's first name, "fit", when matched by category, else the mentions' most
        frequent text), "category" (the matched category, or None), "reviews" (reviews mentioning it),
        "sentiment" {label: share of those reviews}, "opinion": {"text", "reviews", "share"} | None (the most
        frequent opinion sharing a word with the question, and the reviews with any such opinion), "quote":
        {"review_id", "text" (the clause of the mention, ``nlp.insights.report.aspect_quote``), "sentiment" (the
        mention's ``nlp.insights.report.stance``)}: a mention saying the opinion when there is one, else one
        with the most reviews' stance, from the review whose probability of that stance is highest,
        "answer": one readable sentence}``.
    """
    topic_ids = topic_ids - {-1}
    specific = categories - PRODUCT_CATEGORIES
    matched = _mentions(records, lambda a: a.category in specific)
    by_category = bool(matched)
    matched = (
        matched
        or _mentions(records, lambda a: a.term in terms)
        or _mentions(records, lambda a: a.topic_id in topic_ids)
    )
    if not matched:  # "is it see-through?": the aspect most often described with the question's words
        described = Counter(
            a.term for r in records for a in r.aspects for o in a.opinions if opinion_words & _words(o)
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
    shares = {label: round(labels[label] / n, 4) for label in ("negative", "neutral", "positive")}

    said_by: Counter[str] = Counter()  # opinion text -> reviews saying it
    saying = 0  # reviews saying any opinion that shares a word with the question
    for _, hits in matched.values():
        said = {o.lower() for a in hits for o in a.opinions if opinion_words & _words(o)}
        said_by.update(said)
        saying += bool(said)
    opinion = None
    if said_by:
        text = said_by.most_common(1)[0][0]
        opinion = {"text": text, "reviews": saying, "share": round(saying / n, 4)}
        say = "says" if saying == 1 else "say"
        answer = f"{saying} of {reviews_that(n, 'mention')} {aspect} {say} \u201c{text}\u201d."
        agreeing = [(r, a) for r, a in pairs if text in {o.lower() for o in a.opinions}]
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
    quote = {"review_id": record.review_id, "text": aspect_quote(record, hit), "sentiment": stance(hit)}
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


def asked_property(question: str) -> list[str]:
    """The property a yes/no question asks of the product, longest phrase first, or [] for any other
    question: "Is it see through?" -> ["see-through"], "does it shrink in the wash?" -> ["shrink in the wash",
    "shrink in the", "shrink in", "shrink"]. Lower case; a property longer than :data:`MAX_PROPERTY_WORDS`
    gives none, and a phrase needs a word that is neither a stop word (spaCy's) nor a light verb ("does it
    come in blue?" gives none)."""
    found = _PROPERTY_QUESTION.match(" ".join(question.lower().split()))
    if not found:
        return []
    text = found["property"]
    for written, usual in _PROPERTY_SPELLINGS.items():
        text = re.sub(rf"\b{written}\b", usual, text)
    words = text.split()
    if len(words) > MAX_PROPERTY_WORDS:  # "will it be sunny in brighton on saturday?": not the product's
        return []
    phrases = (words[:n] for n in range(len(words), 0, -1))
    return [" ".join(p) for p in phrases if set(p) - STOP_WORDS - _LIGHT_VERBS]


def _phrase_pattern(phrase: str) -> re.Pattern:
    """``phrase`` as a whole-word, case-insensitive pattern: hyphens and spaces alike between its parts, and
    a regular inflection of its last word ("shrink" finds "shrinks", "shrinking")."""
    parts = [re.escape(part) for part in re.split(r"[\s-]+", phrase)]
    return re.compile(r"\b" + r"[\s-]+".join(parts) + r"(?:s|es|ed|d|ing)?\b", re.IGNORECASE)


def phrase_answer(records: Sequence[ReviewRecord], phrases: Sequence[str]) -> dict | None:
    """What a product's reviews say in the words of a property question that names no aspect the analysis
    knows ("is it itchy?": "2 of 5 reviews mention “itchy”", with a quote), or None when no review
    uses one of ``phrases`` (:func:`asked_property`; the longest one found is used).

    Counted over the reviews the models read (``ReviewRecord.read``); a review saying "not itchy" mentions
    "itchy" too, and the quote lets the shopper see which. Returns :func:`product_answer`'s shape, with
    ``aspect`` the phrase, ``category`` None, ``reviews`` the reviews mentioning it, ``sentiment`` their document
    labels' shares, ``opinion`` ``{"text": phrase, "reviews": mentioning, "share": of the reviews read}`` and a
    ``quote``: the sentence around the phrase from the review most sure of its label, with that label.
    """
    read = [r for r in records if r.read]
    for phrase in phrases:
        pattern = _phrase_pattern(phrase)
        saying = [r for r in read if pattern.search(r.text)]
        if saying:
            break
    else:
        return None
    labels = Counter(r.sentiment for r in saying)
    record = max(saying, key=lambda r: (r.scores.get(r.sentiment, 0.0), -r.review_id))
    sentence = next(s for s in re.split(r"(?<=[.!?])\s+", record.text) if pattern.search(s))
    quote = {
        "review_id": record.review_id,
        "text": shorten_around(sentence, pattern.search(sentence).group()),  # type: ignore[union-attr]
        "sentiment": record.sentiment,
    }
    noun = "review" if len(read) == 1 else "reviews"
    mention = "mentions" if len(saying) == 1 else "mention"
    return {
        "aspect": phrase,
        "category": None,
        "reviews": len(saying),
        "sentiment": {
            label: round(labels[label] / len(saying), 4) for label in ("negative", "neutral", "positive")
        },
        "opinion": {"text": phrase, "reviews": len(saying), "share": round(len(saying) / len(read), 4)},
        "quote": quote,
        "answer": f"{len(saying)} of {len(read)} {noun} {mention} \u201c{phrase}\u201d."
        f" One reviewer wrote: \u201c{quote['text']}\u201d",
    }
