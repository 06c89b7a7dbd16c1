"""The real action server (``python -m rasa_sdk --actions chatbot.actions`` on loopback) receiving the
webhook payloads Rasa sends (``next_action``, ``tracker`` with ``latest_message``, slots and events,
``domain``) and calling the real API on loopback, loaded with a small shop through the API.

Faults: the same actions against an API that is stopped (nothing listening), slow (answers after 10 s),
failing (500) or answering nonsense still answer politely, within the client's time limit, with exactly one
retry for reads.
"""

from __future__ import annotations

import sys
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from tests.live import action_server, free_port, running
from tests.shop import load_shop, writer_key

CHATBOT = Path(__file__).resolve().parents[2] / "chatbot"
DOMAIN = yaml.safe_load((CHATBOT / "domain.yml").read_text())
SUPPORT_QUESTION = "How do I get a refund for the dress I sent back?"
OFF_TOPIC = ["Write me a poem about the sea.", "What will the weather be like in Madrid tomorrow?"]


# --- the webhook payload Rasa sends -----------------------------------------------------------------------


def payload(
    action: str,
    text: str,
    intent: str = "support_question",
    slots: dict[str, Any] | None = None,
    after: list[dict] | None = None,
    active_loop: str | None = None,
    sender: str | None = None,
) -> dict:
    """The body of Rasa 3.6's ``POST /webhook`` for ``action``, after the user said ``text``.

    ``after``: events between the user message and this action (slot sets, a form's run); ``slots``: the
    tracker's slot values (domain initial values otherwise).
    """
    sender = sender or f"user-{uuid.uuid4().hex[:8]}"
    now = time.time()
    parse = {"text": text, "intent": {"name": intent, "confidence": 0.93},
             "intent_ranking": [{"name": intent, "confidence": 0.93}], "entities": [],
             "message_id": uuid.uuid4().hex, "metadata": {}}  # fmt: skip
    values = {name: spec.get("initial_value") for name, spec in DOMAIN["slots"].items()}
    values.update({"requested_slot": None, "session_started_metadata": None, **(slots or {})})
    events = [
        {"event": "action", "timestamp": now - 3, "name": "action_session_start"},
        {"event": "session_started", "timestamp": now - 3},
        {"event": "action", "timestamp": now - 2, "name": "action_listen"},
        {"event": "user", "timestamp": now - 1, "text": text, "parse_data": parse, "input_channel": "rest",
         "message_id": parse["message_id"], "metadata": {}},
        *(after or []),
    ]  # fmt: skip
    tracker = {"sender_id": sender, "slots": values, "latest_message": parse, "latest_event_time": now,
               "followup_action": None, "paused": False, "events": events, "latest_input_channel": "rest",
               "active_loop": {"name": active_loop} if active_loop else {},
               "latest_action": {"action_name": "action_listen"}, "latest_action_name": "action_listen"}  # fmt: skip
    return {
        "next_action": action,
        "sender_id": sender,
        "tracker": tracker,
        "domain": DOMAIN,
        "version": "3.6.21",
    }


def run_action(base: str, action: str, text: str, **kwargs: Any) -> dict:
    """POST the payload to the action server's webhook; its ``{"events", "responses"}``."""
    response = httpx.post(f"{base}/webhook", json=payload(action, text, **kwargs), timeout=30)
    assert response.status_code == 200, response.text
    return response.json()


def slot_sets(result: dict) -> dict[str, Any]:
    return {e["name"]: e["value"] for e in result["events"] if e["event"] == "slot"}


def said(result: dict) -> list[str]:
    """What the bot says: response names (``utter_*``) or texts."""
    return [r.get("response") or r.get("text") for r in result["responses"]]


def slot(name: str, value: Any) -> dict:
    return {"event": "slot", "timestamp": time.time(), "name": name, "value": value}


def form_done(form: str) -> list[dict]:
    """The events of a form that found its slots filled and finished."""
    now = time.time()
    return [{"event": "action", "timestamp": now, "name": form},
            {"event": "active_loop", "timestamp": now, "name": None}, slot("requested_slot", None)]  # fmt: skip


