"""spaCy's attribute ruler, with its one-token rules looked up per token instead of matched.

In the English pipelines the attribute ruler maps every token's fine-grained tag to its coarse part of speech and
morphology, with exceptions by word form and dependency label (179 rules in ``en_core_web_sm`` 3.8). spaCy runs
all of them through its ``Matcher`` on every token, about a third of the parse of a clothing review (README,
"Speed", gives the one-off timings and the interleaved comparison). A rule of one token that compares its tag, lower-case
form, dependency label or whitespace flag with fixed values decides the same for every token with the same four
values, so :class:`MemoisedAttributeRuler` decides each combination once; the few other rules (regular
expressions, two-token phrases) still go through a ``Matcher``. The rules apply in the stock order, a later rule
overriding an earlier one: the output equals the stock ruler's (``tests/integration/test_text_preparer.py``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from spacy.language import Language
from spacy.matcher import Matcher
from spacy.parts_of_speech import IDS as POS_IDS
from spacy.tokens import Doc, MorphAnalysis, Token
from spacy.vocab import Vocab

#: The factory name :func:`use_memoised_attribute_ruler` puts in place of spaCy's ``attribute_ruler``.
FACTORY = "memoised_attribute_ruler"

#: Token attributes a one-token rule may test, as read from the token for the lookup key.
_KEY_ATTRIBUTES: dict[str, Callable[[Token], Any]] = {
    "TAG": lambda t: t.tag_,
    "LOWER": lambda t: t.lower_,
    "DEP": lambda t: t.dep_,
    "IS_SPACE": lambda t: t.is_space,
}
_SETTABLE = ("POS", "TAG", "LEMMA", "DEP", "MORPH")


#: A test of one attribute's value: ``(True, values)`` passes when the value is one of ``values``,
#: ``(False, values)`` when it is none of them.
_Test = tuple[bool, frozenset]


def _one_token_tests(pattern: list[dict]) -> dict[str, _Test] | None:
    """``{attribute: test}`` for a one-token pattern of equality and IN / NOT_IN tests on the key attributes,
    else None (the pattern stays with the ``Matcher``)."""
    if len(pattern) != 1 or not set(pattern[0]) <= set(_KEY_ATTRIBUTES):
        return None
    tests: dict[str, _Test] = {}
    for attribute, wanted in pattern[0].items():
        if isinstance(wanted, str | bool):
            tests[attribute] = (True, frozenset([wanted]))
        elif isinstance(wanted, dict) and len(wanted) == 1 and set(wanted) <= {"IN", "NOT_IN"}:
            tests[attribute] = ("IN" in wanted, frozenset(next(iter(wanted.values()))))
        else:
            return None
    return tests


class MemoisedAttributeRuler:
    """A drop-in for spaCy's ``AttributeRuler`` built from its ``patterns`` (same format: ``patterns``,
    ``attrs``, ``index``), giving the same token attributes faster; see the module docstring.

    Raises:
        ValueError: a rule sets an attribute outside POS, TAG, LEMMA, DEP and MORPH.
    """

    def __init__(self, vocab: Vocab, rules: Sequence[dict]) -> None:
        self.vocab = vocab
        self._settings = [self._setting(rule["attrs"]) for rule in rules]
        self._indices = [rule.get("index", 0) for rule in rules]
        self._one_token: list[tuple[int, list[dict[str, _Test]]]] = []
        self._matcher = Matcher(vocab)
        relevant: dict[str, set] = {attribute: set() for attribute in _KEY_ATTRIBUTES}
        for order, rule in enumerate(rules):
            alternatives = [_one_token_tests(pattern) for pattern in rule["patterns"]]
            if all(tests is not None for tests in alternatives):
                self._one_token.append((order, [tests for tests in alternatives if tests is not None]))
                for tests in self._one_token[-1][1]:
                    for attribute, (_, values) in tests.items():
                        relevant[attribute] |= values
            else:
                self._matcher.add(str(order), rule["patterns"])
        # A value no rule names is tested like any other unnamed value: all map to None in the key.
        self._relevant = [(read, relevant[name]) for name, read in _KEY_ATTRIBUTES.items()]
        self._decided: dict[tuple, list[int]] = {}

    def _setting(self, attrs: dict) -> list[tuple[str, Any]]:
        if not set(attrs) <= set(_SETTABLE):
            raise ValueError(f"attribute rule sets {sorted(set(attrs) - set(_SETTABLE))}")
        values = {
            "POS": lambda v: POS_IDS[v],
            "MORPH": lambda v: MorphAnalysis(self.vocab, v),
        }
        return [
            (name.lower(), values.get(name, self.vocab.strings.add)(value)) for name, value in attrs.items()
        ]

    def _rules_for(self, key: tuple) -> list[int]:
        decided = self._decided.get(key)
        if decided is None:
            values = dict(zip(_KEY_ATTRIBUTES, key, strict=True))
            decided = [
                order
                for order, alternatives in self._one_token
                if any(
                    all((values[a] in named) == inside for a, (inside, named) in tests.items())
                    for tests in alternatives
                )
            ]
            self._decided[key] = decided
        return decided

    def __call__(self, doc: Doc) -> Doc:
        """Set the rules' attributes on ``doc``'s tokens in place; returns ``doc``."""
        extra: dict[int, list[int]] = {}
        for match_id, start, end in self._matcher(doc, allow_missing=True):
            order = int(self.vocab.strings[match_id])
            index = self._indices[order]
            position = (start if index >= 0 else end) + index
            if not start <= position < end:
                raise ValueError(f"attribute rule {order}: index {index} is outside its match {start}-{end}")
            extra.setdefault(position, []).append(order)
        for token in doc:
            key = tuple(
                value if value in named else None
                for value, named in ((read(token), named) for read, named in self._relevant)
            )
            orders = self._rules_for(key)
            if token.i in extra:
                orders = sorted(orders + extra[token.i])
            for order in orders:
                for name, value in self._settings[order]:
                    setattr(token, name, value)
        return doc


@Language.factory(FACTORY, default_config={"rules": []})
def _make_memoised_attribute_ruler(nlp: Language, name: str, rules: list[dict]) -> MemoisedAttributeRuler:
    return MemoisedAttributeRuler(nlp.vocab, rules)


def use_memoised_attribute_ruler(nlp: Language, name: str = "attribute_ruler") -> None:
    """Replace ``nlp``'s attribute ruler ``name`` in place by a :class:`MemoisedAttributeRuler` with its rules,
    under the same name. Leaves the pipeline as it is when it has no such component or a rule sets an attribute
    the memoised ruler does not."""
    if name not in nlp.pipe_names:
        return
    rules = nlp.get_pipe(name).patterns  # type: ignore[attr-defined]
    if any(not set(rule["attrs"]) <= set(_SETTABLE) for rule in rules):
        return
    nlp.replace_pipe(name, FACTORY, config={"rules": rules})
