"""Customer feedback: ``feedback_form`` collects a product, free text and an optional 1-5 rating, and
``action_submit_feedback`` stores it as a review with ``POST /v1/reviews``."""

from __future__ import annotations

import hashlib
import logging
import re
from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from chatbot.actions.api_client import ApiError, ReviewPulseClient
from chatbot.actions.common import ProductSlotValidation, latest_intent, never_raises

logger = logging.getLogger(__name__)

#: Value of slot ``feedback_rating`` when the customer gives no rating.
NO_RATING = "none"
#: Reviews are stored with this ``source`` (with an ``external_id`` per conversation and text).
SOURCE = "chat"
#: Negative feedback at least this sure (probability of the negative class) is "very negative".
VERY_NEGATIVE = 0.8
_WORDS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5}
_SKIP = re.compile(r"\b(skip|no|none|nope|pass|rather not|no rating|don'?t know)\b", re.IGNORECASE)
_DIGIT = re.compile(r"(?<![\d.])([1-5])(?![\d.])")


def parse_rating(text: str) -> int | None:
    """A 1-5 rating in a reply ("4", "5 stars", "four out of five"), or None."""
    digit = _DIGIT.search(text)
    if digit:
        return int(digit.group(1))
    words = [w for w in re.findall(r"[a-z]+", text.lower()) if w in _WORDS]
    return _WORDS[words[0]] if words else None


class ValidateFeedbackForm(ProductSlotValidation, FormValidationAction):
    """Checks the product code, keeps non-empty feedback text, and reads the rating (1-5 or skipped)."""

    def name(self) -> str:
        return "validate_feedback_form"

    async def validate_feedback_text(
        self, slot_value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """Non-empty text, at most 20,000 characters (the API's limit)."""
        text = str(slot_value or "").strip()
        return {"feedback_text": text[:20_000] or None}

    async def validate_feedback_rating(
        self, slot_value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """ "1".."5" from the reply, ``"none"`` when the customer skips, else ask again."""
        text = str(slot_value or "")
        rating = parse_rating(text)
        if rating is not None:
            return {"feedback_rating": str(rating)}
        if latest_intent(tracker) == "deny" or _SKIP.search(text):
            return {"feedback_rating": NO_RATING}
        dispatcher.utter_message(response="utter_invalid_rating")
        return {"feedback_rating": None}


class ActionSubmitFeedback(Action):
    """Stores the feedback as a review of the product, then answers according to the sentiment the API
    found: thanks, empathy when negative, and an offer of a person when very negative (slot
    ``handoff_offered``). The text is stored once per conversation (``external_id``), however often sent."""

    def name(self) -> str:
        return "action_submit_feedback"

    @never_raises
    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        text = tracker.get_slot("feedback_text") or ""
        rating_slot = tracker.get_slot("feedback_rating")
        rating = int(rating_slot) if rating_slot and rating_slot.isdigit() else None
        reset = [SlotSet("feedback_text", None), SlotSet("feedback_rating", None)]
        digest = hashlib.sha256(f"{tracker.sender_id}\n{text}".encode()).hexdigest()[:32]
        review = {"product_id": tracker.get_slot("product_id"), "text": text, "rating": rating,
                  "source": SOURCE, "external_id": f"chat-{digest}",
                  "author_id": str(tracker.sender_id)[:128]}  # fmt: skip
        try:
            stored = await ReviewPulseClient().submit_review(review)
        except ApiError as exc:
            logger.warning("feedback not stored: %s", exc)
            dispatcher.utter_message(response="utter_feedback_not_saved")
            return reset
        sentiment = stored.get("sentiment") or {}
        label, negative = sentiment.get("label"), float((sentiment.get("scores") or {}).get("negative", 0.0))
        if label != "negative":
            dispatcher.utter_message(response="utter_feedback_positive" if label == "positive"
                                     else "utter_feedback_thanks")  # fmt: skip
            return [*reset, SlotSet("handoff_offered", False)]
        dispatcher.utter_message(response="utter_feedback_empathy")
        if negative >= VERY_NEGATIVE or rating == 1:
            dispatcher.utter_message(response="utter_offer_handoff")
            return [*reset, SlotSet("handoff_offered", True)]
        return [*reset, SlotSet("handoff_offered", False)]