# --- fixtures ------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def shop(server):
    load_shop(server["base"], server["headers"])
    return server


@pytest.fixture(scope="module")
def actions(shop, tmp_path_factory):
    """The action server against the real API."""
    with action_server(shop["base"], writer_key(shop["env"]), tmp_path_factory.mktemp("as") / "log") as base:
        yield base


def ask_api(shop: dict, question: str, product_id: str | None = None) -> dict:
    """The API's own answer to ``question`` (what the assistant must relay)."""
    body = {"question": question, "session_id": None, "context": {"order_id": None, "product_id": product_id}}
    response = httpx.post(f"{shop['base']}/v1/answer", json=body, headers=shop["headers"], timeout=60)
    assert response.status_code == 200, response.text
    return response.json()


# --- the project's actions are the server's ------------------------------------------------------------


def test_served_actions_are_the_domain_actions(actions):
    served = {a["name"] for a in httpx.get(f"{actions}/actions", timeout=10).json()}
    assert served == set(DOMAIN["actions"])


# --- questions (POST /v1/answer) -----------------------------------------------------------------------


def test_support_question_is_answered_from_the_knowledge_base(actions, shop):
    expected = ask_api(shop, SUPPORT_QUESTION)
    assert not expected["out_of_scope"] and expected["answer"]
    result = run_action(actions, "action_answer_question", SUPPORT_QUESTION, slots={"clarifications": 1.0})
    assert said(result) == [expected["answer"]]
    assert "{{" not in expected["answer"]
    assert slot_sets(result)["clarifications"] == 0.0  # a good answer ends the clarification streak


def test_product_question_after_the_form_uses_the_question_and_the_product(actions, shop):
    question = "Does the dress run small?"
    expected = ask_api(shop, question, product_id="DRS-101")
    assert expected["intent"]["name"] == "product_question"
    result = run_action(
        actions, "action_answer_question", "it's DRS-101", intent="support_question",
        slots={"product_id": "DRS-101", "product_question": question},
        after=[slot("product_id", "DRS-101"), *form_done("product_question_form")],
    )  # fmt: skip
    assert said(result) == [expected["answer"]]
    # the chat widget sets the review quote the answer rests on apart
    quote = expected["product"]["quote"]
    assert result["responses"][0]["custom"] == {
        "type": "review_answer", "text": expected["answer"], "product_id": "DRS-101",
        "aspect": expected["product"]["aspect"], "reviews": expected["product"]["reviews"],
        "quote": {"text": quote["text"], "sentiment": quote["sentiment"]},
    }  # fmt: skip
    assert f"\u201c{quote['text']}\u201d" in expected["answer"]


#: Product questions on a product page that the shop's reviews do not answer (the API answers them from the
#: knowledge base or flags them out of scope): (question, product, whether its description speaks to it)
UNANSWERED_BY_REVIEWS = [
    ("is it lined?", "COAT-220", True),  # "A warm, lined wool coat for cold winters."; reviews say "lining"
    ("is it see through", "KNT-118", False),  # the API takes it for "track_order" (0.5)
    ("is the fabric see-through", "DRS-101", False),
]


@pytest.mark.parametrize(("question", "product_id", "described"), UNANSWERED_BY_REVIEWS)
def test_a_product_question_the_reviews_do_not_answer_is_answered_about_the_product(
    actions, shop, question, product_id, described
):
    expected = ask_api(shop, question, product_id=product_id)
    assert expected["product"] is None  # not from the reviews: a knowledge-base answer or out of scope
    product = httpx.get(f"{shop['base']}/v1/products/{product_id}", headers=shop["headers"]).json()
    result = run_action(
        actions, "action_answer_question", question, intent="ask_product_question",
        slots={"product_id": product_id, "product_question": question, "clarifications": 1.0},
        after=form_done("product_question_form"),
    )  # fmt: skip
    [response] = result["responses"]
    if described:
        assert response["response"] == "utter_product_question_description"
        assert response["description"] == product["description"]
    else:
        assert response["response"] == "utter_product_question_unanswered"
    assert response["product_name"] == product["name"]
    assert slot_sets(result) == {"clarifications": 0.0}  # an answer, not a clarifying question


