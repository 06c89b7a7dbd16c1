"""The service's question answering: intent, entities, knowledge-base answer, or an answer from reviews.

Loaded once at start-up. A question about a product in the request
context ("does it run small?") is answered from that product's analysed reviews
(:func:`nlp.intents.answers.product_answer`, or :func:`~nlp.intents.answers.phrase_answer` for a property the
analysis has no aspect for, "is it itchy?") unless the intent model is sure of a support intent
(:data:`SURE_SUPPORT_CONFIDENCE`): when it finds the question out of scope, or when the question names an
attribute category the reviews discuss or says what they say (an opinion such as "runs small"), or asks what
they think of it (:func:`~nlp.intents.answers.overview_answer`: "would you recommend it?").
"""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

from spacy.lang.en.stop_words import STOP_WORDS
from sqlalchemy.orm import Session

from api import store
from api.service.analysis import AnalysisService
from nlp.analysis.categories import PRODUCT_CATEGORIES
from nlp.analysis.pii import find_pii, redact_pii
from nlp.artifacts.registry import Registry
from nlp.insights.report import ReviewRecord
from nlp.intents.answers import (
    KnowledgeBase,
    asked_overview,
    asked_property,
    overview_answer,
    phrase_answer,
    product_answer,
)
from nlp.intents.classifier import IntentClassifier, IntentResult, extract_entities

DEFAULT_KNOWLEDGE_BASE = Path(__file__).parent / "knowledge_base.yml"
PRODUCT_QUESTION = "product_question"
#: A support intent this sure answers a question even on a product page ("can I return it if it doesn't fit?",
#: check_refund_policy at 0.83; "is it possible to pay in instalments?" 0.87); below it the product's reviews
#: may ("what's the quality like?" is review at 0.35, "how is the quality?" review at 0.63, "what do people like
#: about it?" review at 0.61, "is it see through?" track_order at 0.52). Natural dev support questions of the
#: yes/no form scored 0.73 or more.
SURE_SUPPORT_CONFIDENCE = 0.7


class AnswerUnavailableError(RuntimeError):
    """No intent model is registered (train one with ``reviewpulse train intent``)."""


