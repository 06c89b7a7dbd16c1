"""Answering customer questions through ``POST /v1/answer``, the NLU fallback, and the human handoff."""

from __future__ import annotations

import logging
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


class ActionAnswerQuestion(Action):
    """Answers the latest question (or, after ``product_question_form``, the product question asked before
    it) from the knowledge base or the product's reviews. A question the API finds out of scope or is
    unsure about gets a clarifying question; the next one goes to a person (slot ``handoff``)."""

    def name(self) -> str:
        return "action_answer_question"

    @never_raises
    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        question = latest_text(tracker)
        if last_action(tracker) == "product_question_form" and tracker.get_slot("product_question"):
            question = tracker.get_slot("product_question")
        if not question:
            dispatcher.utter_message(response="utter_default")
            return []
        answer = await ask_api(tracker, question)
        if answer is None:
            dispatcher.utter_message(response="utter_api_unavailable")
            return []
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
