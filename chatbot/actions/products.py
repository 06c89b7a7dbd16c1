"""What customers say about a product (review insights), and product suggestions."""

from __future__ import annotations

import logging
import re
from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from chatbot.actions.api_client import ApiError, ReviewPulseClient
from chatbot.actions.common import ProductSlotValidation, never_raises

logger = logging.getLogger(__name__)

#: Suggestions shown per answer.
SUGGESTIONS = 3
#: The first line of a suggestions answer.
SUGGESTIONS_INTRO = "Here is what I would suggest:"
_NUMBER = re.compile(r"\d+(?:[.,]\d+)?")


def _percent(share: float) -> str:
    return f"{round(100 * share)}%"


def _aspect_line(verb: str, item: dict[str, Any], polarity: str) -> str:
    """``"They praise the fabric (83% positive in 6 mentions): "So soft ...""``."""
    line = (
        f"{verb} the {item['aspect']} ({_percent(item['share'])} {polarity} in {item['mentions']} mentions)"
    )
    quotes = item.get("quotes") or []
    return f'{line}: "{quotes[0]["text"].strip()}"' if quotes else line


def summarise_insights(insights: dict[str, Any]) -> str:
    """A short summary of ``GET /v1/products/{id}/insights``: reviews, rating, sentiment, the most praised
    and the most criticised aspect with a quote each."""
    name = insights.get("name") or insights.get("product_id")
    count = insights["review_count"]
    head = f"{name}: {count} review{'s' if count != 1 else ''}"
    if insights.get("average_rating") is not None:
        head += f", rated {insights['average_rating']:.1f}/5 on average"
    positive = (insights.get("sentiment_distribution") or {}).get("positive")
    if positive is not None:
        head += f", {_percent(positive)} positive"
    lines = [head + "."]
    praised, criticised = insights.get("praised_aspects") or [], insights.get("criticised_aspects") or []
    lines.append(_aspect_line("Customers praise", praised[0], "positive") + "." if praised
                 else "No aspect stands out as praised yet.")  # fmt: skip
    lines.append(_aspect_line("They criticise", criticised[0], "negative") + "." if criticised
                 else "No aspect is criticised often.")  # fmt: skip
    return "\n".join(lines)


class ActionProductOpinions(Action):
    """ "What do people say about X?": summarises the product's review insights."""

    def name(self) -> str:
        return "action_product_opinions"

    @never_raises
    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        product_id = tracker.get_slot("product_id")
        if not product_id:
            dispatcher.utter_message(response="utter_ask_product_id")
            return []
        try:
            insights = await ReviewPulseClient().insights(product_id)
        except ApiError as exc:
            if exc.status == 404:
                dispatcher.utter_message(response="utter_product_not_found", product_code=product_id)
                return [SlotSet("product_id", None)]
            logger.warning("no insights for %r: %s", product_id, exc)
            dispatcher.utter_message(response="utter_api_unavailable")
            return []
        if not insights.get("review_count"):
            name = insights.get("name") or product_id
            dispatcher.utter_message(response="utter_no_reviews", product_name=name)
            return []
        dispatcher.utter_message(text=summarise_insights(insights))
        return []


def max_price(budget: str | None) -> float | None:
    """The number in a budget ("under $50" -> 50.0, "49,90" -> 49.9), or None."""
    found = _NUMBER.search(budget or "")
    return float(found.group(0).replace(",", ".")) if found else None


def format_suggestions(items: list[dict[str, Any]]) -> str:
    """The intro, then one line per suggestion: name, code and its reasons."""
    lines = [SUGGESTIONS_INTRO]
    for item in items:
        lines.append(f"- {item['name']} ({item['product_id']}): {'; '.join(item['reasons'])}")
    return "\n".join(lines)


def suggestion_cards(text: str, items: list[dict[str, Any]]) -> dict[str, Any]:
    """The custom payload of suggestions, for a chat front-end that shows them as cards:
    ``{"type": "product_suggestions", "text", "intro", "items": [{"product_id", "name", "price",
    "reasons"}]}``, where ``text`` is the plain-text form sent with it (:func:`format_suggestions`)."""
    cards = [{"product_id": item["product_id"], "name": item["name"], "price": item.get("price"),
              "reasons": item["reasons"]} for item in items]  # fmt: skip
    return {"type": "product_suggestions", "text": text, "intro": SUGGESTIONS_INTRO, "items": cards}


