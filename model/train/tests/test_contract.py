"""The pipeline's field lists are docs/contracts.md section 1, as the Rust `fields_match_the_contract` checks."""
import re

import pytest

from edgeseg_train import contract, encoding, paths
from edgeseg_train.discover import DiscoveryError
from edgeseg_train.discover.rules import check_rule
from edgeseg_train.page_stats import CLASSES, PAGE_TYPE_CLASS

CONTRACTS = paths.REPO_DIR / "docs" / "contracts.md"


def documented_fields() -> list:
    """(name, kind) of every table row of section 1, in order."""
    text = CONTRACTS.read_text(encoding="utf-8")
    section = text.split("## 1.")[1].split("## 2.")[0]
    rows = []
    for line in section.splitlines():
        cells = [c.strip() for c in line.split("|")]
        if len(cells) > 2 and re.fullmatch(r"`[a-z0-9_]+`", cells[1]):
            rows.append((cells[1].strip("`"), cells[2]))
    return rows


def test_contract_lists_the_fields_of_the_pipeline():
    assert documented_fields() == contract.FIELDS


def test_rules_and_page_stats_use_contract_fields():
    def rule(field, value=1):
        return {"id": "x", "filterRules": [{"field": field, "operator": "gte", "value": value}]}
    assert check_rule(rule("cart_views"), strict=True) == []
    with pytest.raises(DiscoveryError):
        check_rule(rule("cart_view"), strict=True)
    assert set(CLASSES) <= set(contract.KIND)
    assert set(PAGE_TYPE_CLASS) == {"account", "cart", "checkout", "info", "home", "category",
                                    "product", "search", "sale"}


def test_model_inputs_are_behavioural_contract_fields():
    for name in encoding.NUM_TRANSFORMS:
        assert contract.KIND[name] == contract.NUM, name
    for name in encoding.LABEL_FIELDS:
        assert contract.KIND[name] == contract.LABEL, name
    for name in [*encoding.NUM_TRANSFORMS, *encoding.LABEL_FIELDS]:
        assert name not in contract.CALENDAR + contract.PAGE_STATS, name