class AnswerService:
    """Answers questions with the registered intent model and the knowledge base.

    Args:
        models_dir: folder holding ``registry.json`` (default ``REVIEWPULSE_MODELS_DIR``).
        knowledge_base: the shop's answers file (default: the shipped example).

    Raises (on :meth:`start`):
        nlp.intents.answers.KnowledgeBaseError: the knowledge-base file is malformed (the service does not start).
    """

    def __init__(self, models_dir: Path | None = None, knowledge_base: Path | None = None) -> None:
        self.models_dir = models_dir
        self.kb_path = knowledge_base or DEFAULT_KNOWLEDGE_BASE
        self.classifier: IntentClassifier | None = None
        self.kb: KnowledgeBase | None = None

    async def start(self) -> None:
        self.kb = KnowledgeBase.load(self.kb_path)
        try:
            path = Registry(self.models_dir).path("intent")
        except KeyError:
            return  # the endpoint answers 503 and says how to train one
        self.classifier = await asyncio.to_thread(IntentClassifier.load, path)

    def _classify(self, question: str) -> tuple[IntentResult, list]:
        """The intent of ``question`` with its PII redacted (:func:`nlp.analysis.pii.redact_pii`: an e-mail
        address sent along would otherwise pull a support question out of scope), and the entities of
        ``question`` that overlap no PII: a card number after "order" is still a card number, so it never
        becomes an ``order_id`` (an order number is not PII, so it survives the redaction)."""
        if self.classifier is None:
            raise AnswerUnavailableError(
                "no intent model is registered; train one with `reviewpulse train intent`"
            )
        [result] = self.classifier.predict([redact_pii(question)])
        pii = find_pii(question)
        entities = [
            e
            for e in extract_entities(question, self.classifier.preparer)
            if all(e.offset + e.length <= span.start or e.offset >= span.end for span in pii)
        ]
        return result, entities

    async def answer(
        self,
        question: str,
        context: dict[str, str | None],
        session: Session,
        analysis: AnalysisService,
    ) -> dict:
        """The ``POST /v1/answer`` body for one question (``context``: ``order_id``, ``product_id``).

        PII (e-mail addresses, phone and card numbers) in the question or the context is never echoed: the
        intent model reads the question with it redacted, it is not returned as an entity, and a context
        value holding some is ignored. Nothing is stored.

        Raises:
            AnswerUnavailableError: no intent model is registered.
            LookupError: ``context["product_id"]`` is not in the catalogue.
        """
        assert self.kb is not None, "start() loads the knowledge base"
        context = {k: v for k, v in context.items() if not (v and find_pii(v))}
        result, entities = await asyncio.to_thread(self._classify, question)
        ranking = [{"name": r.name, "confidence": r.confidence} for r in result.ranking]
        body = {
            "intent": {"name": result.intent, "confidence": result.confidence},
            "ranking": ranking,
            "out_of_scope": result.out_of_scope,
            "entities": [e.__dict__ for e in entities],
            "product": None,
            "model_version": result.model_version,
        }
        product_id = context.get("product_id")
        if product_id and store.get_product(session, product_id) is None:
            raise LookupError(f"product {product_id!r} not found")
        if product_id and (result.out_of_scope or result.confidence < SURE_SUPPORT_CONFIDENCE):
            records = await asyncio.to_thread(store.review_records, session, product_id=product_id)
            found, about_product = await self._from_reviews(question, records, analysis)
            if found is not None and (result.out_of_scope or about_product):
                answer = found.pop("answer")
                confidence = round(1.0 - result.confidence, 4)
                return body | {
                    "intent": {"name": PRODUCT_QUESTION, "confidence": confidence},
                    # the intent answered ranks first, as on every other answer
                    "ranking": [{"name": PRODUCT_QUESTION, "confidence": confidence}, *ranking[:-1]],
                    "out_of_scope": False,
                    "answer": answer,
                    "product": {"product_id": product_id, **found},
                }
        if result.out_of_scope:
            return body | {"answer": self.kb.render(self.kb.out_of_scope)}
        values = dict(context) | {e.type: e.value for e in reversed(entities)}
        return body | {"answer": self.kb.answer(result.intent, values)}

    async def _from_reviews(
        self, question: str, records: list[ReviewRecord], analysis: AnalysisService
    ) -> tuple[dict | None, bool]:
        """``(answer, about the product)``: the reviews' verdict for a general question that names no attribute
        (:func:`overview_answer`: "would you recommend this dress?", "what's wrong with it?"), else
        :func:`product_answer` for the question's aspects, or :func:`phrase_answer` for a property the reviews
        describe in the question's own words ("is it itchy?") when more reviews use them. An unsure support intent
        yields to an answer only with evidence that the question is about the product: a verdict asked for, an
        attribute category its reviews discuss ("what's the quality like?") or what they say in its words."""
        # the question's aspects only: its sentiment is not needed, so the encoders are not run
        aspects = await asyncio.to_thread((await analysis.analyzer()).aspect_categories, question)
        side = asked_overview(question)
        # the product as a whole, no attribute of it: "would you recommend this dress?"
        about_whole = not set(aspects.values()) - PRODUCT_CATEGORIES
        if side and about_whole and (verdict := overview_answer(records, side)):
            return verdict, True
        words = {w for w in re.findall(r"[a-z]+", question.lower()) if w not in STOP_WORDS} - set(aspects)
        found = product_answer(records, set(aspects), words, set(aspects.values()))
        in_words = phrase_answer(records, asked_property(question, set(aspects)))
        # the answer resting on more reviews' words (the reviews' own count both sides, "itchy" and "not itchy"):
        # opinions attached to aspects miss most "itchy"s and "sheer"s ("Itchy scratchy", "very very itchy"), the
        # reviews' words miss "runs small" said as "size down"
        if in_words is not None and (
            found is None or found["opinion"] is None or in_words["reviews"] > found["opinion"]["reviews"]
        ):
            found = in_words
        return found, found is not None and (found["category"] is not None or found["opinion"] is not None)
