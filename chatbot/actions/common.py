"""Helpers the actions share: reading the tracker, and checking a product code against the catalogue."""

from __future__ import annotations

import functools
import logging
import os
import re
from collections.abc import Awaitable, Callable
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from chatbot.actions.api_client import ApiError, ReviewPulseClient

logger = logging.getLogger(__name__)

#: A product code as customers type it ("DRS-101"); the same pattern as the ``product_id`` regex in nlu.yml.
PRODUCT_CODE = re.compile(r"\b[A-Za-z]{2,5}-\d{2,6}\b")
#: Answers of the API below this intent confidence count as "not understood" (``REVIEWPULSE_MIN_CONFIDENCE``).
MIN_CONFIDENCE = float(os.environ.get("REVIEWPULSE_MIN_CONFIDENCE", "0.5"))


RunMethod = Callable[[Any, CollectingDispatcher, Tracker, DomainDict], Awaitable[list[EventType]]]


def never_raises(run: RunMethod) -> RunMethod:
    """Wrap an action's ``run``: an unexpected error (say, an API answer of an unexpected shape) is logged
    and the customer is told politely, instead of Rasa receiving an error and the customer nothing."""

    @functools.wraps(run)
    async def guarded(
        self: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        try:
            return await run(self, dispatcher, tracker, domain)
        except Exception:
            logger.exception("action %s failed", self.name())
            dispatcher.utter_message(response="utter_api_unavailable")
            return []

    return guarded


def latest_text(tracker: Tracker) -> str:
    """The text of the user's latest message (empty if there is none)."""
    return str(tracker.latest_message.get("text") or "").strip()


def latest_intent(tracker: Tracker) -> str | None:
    """The NLU intent of the user's latest message."""
    intent = tracker.latest_message.get("intent") or {}
    return intent.get("name")


def last_action(tracker: Tracker) -> str | None:
    """The name of the last action that ran before the current one (``action_listen`` excluded)."""
    for event in reversed(tracker.events):
        if event.get("event") == "action" and event.get("name") != "action_listen":
            return event.get("name")
    return None


def product_code(text: str) -> str:
    """The product code in a reply ("it's DRS-101." -> "DRS-101"), else the reply itself, stripped of
    surrounding punctuation ("85123A")."""
    found = PRODUCT_CODE.search(text)
    return found.group(0) if found else text.strip().strip(" .,!?;:'\"")


def is_confident(answer: dict[str, Any]) -> bool:
    """Whether an answer of ``POST /v1/answer`` is in scope and confident enough to give to the customer.

    An answer from the product's reviews (``product`` set) is always given: the API chose it because the
    reviews discuss what was asked, and it says how many reviews and quotes one; its intent confidence
    only measures how little the question looks like a support request.
    """
    if answer.get("product"):
        return True
    intent = answer.get("intent") or {}
    return not answer.get("out_of_scope", True) and float(intent.get("confidence", 0.0)) >= MIN_CONFIDENCE


class ProductSlotValidation:
    """Form validation of the ``product_id`` slot, mixed into the forms that need a product.

    The code is looked up with ``GET /v1/products/{id}``: an unknown code is refused (the form asks again);
    when the API cannot be reached the code is kept, and the action that uses it reports the outage.
    """

    async def validate_product_id(
        self, slot_value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """Keep a product code that is in the catalogue; refuse an unknown one."""
        code = product_code(str(slot_value or ""))
        if not code or len(code) > 128:
            return {"product_id": None}
        try:
            await ReviewPulseClient().product(code)
        except ApiError as exc:
            if exc.status == 404:
                dispatcher.utter_message(response="utter_product_not_found", product_code=code)
                return {"product_id": None}
            logger.warning("could not check product %r: %s", code, exc)
        return {"product_id": code}