#: The ``price_change`` entity's value (its synonym in data/nlu.yml) when the customer asks for cheaper.
LOWER = "lower"


def price_text(price: float) -> str:
    """A price as the answers show it: 59.0 -> "59", 59.9 -> "59.90"."""
    return f"{price:.0f}" if float(price).is_integer() else f"{price:.2f}"


class ActionSuggestProducts(Action):
    """Suggests products from slots ``category``, ``need`` ("true to size") and ``budget`` through
    ``GET /v1/recommendations``: the need and category as the free-text query, the category as a filter
    (dropped if the catalogue names its categories differently and nothing matches), the budget as the
    maximum price. "Show me something cheaper" (slot ``price_change`` = ``lower``) refines the last
    suggestions: the same category, need and budget, below the price of the first (best) product shown
    (slot ``suggested_price``), and the category is kept even if nothing matches."""

    def name(self) -> str:
        return "action_suggest_products"

    @never_raises
    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        category, need = tracker.get_slot("category"), tracker.get_slot("need")
        query = " ".join(part for part in (need, category) if part) or None
        limit = max_price(tracker.get_slot("budget"))
        shown = tracker.get_slot("suggested_price")
        cheaper = tracker.get_slot("price_change") == LOWER and shown is not None
        if cheaper:
            below = round(float(shown) - 0.01, 2)
            limit = below if limit is None else min(limit, below)
        done: list[EventType] = [SlotSet("price_change", None)]
        params = {"q": query, "category": category, "max_price": limit, "k": SUGGESTIONS}
        client = ReviewPulseClient()
        try:
            result = await client.recommendations(**params)
            if not result.get("items") and category and not cheaper:
                result = await client.recommendations(**{**params, "category": None})
        except ApiError as exc:
            logger.warning("no suggestions: %s", exc)
            dispatcher.utter_message(response="utter_suggestions_unavailable")
            return done
        items = result.get("items") or []
        if not items:
            if cheaper:
                dispatcher.utter_message(
                    response="utter_no_cheaper_suggestions", price=price_text(float(shown))
                )
            else:
                dispatcher.utter_message(response="utter_no_suggestions")
            return done
        text = format_suggestions(items[:SUGGESTIONS])
        dispatcher.utter_message(text=text, json_message=suggestion_cards(text, items[:SUGGESTIONS]))
        return [*done, SlotSet("suggested_price", items[0].get("price"))]


def page_product(event: dict[str, Any]) -> str | None:
    """The product code a chat front-end sent as the metadata of a user message (``{"product_id": ...}``),
    or None (absent, not a string, blank or longer than a product code can be)."""
    code = (event.get("metadata") or {}).get("product_id")
    if not isinstance(code, str) or not code.strip() or len(code.strip()) > 128:
        return None
    return code.strip()


class ActionPageProduct(Action):
    """The product of the page the customer chats from. The chat widget sends it with every message as
    metadata; Rasa runs this action on each message through the ``product_id`` slot's custom mapping (after
    the entity mappings: a product code typed in the message wins). The slot follows the page only when it
    changes (another page product than with the previous message), so a product the customer named in the
    chat is kept while they stay on the page. A code the catalogue does not have is ignored; when the API
    cannot be reached the code is kept, and the action that uses it reports the outage. It says nothing:
    should it fail, Rasa logs the failure and the conversation goes on without the page's product."""

    def name(self) -> str:
        return "action_page_product"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        users = [event for event in tracker.events if event.get("event") == "user"]
        code = page_product(users[-1]) if users else None
        if code is None or code == tracker.get_slot("product_id"):
            return []
        if len(users) > 1 and page_product(users[-2]) == code:
            return []  # the same page as before: keep what the conversation has settled on
        try:
            await ReviewPulseClient().product(code)
        except ApiError as exc:
            if exc.status == 404:
                logger.warning("the page's product %r is not in the catalogue", code)
                return []
            logger.warning("could not check the page's product %r: %s", code, exc)
        return [SlotSet("product_id", code)]


class ValidateProductOpinionForm(ProductSlotValidation, FormValidationAction):
    """Checks the product code asked for by ``product_opinion_form``."""

    def name(self) -> str:
        return "validate_product_opinion_form"


class ValidateProductQuestionForm(ProductSlotValidation, FormValidationAction):
    """Checks the product code asked for by ``product_question_form``."""

    def name(self) -> str:
        return "validate_product_question_form"
