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
#: Answers of the API below the intent confidence in this variable (default 0.5) count as "not understood"
#: (read by :func:`is_confident` when it judges an answer, not at import).
MIN_CONFIDENCE_ENV = "REVIEWPULSE_MIN_CONFIDENCE"


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
    min_confidence = float(os.environ.get(MIN_CONFIDENCE_ENV, "0.5"))
    return not answer.get("out_of_scope", True) and float(intent.get("confidence", 0.0)) >= min_confidence


#: Candidates :func:`named_product` looks at (the recommender's best matches for the message).
NAME_CANDIDATES = 5
_WORD = re.compile(r"[a-z0-9]+")


def _words(text: str) -> set[str]:
    return set(_WORD.findall(text.lower()))


def named_product(text: str, items: list[dict[str, Any]]) -> str | None:
    """The code of the catalogue product ``text`` names ("what do people say about the linen dress?" ->
    ``DRS-101``, "Linen wrap dress"), among ``items`` (``GET /v1/recommendations?q=text``, best first), or None.

    A product is named when the message holds at least two words of its name, or all of them for a
    one-word name: "the linen dress" names "Linen wrap dress", but "the dress" names no product (it could be
    any dress, so a product already in the conversation stays). Most such words wins, then the recommender's
    order.
    """
    said = _words(text)
    best, best_hits = None, 0
    for item in items:
        name = _words(str(item.get("name") or ""))
        hits = len(name & said)
        if hits >= min(2, len(name)) and hits > best_hits and item.get("product_id"):
            best, best_hits = str(item["product_id"]), hits
    return best


async def find_named_product(text: str) -> str | None:
    """:func:`named_product` for ``text``, asking the API's recommender for candidates; None when the API
    cannot be reached or answers something else than a list of items (the form then asks for the product)."""
    try:
        result = await ReviewPulseClient().recommendations(q=text[:500], k=NAME_CANDIDATES)
    except ApiError as exc:
        logger.warning("could not look up a product name: %s", exc)
        return None
    items = result.get("items") if isinstance(result, dict) else None
    return named_product(text, [i for i in items if isinstance(i, dict)] if isinstance(items, list) else [])


class ProductSlotValidation:
    """Form validation of the ``product_id`` slot, mixed into the forms that need a product.

    A product named in the message that starts the form ("does the linen dress run small?") fills the slot,
    replacing the conversation's product; a code typed anywhere is taken by the slot's entity mapping. The
    code is looked up with ``GET /v1/products/{id}``: an unknown code is refused (the form asks again) unless
    the reply names a product; when the API cannot be reached the code is kept, and the action that uses it
    reports the outage.
    """

    async def extract_product_id(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """The product named in the message that started the form, if any (not in a reply to a question of
        the form, which the slot's text mapping reads, nor when the message holds a product code)."""
        text = latest_text(tracker)
        if tracker.get_slot("requested_slot") is not None or not text or PRODUCT_CODE.search(text):
            return {}
        code = await find_named_product(text)
        return {"product_id": code} if code else {}

    async def validate_product_id(
        self, slot_value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """Keep a product code that is in the catalogue, or the product the reply names; refuse the rest."""
        code = product_code(str(slot_value or ""))
        if not code or len(code) > 128:
            return {"product_id": None}
        try:
            await ReviewPulseClient().product(code)
        except ApiError as exc:
            if exc.status == 404:
                named = await find_named_product(str(slot_value))
                if named:
                    return {"product_id": named}
                dispatcher.utter_message(response="utter_product_not_found", product_code=code)
                return {"product_id": None}
            logger.warning("could not check product %r: %s", code, exc)
        return {"product_id": code}
