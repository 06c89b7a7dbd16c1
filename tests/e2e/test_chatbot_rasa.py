"""End to end through a real Rasa server: Rasa Open Source 3.6.21 (its own virtual environment, installed
or reused by ``../shared/tools/install-rasa.sh``) trains the assistant from ``chatbot/`` into a temporary
directory and serves it (``rasa run --enable-api``, REST channel) with the action server and the API on
loopback; customers talk to it through ``POST /webhooks/rest/webhook``. The NLU pipeline's sentence encoder
(``chatbot/rasa_components``) is installed into that environment by ``chatbot/install-nlu-extras.sh``.

Select it with ``-m rasa``; it runs by default. Rasa's training cache lives in
``~/.cache/reviewpulse-rasa-train`` so an unchanged project retrains in seconds.
"""

from __future__ import annotations

import json
import os
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
import yaml

from tests.live import action_server, free_port, running
from tests.shop import load_shop, writer_key

pytestmark = pytest.mark.rasa

ROOT = Path(__file__).resolve().parents[2]
CHATBOT = ROOT / "chatbot"
INSTALL_SCRIPT = ROOT.parent / "shared" / "tools" / "install-rasa.sh"
NLU_EXTRAS_SCRIPT = CHATBOT / "install-nlu-extras.sh"
TRAIN_CACHE = Path.home() / ".cache" / "reviewpulse-rasa-train"
RESPONSES = yaml.safe_load((CHATBOT / "domain.yml").read_text())["responses"]


def text_of(response: str) -> str:
    """The text of a domain response (``utter_*``) as Rasa sends it."""
    return RESPONSES[response][0]["text"]


def _rasa_env() -> dict[str, str]:
    # two TensorFlow threads (unless set): models are trained on the same cores
    # chatbot/ on the path: config.yml names the custom component rasa_components.minilm_featurizer
    return {**os.environ, "RASA_TELEMETRY_ENABLED": "false", "RASA_CACHE_DIRECTORY": str(TRAIN_CACHE),
            "PYTHONPATH": str(CHATBOT), "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
            "TF_INTRA_OP_PARALLELISM_THREADS": os.environ.get("TF_INTRA_OP_PARALLELISM_THREADS", "2"),
            "TF_INTER_OP_PARALLELISM_THREADS": os.environ.get("TF_INTER_OP_PARALLELISM_THREADS", "1"),
            "TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONWARNINGS": "ignore"}  # fmt: skip


