"""The Rasa project in ``chatbot/`` is consistent: intents, entities, actions, responses, slots and forms of
the domain, the NLU data, the rules and stories, and the action server agree with each other; the endpoint,
channels, pipeline and the compose file are what the deployment expects."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from rasa_sdk.executor import ActionExecutor

from chatbot.actions.common import named_product

ROOT = Path(__file__).resolve().parents[2]
CHATBOT = ROOT / "chatbot"
#: Rasa's own intents and actions, which the domain need not list.
BUILTIN_INTENTS = {"nlu_fallback"}
#: Intents that only buttons send (``/human_handoff``), never typed: they have no NLU examples.
PAYLOAD_INTENTS = {"human_handoff"}
BUILTIN_ACTIONS = {"action_listen", "action_restart", "action_default_fallback", "action_deactivate_loop",
                   "action_back", "action_session_start", "action_two_stage_fallback"}  # fmt: skip


def _yaml(path: str) -> Any:
    return yaml.safe_load((CHATBOT / path).read_text())


DOMAIN = _yaml("domain.yml")
NLU = _yaml("data/nlu.yml")["nlu"]
RULES = _yaml("data/rules.yml")["rules"]
STORIES = _yaml("data/stories.yml")["stories"]
SLOTS: dict[str, dict] = DOMAIN["slots"]
FORMS: dict[str, dict] = DOMAIN["forms"]
RESPONSES = set(DOMAIN["responses"])


def _steps() -> Iterator[dict]:
    for block in (*RULES, *STORIES):
        yield from block.get("condition", [])
        yield from block["steps"]


def _names(item: str | dict) -> list[str]:
    """Slot names of a ``slot_was_set`` item (``name`` or ``{name: value}``)."""
    return list(item) if isinstance(item, dict) else [item]


def _nlu_intents() -> set[str]:
    return {item["intent"] for item in NLU if "intent" in item}


def _annotated_entities() -> set[str]:
    text = "\n".join(item["examples"] for item in NLU if "intent" in item)
    return set(re.findall(r"\]\((\w+)\)", text))


def _served_actions() -> set[str]:
    executor = ActionExecutor()
    executor.register_package("chatbot.actions")
    return set(executor.actions)


def _responses_in_actions() -> set[str]:
    """Every ``response="utter_..."`` the action code utters (also inside ``a if c else b``)."""
    found = set()
    for path in (CHATBOT / "actions").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.keyword) and node.arg == "response":
                for value in ast.walk(node.value):
                    if isinstance(value, ast.Constant) and str(value.value).startswith("utter_"):
                        found.add(value.value)
    return found


def test_intents_agree_between_domain_nlu_rules_and_stories():
    assert _nlu_intents() == set(DOMAIN["intents"]) - PAYLOAD_INTENTS
    assert set(DOMAIN["intents"]) >= PAYLOAD_INTENTS
    used = {step["intent"] for step in _steps() if "intent" in step}
    assert used - BUILTIN_INTENTS <= set(DOMAIN["intents"])
    assert {"greet", "goodbye", "affirm", "deny", "support_question", "product_opinion", "ask_product_question",
            "suggest_products", "give_feedback", "out_of_scope"} <= set(DOMAIN["intents"])  # fmt: skip
    assert "nlu_fallback" in used  # the FallbackClassifier's intent is handled


def test_every_nlu_intent_has_enough_distinct_examples():
    for item in NLU:
        if "intent" in item:
            examples = [line[2:].strip() for line in item["examples"].splitlines() if line.startswith("- ")]
            assert len(examples) >= 12 and len(set(examples)) == len(examples), item["intent"]


def test_entities_agree_between_domain_nlu_and_slot_mappings():
    entities = set(DOMAIN["entities"])
    assert _annotated_entities() == entities
    regexes = {item["regex"] for item in NLU if "regex" in item}
    assert regexes <= entities
    for name, spec in SLOTS.items():
        for mapping in spec["mappings"]:
            if mapping["type"] == "from_entity":
                assert mapping["entity"] in entities, name


def test_domain_actions_are_exactly_the_served_actions():
    served = _served_actions()
    assert served == set(DOMAIN["actions"])
    assert {f"validate_{form}" for form in FORMS} <= served


def test_actions_used_in_rules_and_stories_exist():
    known = set(DOMAIN["actions"]) | RESPONSES | set(FORMS) | BUILTIN_ACTIONS
    used = {step["action"] for step in _steps() if "action" in step}
    assert used <= known, used - known
    loops = {step["active_loop"] for step in _steps() if step.get("active_loop")}
    assert loops <= set(FORMS)


def test_every_response_used_exists_and_every_response_is_used():
    used_in_data = {step["action"] for step in _steps() if step.get("action", "").startswith("utter_")}
    used_in_actions = _responses_in_actions()
    asked_by_forms = {f"utter_ask_{slot}" for form in FORMS.values() for slot in form["required_slots"]}
    assert used_in_data | used_in_actions <= RESPONSES, (used_in_data | used_in_actions) - RESPONSES
    assert asked_by_forms <= RESPONSES, asked_by_forms - RESPONSES
    assert used_in_data | used_in_actions | asked_by_forms == RESPONSES  # no dead responses


def test_slots_and_forms_line_up():
    for form, spec in FORMS.items():
        assert set(spec["required_slots"]) <= set(SLOTS), form
    for name, spec in SLOTS.items():
        for mapping in spec["mappings"]:
            for condition in mapping.get("conditions", []):
                form = condition["active_loop"]
                if form is None:  # filled only while no form is active
                    continue
                assert form in FORMS, (name, form)
                assert condition.get("requested_slot", name) in FORMS[form]["required_slots"], (name, form)
    # a required slot must be fillable while its form asks for it
    for form, spec in FORMS.items():
        for name in spec["required_slots"]:
            mappings = SLOTS[name]["mappings"]
            assert any(m["type"] == "from_entity" or any(c["active_loop"] == form for c in m.get("conditions", []))
                       for m in mappings), (form, name)  # fmt: skip
    set_in_data = {
        name for step in _steps() for item in step.get("slot_was_set", []) for name in _names(item)
    }
    assert set_in_data - {"requested_slot"} <= set(SLOTS)
    # a rule can only branch on a slot that is featurised
    in_rules = {name for rule in RULES for step in [*rule.get("condition", []), *rule["steps"]]
                for item in step.get("slot_was_set", []) for name in _names(item)}  # fmt: skip
    for name in in_rules - {"requested_slot"}:
        assert SLOTS[name].get("influence_conversation", True), name


def test_custom_slots_are_set_by_the_actions():
    custom = {name for name, spec in SLOTS.items() if all(m["type"] == "custom" for m in spec["mappings"])}
    code = "\n".join(p.read_text() for p in (CHATBOT / "actions").glob("*.py"))
    for name in custom:
        assert f'SlotSet("{name}"' in code, name


def test_endpoints_credentials_and_pipeline():
    assert _yaml("endpoints.yml")["action_endpoint"]["url"] == "http://localhost:5055/webhook"
    assert {"rest", "socketio"} <= set(_yaml("credentials.yml"))
    config = _yaml("config.yml")
    components = {c["name"]: c for c in config["pipeline"]}
    assert 0 < components["FallbackClassifier"]["threshold"] < 1
    assert components["DIETClassifier"]["epochs"] <= 60
    policies = {p["name"]: p for p in config["policies"]}
    assert policies["TEDPolicy"]["epochs"] <= 40
    assert policies["RulePolicy"]["core_fallback_action_name"] == "action_default_fallback"


def test_compose_runs_rasa_the_action_server_the_api_and_postgres():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    assert services["rasa"]["image"] == "rasa/rasa:3.6.21-full"
    assert services["postgres"]["image"].startswith("postgres:")
    actions, api = services["action-server"], services["api"]
    assert "chatbot.actions" in actions["entrypoint"] and "5055" in actions["entrypoint"]
    assert actions["environment"]["REVIEWPULSE_API_URL"] == "http://api:8000"
    assert "postgresql+psycopg://" in api["environment"]["REVIEWPULSE_DATABASE_URL"]
    endpoints = yaml.safe_load((CHATBOT / "endpoints.compose.yml").read_text())
    assert endpoints["action_endpoint"]["url"] == "http://action-server:5055/webhook"


@pytest.mark.parametrize("path", ["domain.yml", "config.yml", "endpoints.yml", "credentials.yml",
                                  "data/nlu.yml", "data/rules.yml", "data/stories.yml"])  # fmt: skip
def test_project_files_declare_their_format(path):
    data = _yaml(path)
    assert isinstance(data, dict) and data
    if path.startswith("data/") or path == "domain.yml":
        assert str(data["version"]) == "3.1"


def test_a_product_is_named_by_two_words_of_its_name():
    items = [{"product_id": "DRS-205", "name": "Jersey midi dress"}, {"product_id": "DRS-101", "name": "Linen wrap dress"},
             {"product_id": "COAT-415", "name": "Waterproof parka"}, {"product_id": "TEA-7", "name": "Sencha"}]  # fmt: skip
    assert named_product("what do people say about the linen dress?", items) == "DRS-101"
    assert named_product("is the Linen Wrap Dress lined", items) == "DRS-101"
    assert named_product("does the dress run small?", items) is None  # any of the dresses
    assert named_product("is the parka warm", items) is None
    assert named_product("is the waterproof parka warm", items) == "COAT-415"
    assert named_product("reviews of the sencha", items) == "TEA-7"  # a one-word name, whole
    assert named_product("what do people say about it", []) is None