def test_a_description_speaks_to_a_question_when_they_share_a_word():
    from chatbot.actions.support import description_answers

    assert description_answers("is it itchy?", "A soft merino wool sweater, not itchy.")
    assert description_answers("is it warm enough for winter", "A warm, lined wool coat for cold winters.")
    assert not description_answers("is it see through", "A midi wrap dress in washed linen, true to size.")
    assert description_answers("does it itch", "Not itchy.")
    assert description_answers("is it washable?", "Wash cold.")
    assert not description_answers("is it any good?", "It is a dress.")


def test_a_knowledge_base_answer_carries_no_custom_payload(actions):
    result = run_action(actions, "action_answer_question", SUPPORT_QUESTION)
    assert not result["responses"][0]["custom"]


def test_an_answer_from_the_reviews_is_given_whatever_the_intent_confidence():
    from chatbot.actions.common import is_confident

    # routed to the reviews because the question echoes their opinions while looking like a support request
    grounded = {"intent": {"name": "product_question", "confidence": 0.3}, "out_of_scope": False,
                "answer": "40% of 10 reviews that mention size say “runs small”.", "product": {"aspect": "size"}}  # fmt: skip
    assert is_confident(grounded)
    assert not is_confident(grounded | {"intent": {"name": "get_refund", "confidence": 0.3}, "product": None})
    assert is_confident(grounded | {"intent": {"name": "get_refund", "confidence": 0.9}, "product": None})
    assert not is_confident(grounded | {"out_of_scope": True, "product": None})


def test_a_product_gone_from_the_catalogue_is_dropped_from_the_context(actions, shop):
    result = run_action(actions, "action_answer_question", SUPPORT_QUESTION, slots={"product_id": "GONE-404"})
    assert said(result) == [ask_api(shop, SUPPORT_QUESTION)["answer"]]


def test_off_topic_gets_a_clarifying_question_then_a_person(actions, shop):
    assert all(ask_api(shop, q)["out_of_scope"] for q in OFF_TOPIC)
    first = run_action(actions, "action_answer_question", OFF_TOPIC[0], intent="out_of_scope")
    assert said(first) == ["utter_ask_rephrase"] and slot_sets(first) == {"clarifications": 1.0}
    second = run_action(
        actions, "action_answer_question", OFF_TOPIC[1], intent="out_of_scope", slots={"clarifications": 1.0}
    )
    assert said(second) == ["utter_handoff"]
    assert slot_sets(second) == {"clarifications": 0.0, "handoff": True}


def test_default_fallback_asks_the_api_before_giving_up(actions, shop):
    answered = run_action(actions, "action_default_fallback", SUPPORT_QUESTION, intent="nlu_fallback")
    assert said(answered) == [ask_api(shop, SUPPORT_QUESTION)["answer"]]
    assert not any(e["event"] == "rewind" for e in answered["events"])
    gave_up = run_action(actions, "action_default_fallback", OFF_TOPIC[0], intent="nlu_fallback")
    assert said(gave_up) == ["utter_default"]
    assert [e["event"] for e in gave_up["events"]] == ["rewind"]  # UserUtteranceReverted


# --- product opinions (GET /v1/products/{id}/insights) -------------------------------------------------


def test_product_opinions_name_one_praised_and_one_criticised_aspect_with_quotes(actions, shop):
    insights = httpx.get(
        f"{shop['base']}/v1/products/DRS-101/insights", headers=shop["headers"], timeout=30
    ).json()
    praised, criticised = insights["praised_aspects"][0], insights["criticised_aspects"][0]
    result = run_action(
        actions, "action_product_opinions", "what do people say about DRS-101?", intent="product_opinion",
        slots={"product_id": "DRS-101"}, after=form_done("product_opinion_form"),
    )  # fmt: skip
    [text] = said(result)
    assert text.startswith(f"Linen wrap dress: {insights['review_count']} reviews")
    assert f"praise the {praised['aspect']}" in text and praised["quotes"][0]["text"].strip() in text
    assert f"criticise the {criticised['aspect']}" in text and criticised["quotes"][0]["text"].strip() in text


