"""Answering customer questions through ``POST /v1/answer``, the NLU fallback, and the human handoff."""

from __future__ import annotations

import logging
import re
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet, UserUtteranceReverted
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from chatbot.actions.api_client import ApiError, ReviewPulseClient
from chatbot.actions.common import is_confident, last_action, latest_text, never_raises

logger = logging.getLogger(__name__)

#: Clarifying questions asked in a row before the conversation goes to a person.
MAX_CLARIFICATIONS = 1


async def ask_api(tracker: Tracker, question: str) -> dict[str, Any] | None:
    """``POST /v1/answer`` for ``question`` with the conversation's order and product as context; None when
    the API cannot answer (down, slow, failing). A product the catalogue no longer has (404) is dropped
    from the context."""
    client = ReviewPulseClient()
    order_id, product_id = tracker.get_slot("order_id"), tracker.get_slot("product_id")
    try:
        try:
            return await client.answer(question, tracker.sender_id, order_id, product_id)
        except ApiError as exc:
            if exc.status != 404 or not product_id:
                raise
            return await client.answer(question, tracker.sender_id, order_id, None)
    except ApiError as exc:
        logger.warning("no answer from the API: %s", exc)
        return None


def review_answer(answer: dict[str, Any]) -> dict[str, Any] | None:
    """The custom payload of an answer from a product's reviews, for a chat front-end that shows the quote
    it rests on apart from the text: ``{"type": "review_answer", "text", "product_id", "aspect", "reviews",
    "quote": {"text", "sentiment"}}``. ``text`` is the answer as sent in plain text (the quote included).
    None for an answer from the knowledge base."""
    product = answer.get("product")
    if not product:
        return None
    quote = product.get("quote") or {}
    return {"type": "review_answer", "text": answer["answer"], "product_id": product.get("product_id"),
            "aspect": product.get("aspect"), "reviews": product.get("reviews"),
            "quote": {"text": quote.get("text"), "sentiment": quote.get("sentiment")}}  # fmt: skip


def utter_answer(dispatcher: CollectingDispatcher, answer: dict[str, Any]) -> None:
    """Send the API's answer: its text, plus :func:`review_answer` when it comes from reviews."""
    dispatcher.utter_message(text=answer["answer"], json_message=review_answer(answer))


def entity_slots(answer: dict[str, Any]) -> list[EventType]:
    """Remember the order number the API found in the question, for the next questions' context."""
    orders = [e["value"] for e in answer.get("entities") or [] if e.get("type") == "order_id"]
    return [SlotSet("order_id", orders[0])] if orders else []


#: Words of a question that say nothing about what it asks (``description_answers``).
_QUESTION_WORDS = frozenset((
    "a", "about", "an", "and", "any", "are", "as", "at", "be", "been", "but", "by", "can", "could", "did",
    "do", "does", "for", "from", "has", "have", "how", "i", "if", "in", "is", "it", "its", "me", "much",
    "many", "my", "of", "on", "or", "quite", "really", "should", "so", "that", "the", "their", "them",
    "there", "these", "they", "this", "those", "to", "very", "was", "what", "when", "where", "which", "who",
    "will", "with", "would", "you", "your",
))  # fmt: skip
_WORD = re.compile(r"[a-z]+")
#: Two words of at least this many letters starting with them are taken for the same word ("itch", "itchy").
_SAME_STEM = 4


def _content_words(text: str) -> set[str]:
    return {w for w in _WORD.findall(text.lower()) if w not in _QUESTION_WORDS and len(w) > 2}


def description_answers(question: str, description: str) -> bool:
    """Whether the product's ``description`` speaks to ``question``: a content word of the question is one of
    the description's, or one starts the other with at least four letters ("itch" / "itchy", "wash" /
    "washable"). "is it itchy?" and "A soft merino wool sweater, not itchy." do; "is it see through?" and "A
    midi wrap dress in washed linen" do not."""
    asked, described = _content_words(question), _content_words(description)
    return any(
        a == d or (min(len(a), len(d)) >= _SAME_STEM and (a.startswith(d) or d.startswith(a)))
        for a in asked
        for d in described
    )


