"""`apply`: a segment card becomes a draft rule in the rules-file format of docs/contracts.md section 3."""
import json
import re

from ..contract import KIND
from . import DiscoveryError

OPERATORS = {"eq", "gt", "lt", "gte", "lte", "in", "contains"}
NUMERIC_OPERATORS = {"gt", "lt", "gte", "lte"}
# docs/contracts.md section 1: every field a rule may use, with its kind.
CONTRACT_FIELDS = KIND
ID_PATTERN = re.compile(r"^[a-z0-9]+(_[a-z0-9]+)*$")


def card_to_rule(card: dict, priority: int) -> dict:
    return {"id": card["id"], "name": card["name"], "description": card["description"],
            "priority": int(priority), "filterRules": [dict(r) for r in card["filterRules"]]}


def check_rule(rule: dict, strict: bool) -> list:
    """Raises on what the Rust loader rejects; returns warnings for fields outside the contract."""
    warnings = []
    if not ID_PATTERN.match(rule["id"]):
        raise DiscoveryError(f"segment {rule['id']!r}: id must be a snake_case token")
    for condition in rule["filterRules"]:
        field, operator, value = condition["field"], condition["operator"], condition["value"]
        where = f"segment {rule['id']!r}, field {field!r}"
        if operator not in OPERATORS:
            raise DiscoveryError(f"{where}: unknown operator {operator!r}")
        kind = CONTRACT_FIELDS.get(field)
        if kind is None:
            message = f"{where}: not a field of the edge (docs/contracts.md section 1); the Rust loader will reject it"
            if strict:
                raise DiscoveryError(message)
            warnings.append(message)
            continue
        if operator in NUMERIC_OPERATORS and (kind != "num" or isinstance(value, (str, bool))):
            raise DiscoveryError(f"{where}: operator {operator!r} needs a num field and a number")
        if operator == "eq" and kind == "label" and not isinstance(value, str):
            raise DiscoveryError(f"{where}: a label compares with a string")
        if operator == "eq" and kind == "num" and not isinstance(value, (int, float)):
            raise DiscoveryError(f"{where}: a num field compares with a number")
    return warnings


def select_cards(document: dict, wanted) -> list:
    cards = document["cards"]
    if not wanted:
        return cards
    chosen = []
    for key in wanted:
        match = [c for c in cards if c["id"] == key or str(c["index"]) == str(key)]
        if not match:
            raise DiscoveryError(f"no card {key!r}; cards are: " + ", ".join(f"{c['index']}={c['id']}" for c in cards))
        chosen.extend(match)
    return chosen


def build_rules_file(document: dict, wanted=None, version: str = "draft", priority: int = 50,
                     strict: bool = False):
    rules, warnings, ids = [], [], set()
    for card in select_cards(document, wanted):
        rule = card_to_rule(card, priority)
        if rule["id"] in ids:
            raise DiscoveryError(f"duplicate segment id {rule['id']!r}")
        ids.add(rule["id"])
        warnings += check_rule(rule, strict)
        rules.append(rule)
    return {"version": version, "segments": rules}, warnings


def load_cards(path) -> dict:
    try:
        with open(path, encoding="utf-8") as handle:
            document = json.load(handle)
    except FileNotFoundError:
        raise DiscoveryError(f"cards file not found: {path}")
    except json.JSONDecodeError as error:
        raise DiscoveryError(f"cards file {path} is not JSON: {error}")
    if not isinstance(document, dict) or not isinstance(document.get("cards"), list):
        raise DiscoveryError(f"cards file {path} has no 'cards' list")
    return document