def test_product_opinions_of_an_unknown_or_unreviewed_product(actions):
    unknown = run_action(
        actions, "action_product_opinions", "reviews of XYZ-999", slots={"product_id": "XYZ-999"}
    )
    assert unknown["responses"][0]["response"] == "utter_product_not_found"
    assert unknown["responses"][0]["product_code"] == "XYZ-999"
    assert slot_sets(unknown) == {"product_id": None}
    unreviewed = run_action(actions, "action_product_opinions", "reviews?", slots={"product_id": "TOP-500"})
    assert said(unreviewed) == ["utter_no_reviews"]
    assert unreviewed["responses"][0]["product_name"] == "Cotton striped tee"


def test_product_form_checks_the_code_in_the_catalogue(actions):
    def validate(value: str) -> dict:
        return run_action(
            actions, "validate_product_opinion_form", value, intent="product_opinion",
            slots={"product_id": value, "requested_slot": "product_id"},
            after=[slot("product_id", value)], active_loop="product_opinion_form",
        )  # fmt: skip

    assert slot_sets(validate("it's COAT-220, thanks")) == {"product_id": "COAT-220"}
    refused = validate("ABC-123")
    assert slot_sets(refused) == {"product_id": None} and said(refused) == ["utter_product_not_found"]


def test_a_product_named_in_the_message_that_starts_the_form_fills_the_slot(actions):
    def start(text: str, product_id: str | None = None) -> dict:
        return run_action(
            actions, "validate_product_opinion_form", text, intent="product_opinion",
            slots={"product_id": product_id}, active_loop="product_opinion_form",
        )  # fmt: skip

    assert slot_sets(start("what do people say about the linen dress?")) == {"product_id": "DRS-101"}
    assert slot_sets(start("any reviews of the merino jumper", "DRS-101")) == {"product_id": "KNT-118"}
    # "the dress" could be any of three dresses: the conversation's product stays
    assert slot_sets(start("is the dress any good?", "DRS-101")) == {}
    assert slot_sets(start("what do people think of it?")) == {}


def test_a_product_named_in_reply_to_which_product_is_found(actions):
    result = run_action(
        actions, "validate_product_question_form", "the wool winter coat", intent="ask_product_question",
        slots={"product_id": "the wool winter coat", "requested_slot": "product_id"},
        after=[slot("product_id", "the wool winter coat")], active_loop="product_question_form",
    )  # fmt: skip
    assert slot_sets(result) == {"product_id": "COAT-220"} and said(result) == []


# --- the page's product (metadata of the chat widget's messages) ----------------------------------------


def page_product(
    base: str, page: str | None, before: str | None = None, slot_value: str | None = None
) -> dict:
    """Run ``action_page_product`` (as the ``product_id`` slot's custom mapping) after a message sent from a
    page of product ``page``; ``before``: the page of the previous message, if there was one."""
    body = payload("action_page_product", "is it true to size?", slots={"product_id": slot_value})
    events = body["tracker"]["events"]
    user = events[-1]
    user["metadata"] = {"product_id": page} if page else {}
    if before is not None:
        earlier = {
            **user,
            "text": "hello",
            "metadata": {"product_id": before},
            "timestamp": user["timestamp"] - 1,
        }
        events.insert(len(events) - 1, earlier)
    response = httpx.post(f"{base}/webhook", json=body, timeout=30)
    assert response.status_code == 200, response.text
    return response.json()


def test_the_page_product_fills_the_slot_when_the_page_changes(actions):
    first = page_product(actions, "DRS-101")
    assert slot_sets(first) == {"product_id": "DRS-101"} and first["responses"] == []
    moved = page_product(actions, "COAT-220", before="DRS-101", slot_value="DRS-101")
    assert slot_sets(moved) == {"product_id": "COAT-220"}


def test_a_product_named_in_the_chat_is_kept_while_the_page_stays(actions):
    # on the DRS-101 page the customer asked about COAT-220: the same page again does not undo that
    assert page_product(actions, "DRS-101", before="DRS-101", slot_value="COAT-220")["events"] == []


