"""Segment discovery on a small CSV of real sessions: k choice, cards, report, heuristic fallback, errors."""
import json

import pandas as pd
import pytest

from edgeseg_train.discover.cli import main

FIELDS = "ProductRelated,ProductRelated_Duration,ExitRates,PageValues"
CARD_KEYS = {"name", "description", "size", "percentage", "filterRules", "characteristics", "suggestedUse", "id"}


def _cards(folder):
    return json.loads((folder / "cards.json").read_text())


def test_kmeans_picks_k_by_silhouette_and_writes_cards(small_csv, tmp_path):
    out = tmp_path / "out"
    assert main(["discover", str(small_csv), "--fields", FIELDS, "--outcome", "Revenue",
                 "--max-clusters", "5", "--out", str(out)]) == 0
    document = _cards(out)
    assert document["algorithm"] == "kmeans"
    scores = {int(k): v for k, v in document["silhouetteByK"].items()}
    assert set(scores) == {2, 3, 4, 5}
    assert document["k"] == max(scores, key=scores.get)
    assert len(document["cards"]) == document["k"]
    assert sum(c["size"] for c in document["cards"]) == 400
    for card in document["cards"]:
        assert CARD_KEYS <= set(card)
        assert card["id"].replace("_", "").isalnum() and card["id"].islower()
        for rule in card["filterRules"]:
            assert set(rule) == {"field", "operator", "value"}
        for c in card["characteristics"]:
            assert {"feature", "value", "importance"} <= set(c) and 0 <= c["importance"] <= 1
    report = (out / "report.html").read_text()
    assert report.count("data:image/png;base64,") == 3


def test_dbscan_alternative_runs(small_csv, tmp_path):
    assert main(["discover", str(small_csv), "--fields", FIELDS, "--algorithm", "dbscan", "--out", str(tmp_path)]) == 0
    assert _cards(tmp_path)["algorithm"] in ("dbscan", "heuristic")


def test_heuristic_splits_widest_numeric_field_at_percentiles(small_csv, tmp_path):
    assert main(["discover", str(small_csv), "--fields", FIELDS, "--algorithm", "heuristic", "--out", str(tmp_path)]) == 0
    document = _cards(tmp_path)
    names = [c["name"] for c in document["cards"]]
    assert names == ["Low product related duration", "Mid product related duration", "High product related duration"]
    values = pd.read_csv(small_csv)["ProductRelated_Duration"]
    assert document["params"]["p33"] == pytest.approx(values.quantile(0.33))
    assert document["cards"][0]["filterRules"] == [
        {"field": "product_related_duration", "operator": "lte", "value": pytest.approx(values.quantile(0.33), rel=1e-3)}]


def test_heuristic_without_numeric_fields_is_all_customers(small_csv, tmp_path):
    assert main(["discover", str(small_csv), "--fields", "Month,VisitorType", "--algorithm", "heuristic",
                 "--out", str(tmp_path)]) == 0
    (card,) = _cards(tmp_path)["cards"]
    assert card["name"] == "All customers" and card["filterRules"] == [] and card["percentage"] == 100.0


def test_apply_writes_rules_in_contract_shape(small_csv, tmp_path):
    main(["discover", str(small_csv), "--fields", FIELDS, "--max-clusters", "4", "--out", str(tmp_path)])
    rules_path = tmp_path / "draft_rules.json"
    assert main(["apply", str(tmp_path / "cards.json"), "--card", "0", "--out", str(rules_path),
                 "--version", "2026.11.21-1", "--priority", "70", "--strict"]) == 0
    rules = json.loads(rules_path.read_text())
    assert rules["version"] == "2026.11.21-1"
    (segment,) = rules["segments"]
    assert set(segment) == {"id", "name", "description", "priority", "filterRules"}
    assert segment["priority"] == 70
    for rule in segment["filterRules"]:
        assert rule["operator"] in {"eq", "gt", "lt", "gte", "lte", "in", "contains"}
        assert isinstance(rule["value"], (int, float, str, list))


@pytest.mark.parametrize("argv, message", [
    (["discover", "/nonexistent/x.csv"], "input file not found: /nonexistent/x.csv"),
    (["discover", "{csv}", "--fields", "NoSuchColumn"], "unknown field 'NoSuchColumn'"),
    (["discover", "{ids}"], "no usable columns"),
    (["apply", "/nonexistent/cards.json"], "cards file not found"),
])
def test_bad_input_fails_with_a_clear_message(argv, message, small_csv, tmp_path, capsys):
    ids = tmp_path / "ids.csv"
    pd.DataFrame({"customer_id": range(50), "constant": 1}).to_csv(ids, index=False)
    argv = [a.format(csv=small_csv, ids=ids) for a in argv] + ["--out", str(tmp_path / "o")]
    assert main(argv) == 2
    assert message in capsys.readouterr().err


def test_unknown_card_in_apply(small_csv, tmp_path, capsys):
    main(["discover", str(small_csv), "--fields", FIELDS, "--max-clusters", "3", "--out", str(tmp_path)])
    assert main(["apply", str(tmp_path / "cards.json"), "--card", "nope", "--out", str(tmp_path / "r.json")]) == 2
    assert "no card 'nope'" in capsys.readouterr().err