async def utter_unanswered_product_question(
    dispatcher: CollectingDispatcher, question: str, product_id: str
) -> None:
    """The answer to a question about the product ``product_id`` that its reviews do not answer: its
    description from the catalogue (``GET /v1/products/{id}``) when that speaks to the question, else that
    the reviews do not say. The product is named by its code when the catalogue cannot be reached."""
    try:
        product = await ReviewPulseClient().product(product_id)
    except ApiError as exc:
        logger.warning("could not read product %r: %s", product_id, exc)
        product = {}
    product = product if isinstance(product, dict) else {}
    name = str(product.get("name") or product_id)
    description = str(product.get("description") or "").strip()
    if description and description_answers(question, description):
        dispatcher.utter_message(
            response="utter_product_question_description", product_name=name, description=description
        )
    else:
        dispatcher.utter_message(response="utter_product_question_unanswered", product_name=name)


class ActionAnswerQuestion(Action):
    """Answers the latest question (or, after ``product_question_form``, the product question asked before
    it) from the knowledge base or the product's reviews. A question the API finds out of scope or is
    unsure about gets a clarifying question; the next one goes to a person (slot ``handoff``). A product
    question (after ``product_question_form``) the reviews do not answer gets
    :func:`utter_unanswered_product_question`, never a knowledge-base answer or the clarifying question."""

    def name(self) -> str:
        return "action_answer_question"

    @never_raises
    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        question = latest_text(tracker)
        product_question = last_action(tracker) == "product_question_form"
        if product_question and tracker.get_slot("product_question"):
            question = tracker.get_slot("product_question")
        if not question:
            dispatcher.utter_message(response="utter_default")
            return []
        answer = await ask_api(tracker, question)
        if answer is None:
            dispatcher.utter_message(response="utter_api_unavailable")
            return []
        product_id = tracker.get_slot("product_id")
        if product_question and product_id and not answer.get("product"):
            # Rasa took it for a question about the product; the reviews do not answer it, and neither the
            # knowledge base (orders, delivery, payments: "is it see through" is not "track_order") nor the
            # out-of-scope clarifying question is an answer about the product
            await utter_unanswered_product_question(dispatcher, question, product_id)
            return [SlotSet("clarifications", 0.0)]
        if is_confident(answer) and answer.get("answer"):
            utter_answer(dispatcher, answer)
            return [SlotSet("clarifications", 0.0), *entity_slots(answer)]
        asked = int(tracker.get_slot("clarifications") or 0)
        if asked < MAX_CLARIFICATIONS:
            dispatcher.utter_message(response="utter_ask_rephrase")
            return [SlotSet("clarifications", float(asked + 1))]
        dispatcher.utter_message(response="utter_handoff")
        return [SlotSet("clarifications", 0.0), SlotSet("handoff", True)]


class ActionDefaultFallback(Action):
    """Rasa's fallback (low NLU or dialogue confidence): the API's own intent classifier gets a chance to
    answer first; if it cannot, the customer is asked to rephrase and the message is forgotten."""

    def name(self) -> str:
        return "action_default_fallback"

    @never_raises
    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        question = latest_text(tracker)
        answer = await ask_api(tracker, question) if question else None
        if answer is not None and is_confident(answer) and answer.get("answer"):
            utter_answer(dispatcher, answer)
            return [SlotSet("clarifications", 0.0), *entity_slots(answer)]
        dispatcher.utter_message(response="utter_default")
        return [UserUtteranceReverted()]


class ActionHumanHandoff(Action):
    """Hands the conversation to a person: tells the customer and sets slot ``handoff`` (which the shop's
    agent desk watches through Rasa's tracker store or event broker)."""

    def name(self) -> str:
        return "action_human_handoff"

    @never_raises
    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        dispatcher.utter_message(response="utter_handoff")
        return [SlotSet("handoff", True), SlotSet("handoff_offered", False)]