def test_no_page_product_or_one_the_catalogue_lacks_changes_nothing(actions):
    assert page_product(actions, None, slot_value="COAT-220")["events"] == []
    assert page_product(actions, "XYZ-999")["events"] == []
    assert page_product(actions, " " * 3)["events"] == []


# --- suggestions (GET /v1/recommendations) -------------------------------------------------------------


def test_suggestions_follow_category_need_and_budget(actions, shop):
    result = run_action(
        actions, "action_suggest_products", "a dress that is true to size under 100", intent="suggest_products",
        slots={"category": "Dresses", "need": "true to size", "budget": "100"},
    )  # fmt: skip
    api = httpx.get(
        f"{shop['base']}/v1/recommendations", headers=shop["headers"], timeout=60,
        params={"q": "true to size Dresses", "category": "Dresses", "max_price": 100, "k": 3},
    ).json()  # fmt: skip
    assert api["items"], api
    [text] = said(result)
    lines = text.splitlines()[1:]
    assert lines == [f"- {i['name']} ({i['product_id']}): {'; '.join(i['reasons'])}" for i in api["items"]]
    # only dresses within the budget: DRS-330 (240) is a dress but too dear
    assert {i["product_id"] for i in api["items"]} <= {"DRS-101", "DRS-205"}
    # the chat widget's cards: the same items with their prices, and the text they stand for
    [custom] = [r["custom"] for r in result["responses"]]
    assert custom == {"type": "product_suggestions", "text": text, "intro": "Here is what I would suggest:",
                      "items": [{"product_id": i["product_id"], "name": i["name"], "price": i["price"],
                                 "reasons": i["reasons"]} for i in api["items"]]}  # fmt: skip
    assert {i["price"] for i in api["items"]} <= {89.0, 59.0}


def test_suggestions_with_a_category_the_catalogue_does_not_use_fall_back_to_the_query(actions):
    result = run_action(
        actions, "action_suggest_products", "a warm parka", intent="suggest_products",
        slots={"category": "Parkas", "need": "warm waterproof"},
    )  # fmt: skip
    [text] = said(result)
    assert text.startswith("Here is what I would suggest:") and len(text.splitlines()) > 1


def test_suggestions_when_nothing_fits_the_budget(actions):
    result = run_action(
        actions, "action_suggest_products", "a coat under 5", intent="suggest_products",
        slots={"category": "Coats", "budget": "under $5"},
    )  # fmt: skip
    assert said(result) == ["utter_no_suggestions"]


def test_cheaper_refines_the_last_suggestions_below_the_first_ones_price(actions, shop):
    # the last answer suggested dresses for a wedding, the silk gown (240) first
    slots = {"category": "Dresses", "need": "wedding", "suggested_price": 240.0, "price_change": "lower"}
    result = run_action(actions, "action_suggest_products", "show me something cheaper",
                        intent="suggest_products", slots=slots)  # fmt: skip
    api = httpx.get(
        f"{shop['base']}/v1/recommendations", headers=shop["headers"], timeout=60,
        params={"q": "wedding Dresses", "category": "Dresses", "max_price": 239.99, "k": 3},
    ).json()["items"]  # fmt: skip
    assert api and all(i["price"] < 240 for i in api)
    [text] = said(result)
    assert text.splitlines()[1:] == [
        f"- {i['name']} ({i['product_id']}): {'; '.join(i['reasons'])}" for i in api
    ]
    assert slot_sets(result) == {"price_change": None, "suggested_price": api[0]["price"]}


def test_nothing_cheaper_says_so_and_keeps_the_category(actions):
    # the cheapest dress (59) was shown first: no dress is cheaper, and no other category is offered
    slots = {"category": "Dresses", "suggested_price": 59.0, "price_change": "lower"}
    result = run_action(actions, "action_suggest_products", "anything cheaper?",
                        intent="suggest_products", slots=slots)  # fmt: skip
    assert said(result) == ["utter_no_cheaper_suggestions"]
    assert result["responses"][0]["price"] == "59"