@pytest.fixture(scope="module")
def rasa_bin() -> Path:
    """The ``rasa`` executable of the cached Rasa 3.6 venv (installed on first use, a few minutes), with the
    NLU pipeline's extra packages."""
    if not INSTALL_SCRIPT.exists():
        pytest.fail(
            f"Rasa's install script is not at {INSTALL_SCRIPT}: the end-to-end tests install Rasa 3.6 with "
            "../shared/tools/install-rasa.sh beside this checkout (or leave them out: pytest -m 'not rasa')",
            pytrace=False,
        )
    done = subprocess.run(["bash", str(INSTALL_SCRIPT)], capture_output=True, text=True, timeout=3600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    venv = Path(done.stdout.strip().splitlines()[-1])
    assert (venv / "bin" / "rasa").exists(), done.stdout[-2000:]
    extras = subprocess.run(
        ["bash", str(NLU_EXTRAS_SCRIPT), str(venv)], capture_output=True, text=True, timeout=1800
    )
    assert extras.returncode == 0, extras.stdout[-3000:] + extras.stderr[-3000:]
    return venv / "bin" / "rasa"


@pytest.fixture(scope="module")
def model(rasa_bin, tmp_path_factory) -> Path:
    """``rasa data validate`` then ``rasa train`` of ``chatbot/`` into a temporary directory."""
    work = tmp_path_factory.mktemp("rasa")
    project = ["--domain", str(CHATBOT / "domain.yml"), "--data", str(CHATBOT / "data")]
    validated = subprocess.run(
        [str(rasa_bin), "data", "validate", *project, "--config", str(CHATBOT / "config.yml")],
        cwd=work, env=_rasa_env(), capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert validated.returncode == 0, validated.stdout[-4000:] + validated.stderr[-4000:]
    trained = subprocess.run(
        [str(rasa_bin), "train", *project, "--config", str(CHATBOT / "config.yml"),
         "--augmentation", "0", "--out", str(work / "models"), "--fixed-model-name", "assistant"],
        cwd=work, env=_rasa_env(), capture_output=True, text=True, timeout=1200,
    )  # fmt: skip
    assert trained.returncode == 0, trained.stdout[-4000:] + trained.stderr[-4000:]
    return work / "models" / "assistant.tar.gz"


@pytest.fixture(scope="module")
def shop(server):
    load_shop(server["base"], server["headers"])
    return server


@contextmanager
def rasa_server(
    rasa_bin: Path, model: Path, shop: dict, work: Path, port: int | None = None, cors: str | None = None
) -> Iterator[tuple[str, subprocess.Popen]]:
    """``rasa run --enable-api`` (REST channel) on loopback ``port`` (default: a free one) calling the action
    server, which calls the API of ``shop``; ``cors``: the origin browsers may call it from. Yields its base
    URL and process."""
    with action_server(shop["base"], writer_key(shop["env"]), work / "actions.log") as actions:
        endpoints = work / "endpoints.yml"
        endpoints.write_text(yaml.safe_dump({"action_endpoint": {"url": f"{actions}/webhook"}}))
        port = port or free_port()
        command = [str(rasa_bin), "run", "--enable-api", "--model", str(model), "--endpoints", str(endpoints),
                   "--credentials", str(CHATBOT / "credentials.yml"), "--interface", "127.0.0.1",
                   "--port", str(port), *(["--cors", cors] if cors else [])]  # fmt: skip
        base = f"http://127.0.0.1:{port}"
        with running(command, f"{base}/status", work / "rasa.log", env=_rasa_env(), timeout=420) as process:
            yield base, process


@pytest.fixture(scope="module")
def rasa(model, rasa_bin, shop, tmp_path_factory):
    """``rasa run --enable-api`` (REST channel) calling the action server, which calls the API."""
    with rasa_server(rasa_bin, model, shop, tmp_path_factory.mktemp("rasa-run")) as (base, _):
        yield base


class Customer:
    """One conversation with the assistant through the REST channel."""

    def __init__(self, rasa: str, page_product: str | None = None) -> None:
        self.rasa, self.sender = rasa, f"customer-{uuid.uuid4().hex[:10]}"
        self.page_product = page_product

    def say(self, message: str) -> list[str]:
        """Send ``message`` (with the page's product as metadata, as the chat widget does); the texts of the
        assistant's replies."""
        body: dict = {"sender": self.sender, "message": message}
        if self.page_product:
            body["metadata"] = {"product_id": self.page_product}
        response = httpx.post(f"{self.rasa}/webhooks/rest/webhook", json=body, timeout=120)
        assert response.status_code == 200, response.text
        return [m["text"] for m in response.json() if "text" in m]

    def slots(self) -> dict:
        tracker = httpx.get(f"{self.rasa}/conversations/{self.sender}/tracker", timeout=30).json()
        return tracker["slots"]


def api_answer(shop: dict, question: str, product_id: str | None = None) -> str:
    body = {"question": question, "context": {"order_id": None, "product_id": product_id}}
    response = httpx.post(f"{shop['base']}/v1/answer", json=body, headers=shop["headers"], timeout=60)
    assert response.status_code == 200, response.text
    return response.json()["answer"]


def test_support_question_answered_from_the_knowledge_base(rasa, shop):
    customer = Customer(rasa)
    assert customer.say("hello") == [text_of("utter_greet")]
    question = "How do I get a refund for the dress I sent back?"
    assert customer.say(question) == [api_answer(shop, question)]


def test_product_opinion_then_a_question_about_the_same_product(rasa, shop):
    customer = Customer(rasa)
    [summary] = customer.say("What do people say about DRS-101?")
    insights = httpx.get(f"{shop['base']}/v1/products/DRS-101/insights", headers=shop["headers"]).json()
    assert summary.startswith(f"Linen wrap dress: {insights['review_count']} reviews")
    assert f"praise the {insights['praised_aspects'][0]['aspect']}" in summary
    assert f"criticise the {insights['criticised_aspects'][0]['aspect']}" in summary
    question = "Does the dress run small?"
    assert customer.say(question) == [api_answer(shop, question, product_id="DRS-101")]


def test_a_product_named_in_the_chat_is_kept_for_the_follow_up_question(rasa, shop):
    customer = Customer(rasa)
    [summary] = customer.say("what do people say about the linen dress?")
    assert summary.startswith("Linen wrap dress: ") and customer.slots()["product_id"] == "DRS-101"
    assert customer.say("and does it run small?") == [api_answer(shop, "and does it run small?", "DRS-101")]


def test_something_cheaper_refines_the_last_suggestions(rasa, shop):
    customer = Customer(rasa)
    [first] = customer.say("Could you suggest a dress for a wedding?")
    slots = customer.slots()
    assert slots["category"] == "Dresses" and slots["need"] == "wedding"
    shown = first.splitlines()[1:]
    top_price = slots["suggested_price"]
    assert shown and top_price is not None
    [cheaper] = customer.say("show me something cheaper")
    expected = httpx.get(
        f"{shop['base']}/v1/recommendations", headers=shop["headers"],
        params={"q": "wedding Dresses", "category": "Dresses", "max_price": round(top_price - 0.01, 2), "k": 3},
    ).json()["items"]  # fmt: skip
    assert expected and all(i["price"] < top_price for i in expected)
    assert cheaper.splitlines()[1:] == [
        f"- {i['name']} ({i['product_id']}): {'; '.join(i['reasons'])}" for i in expected
    ]
    assert customer.slots()["category"] == "Dresses" and customer.slots()["price_change"] is None


def test_product_opinion_asks_which_product(rasa):
    customer = Customer(rasa)
    assert customer.say("What do customers think of this coat?") == [text_of("utter_ask_product_id")]
    [summary] = customer.say("COAT-220")
    assert summary.startswith("Wool blend winter coat: 3 reviews")


def test_product_suggestion(rasa, shop):
    customer = Customer(rasa)
    [reply] = customer.say("Can you suggest a dress that is true to size under 100 dollars?")
    slots = customer.slots()
    assert slots["category"] == "Dresses" and slots["budget"] == "100"
    query = " ".join(part for part in (slots["need"], slots["category"]) if part)
    expected = httpx.get(
        f"{shop['base']}/v1/recommendations", headers=shop["headers"],
        params={"q": query, "category": "Dresses", "max_price": 100, "k": 3},
    ).json()["items"]  # fmt: skip
    assert expected and reply.splitlines()[1:] == [
        f"- {i['name']} ({i['product_id']}): {'; '.join(i['reasons'])}" for i in expected
    ]


def test_feedback_collected_stored_and_handed_over(rasa, shop):
    customer = Customer(rasa)
    assert customer.say("I'd like to leave some feedback") == [text_of("utter_ask_product_id")]
    assert customer.say("KNT-118") == [text_of("utter_ask_feedback_text")]
    feedback = "It fell apart after one wash and nobody answers my emails. Awful, worst purchase ever."
    assert customer.say(feedback) == [text_of("utter_ask_feedback_rating")]
    assert customer.say("1") == [text_of("utter_feedback_empathy"), text_of("utter_offer_handoff")]
    assert customer.say("yes please") == [text_of("utter_handoff")]
    assert customer.slots()["handoff"] is True
    reviews = httpx.get(
        f"{shop['base']}/v1/reviews", params={"product_id": "KNT-118"}, headers=shop["headers"]
    ).json()["items"]
    [stored] = [r for r in reviews if r["text"] == feedback]
    assert stored["source"] == "chat" and stored["rating"] == 1 and stored["sentiment"]["label"] == "negative"
    assert stored["author_id"] == customer.sender


#: Short chat turns of a QA pass (issue 24 section 3) that must not end in a fallback.
GREETINGS = ["hello", "hi there", "hey"]
THANKS = ["thanks", "thank you!", "thx", "cheers", "ok thanks bye"]
#: Questions of the same QA pass on a product page: (page product, question).
PAGE_QUESTIONS = [
    ("KNT-118", "is it itchy?"), ("KNT-118", "is it scratchy"), ("KNT-118", "does it shrink"),
    ("DRS-101", "is it see through"), ("DRS-101", "is the fabric see-through"),
    ("DRS-101", "is it warm enough for winter"),
]  # fmt: skip


def test_greetings_and_thanks_are_answered_not_fallen_back(rasa):
    for message in GREETINGS:
        assert Customer(rasa).say(message) == [text_of("utter_greet")], message
    for message in THANKS:
        assert Customer(rasa).say(message) == [text_of("utter_goodbye")], message


def assert_answered_about_the_product(shop: dict, reply: list[str], question: str, product_id: str) -> None:
    """``reply`` answers ``question`` about ``product_id``: the API's answer from its reviews when there is
    one, else its description or that its reviews do not say (never a fallback or a support answer)."""
    body = {"question": question, "context": {"order_id": None, "product_id": product_id}}
    expected = httpx.post(f"{shop['base']}/v1/answer", json=body, headers=shop["headers"], timeout=60).json()
    if expected["product"]:
        assert reply == [expected["answer"]]
    else:
        name = httpx.get(f"{shop['base']}/v1/products/{product_id}", headers=shop["headers"]).json()["name"]
        assert len(reply) == 1 and reply[0].startswith(
            f"I couldn't find an answer to that in the reviews of {name}"
        ), reply


@pytest.mark.parametrize(("product_id", "question"), PAGE_QUESTIONS)
def test_a_question_on_a_product_page_is_answered_about_that_product(rasa, shop, product_id, question):
    customer = Customer(rasa, page_product=product_id)
    reply = customer.say(question)
    assert customer.slots()["product_id"] == product_id
    assert_answered_about_the_product(shop, reply, question, product_id)


def test_a_greeting_or_thanks_while_a_form_asks_for_the_product_is_not_taken_for_one(rasa, shop):
    customer = Customer(rasa)
    assert customer.say("is it itchy?") == [text_of("utter_ask_product_id")]
    assert customer.say("hello") == [text_of("utter_greet"), text_of("utter_ask_product_id")]
    # the question asked before the form is answered, not the code given in reply
    assert_answered_about_the_product(shop, customer.say("KNT-118"), "is it itchy?", "KNT-118")
    leaving = Customer(rasa)
    assert leaving.say("I'd like to leave some feedback") == [text_of("utter_ask_product_id")]
    assert leaving.say("thanks") == [text_of("utter_goodbye")]
    assert leaving.say("hey") == [text_of("utter_greet")]  # the form has ended


def test_off_topic_question_gets_a_clarifying_question_then_a_person(rasa):
    customer = Customer(rasa)
    assert customer.say("Write me a poem about the sea.") == [text_of("utter_ask_rephrase")]
    assert customer.say("What will the weather be like in Madrid tomorrow?") == [text_of("utter_handoff")]
    assert customer.slots()["handoff"] is True


#: Issue 24's goals for the held-out natural NLU test set (chatbot/tests/README.md).
ROUTING_GOAL, OFF_TOPIC_GOAL = 0.95, 0.90
#: Figures measured before the goal was met (2026-12-06, chatbot/README.md: 0.931, 0.943, 0.914) less a margin:
#: a drop below these is a regression. Since 2026-12-07 the goal test below holds too (247/260 = 0.950 in two
#: trainings from scratch on this machine: DIET and TED are seeded).
ROUTING_FLOOR, OFF_TOPIC_FLOOR, END_TO_END_OFF_TOPIC_FLOOR = 0.90, 0.88, 0.86
#: Where an off-topic message may end: Rasa's out_of_scope intent or its FallbackClassifier.
OUT_OF_SCOPE_PATH = {"out_of_scope", "nlu_fallback"}


def routing_figures(report: dict, errors: list[dict]) -> dict:
    """Routing accuracy and the off-topic share from ``rasa test nlu``'s ``intent_report.json`` and
    ``intent_errors.json``: a message routes right when its top intent is its label, or, for an
    ``out_of_scope`` message, ``nlu_fallback``."""
    support = {name: int(row["support"]) for name, row in report.items()
               if isinstance(row, dict) and "support" in row and not name.endswith(" avg")}  # fmt: skip
    misses = {name: 0 for name in support}
    for error in errors:
        gold, predicted = error["intent"], error["intent_prediction"]["name"]
        if not (gold == "out_of_scope" and predicted in OUT_OF_SCOPE_PATH):
            misses[gold] += 1
    total = sum(support.values())
    return {
        "messages": total,
        "accuracy": (total - sum(misses.values())) / total,
        "off_topic": (support["out_of_scope"] - misses["out_of_scope"]) / support["out_of_scope"],
        "per_intent": {name: (support[name] - misses[name], support[name]) for name in sorted(support)},
    }


def test_routing_figures_count_fallback_as_out_of_scope_only():
    report = {"greet": {"support": 2}, "out_of_scope": {"support": 2}, "accuracy": 0.5,
              "macro avg": {"support": 4}}  # fmt: skip
    errors = [{"intent": "greet", "intent_prediction": {"name": "nlu_fallback"}},
              {"intent": "out_of_scope", "intent_prediction": {"name": "nlu_fallback"}}]  # fmt: skip
    figures = routing_figures(report, errors)
    assert figures["accuracy"] == 0.75 and figures["off_topic"] == 1.0
    assert figures["per_intent"] == {"greet": (1, 2), "out_of_scope": (2, 2)}


@pytest.fixture(scope="module")
def natural_routing(rasa_bin, model, tmp_path_factory) -> dict:
    """``rasa test nlu`` of the trained model on the held-out natural test set."""
    out = tmp_path_factory.mktemp("rasa-test-nlu")
    done = subprocess.run(
        [str(rasa_bin), "test", "nlu", "--nlu", str(CHATBOT / "tests" / "nlu_natural_test.yml"),
         "--model", str(model), "--out", str(out)],
        cwd=out, env=_rasa_env(), capture_output=True, text=True, timeout=1200,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    report = json.loads((out / "intent_report.json").read_text())
    errors_file = out / "intent_errors.json"  # not written when there is no error
    errors = json.loads(errors_file.read_text()) if errors_file.exists() else []
    figures = routing_figures(report, errors)
    print(f"natural NLU routing: {figures}")
    return figures


#: The assistant's first reply when a message ends in the out-of-scope path: the clarifying question
#: (``out_of_scope``, or any message ``action_answer_question`` gets and the API flags out of scope or is
#: unsure of), or "please rephrase" (``nlu_fallback`` the API cannot answer either).
OUT_OF_SCOPE_REPLIES = ([text_of("utter_ask_rephrase")], [text_of("utter_default")])


def natural_test_messages(intent: str) -> list[str]:
    """The messages of ``intent`` in the held-out natural test set."""
    data = yaml.safe_load((CHATBOT / "tests" / "nlu_natural_test.yml").read_text())
    [block] = [b for b in data["nlu"] if b.get("intent") == intent]
    return [line.strip()[2:] for line in block["examples"].splitlines() if line.strip().startswith("- ")]


@pytest.fixture(scope="module")
def off_topic_end_to_end(rasa) -> dict:
    """Each off-topic message of the natural test set sent to the served assistant (Rasa, the action server
    and the API), each as a new conversation: the share whose reply is the out-of-scope path's, and the
    others with their replies."""
    messages = natural_test_messages("out_of_scope")
    replies = {message: Customer(rasa).say(message) for message in messages}
    answered = {m: r for m, r in replies.items() if r not in OUT_OF_SCOPE_REPLIES}
    figures = {
        "messages": len(messages),
        "off_topic": 1 - len(answered) / len(messages),
        "answered": answered,
    }
    print(f"off-topic messages end to end: {figures}")
    return figures


def test_natural_messages_routing_does_not_regress(natural_routing, off_topic_end_to_end):
    assert natural_routing["messages"] >= 250
    assert natural_routing["accuracy"] >= ROUTING_FLOOR, natural_routing
    assert natural_routing["off_topic"] >= OFF_TOPIC_FLOOR, natural_routing
    assert off_topic_end_to_end["messages"] >= 60
    assert off_topic_end_to_end["off_topic"] >= END_TO_END_OFF_TOPIC_FLOOR, off_topic_end_to_end


def test_natural_messages_route_right(natural_routing, off_topic_end_to_end):
    """Issue 24's goal: 95 % of natural messages route right (Rasa's intent), and 90 % of off-topic ones end
    in the out-of-scope path (Rasa's, or the API's flag after routing), as the served assistant replies."""
    assert natural_routing["accuracy"] >= ROUTING_GOAL, natural_routing
    assert off_topic_end_to_end["off_topic"] >= OFF_TOPIC_GOAL, off_topic_end_to_end