# --- feedback (POST /v1/reviews) -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reply", "stored", "utterances"),
    [
        ("four stars", "4", []),
        ("5", "5", []),
        ("skip", "none", []),
        ("banana", None, ["utter_invalid_rating"]),
    ],
)
def test_feedback_form_reads_the_rating(actions, reply, stored, utterances):
    result = run_action(
        actions, "validate_feedback_form", reply, intent="give_feedback",
        slots={"product_id": "KNT-118", "feedback_text": "Soft.", "feedback_rating": reply,
               "requested_slot": "feedback_rating"},
        after=[slot("feedback_rating", reply)], active_loop="feedback_form",
    )  # fmt: skip
    assert slot_sets(result) == {"feedback_rating": stored} and said(result) == utterances


def _stored(shop: dict, product_id: str) -> list[dict]:
    params = {"product_id": product_id, "limit": 200}
    page = httpx.get(f"{shop['base']}/v1/reviews", params=params, headers=shop["headers"], timeout=30).json()
    return [r for r in page["items"] if r["source"] == "chat"]


def test_very_negative_feedback_is_stored_with_empathy_and_a_handoff_offer(actions, shop):
    text = "Awful. The jumper fell apart after one wash and nobody answers my emails. Worst purchase ever."
    slots = {"product_id": "KNT-118", "feedback_text": text, "feedback_rating": "1"}
    sender = "customer-negative"
    result = run_action(actions, "action_submit_feedback", "1", intent="give_feedback", slots=slots,
                        after=form_done("feedback_form"), sender=sender)  # fmt: skip
    assert said(result) == ["utter_feedback_empathy", "utter_offer_handoff"]
    assert slot_sets(result) == {"feedback_text": None, "feedback_rating": None, "handoff_offered": True}
    [review] = [r for r in _stored(shop, "KNT-118") if r["text"] == text]
    assert review["rating"] == 1 and review["sentiment"]["label"] == "negative"
    assert review["author_id"] == sender
    # the same feedback sent again (a retry by Rasa) is stored once
    run_action(
        actions, "action_submit_feedback", "1", slots=slots, after=form_done("feedback_form"), sender=sender
    )
    assert [r["text"] for r in _stored(shop, "KNT-118")].count(text) == 1


def test_positive_feedback_is_stored_with_thanks(actions, shop):
    text = "I love this dress, the fabric is wonderful and it fits perfectly."
    result = run_action(
        actions, "action_submit_feedback", "skip", intent="deny",
        slots={"product_id": "DRS-101", "feedback_text": text, "feedback_rating": "none"},
        after=form_done("feedback_form"),
    )  # fmt: skip
    assert said(result) == ["utter_feedback_positive"]
    assert slot_sets(result)["handoff_offered"] is False
    [review] = [r for r in _stored(shop, "DRS-101") if r["text"] == text]
    assert review["rating"] is None and review["sentiment"]["label"] == "positive"


# --- faults: the API stopped, slow, failing ------------------------------------------------------------

#: (action, user text, slots, what the customer is told)
FAULT_CASES = [
    ("action_answer_question", SUPPORT_QUESTION, {}, ["utter_api_unavailable"]),
    ("action_default_fallback", SUPPORT_QUESTION, {}, ["utter_default"]),
    ("action_product_opinions", "reviews of DRS-101", {"product_id": "DRS-101"}, ["utter_api_unavailable"]),
    ("action_suggest_products", "a dress", {"category": "Dresses"}, ["utter_suggestions_unavailable"]),
    ("action_submit_feedback", "5", {"product_id": "DRS-101", "feedback_text": "Nice.", "feedback_rating": "5"},
     ["utter_feedback_not_saved"]),
]  # fmt: skip
#: One attempt takes at most 3 s and a read is tried twice: the customer hears back within this.
ANSWER_WITHIN_SECONDS = 2 * 3.0 + 1.5


def _assert_polite(base: str, action: str, text: str, slots: dict, expected: list[str]) -> float:
    started = time.monotonic()
    result = run_action(base, action, text, slots=slots)
    elapsed = time.monotonic() - started
    assert said(result) == expected, result
    return elapsed


@pytest.fixture(scope="module")
def fault_api(tmp_path_factory):
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        "tests.fault_api:app",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
    ]
    with running(command, f"{base}/_hits", tmp_path_factory.mktemp("fault") / "log", timeout=60):
        yield base


@pytest.fixture(scope="module")
def faulty_actions(fault_api, tmp_path_factory):
    with action_server(fault_api, "any-key", tmp_path_factory.mktemp("as-fault") / "log") as base:
        yield base


@pytest.fixture(scope="module")
def stranded_actions(tmp_path_factory):
    """The action server with no API at all (nothing listens on the port)."""
    with action_server(
        f"http://127.0.0.1:{free_port()}", "any-key", tmp_path_factory.mktemp("as-down") / "log"
    ) as base:
        yield base


@pytest.mark.parametrize(
    ("action", "text", "slots", "expected"), FAULT_CASES, ids=[c[0] for c in FAULT_CASES]
)
def test_api_stopped_the_action_still_answers(stranded_actions, action, text, slots, expected):
    assert _assert_polite(stranded_actions, action, text, slots, expected) < ANSWER_WITHIN_SECONDS


@pytest.mark.parametrize(
    ("action", "text", "slots", "expected"), FAULT_CASES, ids=[c[0] for c in FAULT_CASES]
)
def test_api_failing_the_action_still_answers_after_one_retry(
    faulty_actions, fault_api, action, text, slots, expected
):
    assert httpx.put(f"{fault_api}/_mode/error").status_code == 200
    httpx.get(f"{fault_api}/_hits")
    _assert_polite(faulty_actions, action, text, slots, expected)
    hits = httpx.get(f"{fault_api}/_hits").json()
    writes = {"action_submit_feedback"}
    assert hits and set(hits.values()) == ({1} if action in writes else {2}), hits  # reads twice, writes once


@pytest.mark.parametrize(
    ("action", "text", "slots", "expected"), FAULT_CASES, ids=[c[0] for c in FAULT_CASES]
)
def test_api_slow_the_action_gives_up_within_the_timeout(
    faulty_actions, fault_api, action, text, slots, expected
):
    assert httpx.put(f"{fault_api}/_mode/slow").status_code == 200
    elapsed = _assert_polite(faulty_actions, action, text, slots, expected)
    assert 2.5 < elapsed < ANSWER_WITHIN_SECONDS


@pytest.mark.parametrize(
    ("action", "text", "slots", "expected"), FAULT_CASES, ids=[c[0] for c in FAULT_CASES]
)
def test_api_answering_nonsense_the_action_still_answers(
    faulty_actions, fault_api, action, text, slots, expected
):
    assert httpx.put(f"{fault_api}/_mode/garbage").status_code == 200
    result = run_action(faulty_actions, action, text, slots=slots)
    assert said(result) == ["utter_api_unavailable"] and result["events"] == []


def test_the_page_product_is_kept_when_the_api_is_down(stranded_actions):
    result = page_product(stranded_actions, "DRS-101")
    assert slot_sets(result) == {"product_id": "DRS-101"} and result["responses"] == []


def test_form_validation_keeps_the_code_when_the_api_is_down(stranded_actions):
    result = run_action(
        stranded_actions, "validate_product_question_form", "DRS-101", intent="ask_product_question",
        slots={"product_id": "DRS-101", "requested_slot": "product_id"},
        after=[slot("product_id", "DRS-101")], active_loop="product_question_form",
    )  # fmt: skip
    assert slot_sets(result) == {"product_id": "DRS-101"} and said(result) == []


@pytest.mark.parametrize("mode", ["down", "garbage"])
def test_a_product_name_is_not_found_when_the_api_is_down_or_answers_nonsense(
    stranded_actions, faulty_actions, fault_api, mode
):
    if mode == "garbage":
        assert httpx.put(f"{fault_api}/_mode/garbage").status_code == 200
    result = run_action(
        stranded_actions if mode == "down" else faulty_actions, "validate_product_opinion_form",
        "what do people say about the linen dress?", intent="product_opinion", active_loop="product_opinion_form",
    )  # fmt: skip
    assert slot_sets(result) == {} and said(result) == []
