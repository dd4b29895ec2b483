"""Turns a clustering into segment cards whose names come mechanically from their strongest characteristics."""
import re

import numpy as np
import pandas as pd

from .clustering import NOISE
from .columns import as_numeric

NAME_EFFECT = 0.25  # |standardised difference| a characteristic needs to appear in a name
NAME_TERMS = 2


def words(field: str) -> str:
    return field.replace("_", " ")


def slug(name: str) -> str:
    """The contract's default id: lower-case, every run of non-alphanumerics as `_`."""
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")


def tidy(value: float) -> float:
    """Four significant digits: enough for a rule threshold, stable across reruns."""
    if value == 0 or not np.isfinite(value):
        return 0.0
    return float(f"{value:.4g}")


def characteristics(frame, scaler, members: np.ndarray) -> list:
    """Each field's cluster value against the population, with a standardised effect and 0..1 importance."""
    rows = []
    for scale in scaler.scales:
        if scale.kind == "numeric":
            view = scaler.numeric_view(frame, scale)
            raw = as_numeric(frame[scale.name]).to_numpy()
            effect = float(view[members].mean() - view.mean())
            rows.append({"feature": scale.name, "kind": "numeric",
                         "direction": "high" if effect >= 0 else "low",
                         "value": tidy(float(raw[members].mean())), "population": tidy(float(raw.mean())),
                         "effect": round(effect, 4)})
        else:
            labels = frame[scale.name].fillna("(missing)").astype(str).to_numpy()
            best = None
            for category in scale.categories:
                share_all = float((labels == category).mean())
                share_in = float((labels[members] == category).mean())
                spread = np.sqrt(share_all * (1 - share_all)) or 1.0
                effect = (share_in - share_all) / spread
                if best is None or effect > best[1]:
                    best = (category, effect, share_in, share_all)
            rows.append({"feature": scale.name, "kind": "categorical", "direction": "mostly",
                         "value": best[0], "share": round(best[2], 4), "population": round(best[3], 4),
                         "effect": round(float(best[1]), 4)})
    strongest = max(abs(r["effect"]) for r in rows) or 1.0
    for r in rows:
        r["importance"] = round(abs(r["effect"]) / strongest, 4)
    return sorted(rows, key=lambda r: (-abs(r["effect"]), r["feature"]))


def phrase(characteristic: dict) -> str:
    if characteristic["kind"] == "numeric":
        return f"{characteristic['direction']} {words(characteristic['feature'])}"
    return f"{words(characteristic['feature'])} {characteristic['value']}"


def mechanical_name(chars: list, terms: int = NAME_TERMS) -> str:
    """'High page values, low exit rates': the top characteristics by |effect| that pass NAME_EFFECT."""
    strong = [c for c in chars if abs(c["effect"]) >= NAME_EFFECT][:terms]
    if not strong:
        return "Close to average"
    text = ", ".join(phrase(c) for c in strong)
    return text[0].upper() + text[1:]


def draft_filter_rules(frame, chars: list, members: np.ndarray) -> list:
    """Rules for the named characteristics: high -> gte the cluster's 25th pct, low -> lte its 75th."""
    rules = []
    for c in [c for c in chars if abs(c["effect"]) >= NAME_EFFECT][:NAME_TERMS]:
        if c["kind"] == "numeric":
            values = as_numeric(frame[c["feature"]]).to_numpy()[members]
            if c["direction"] == "high":
                rules.append({"field": c["feature"], "operator": "gte", "value": tidy(float(np.percentile(values, 25)))})
            else:
                rules.append({"field": c["feature"], "operator": "lte", "value": tidy(float(np.percentile(values, 75)))})
        else:
            rules.append({"field": c["feature"], "operator": "eq", "value": c["value"]})
    return rules


def rule_mask(frame, rules) -> np.ndarray:
    mask = np.ones(len(frame), dtype=bool)
    for rule in rules:
        if rule["operator"] == "eq" and isinstance(rule["value"], str):
            mask &= frame[rule["field"]].astype(str).to_numpy() == rule["value"]
            continue
        values = as_numeric(frame[rule["field"]]).to_numpy()
        compare = {"gte": np.greater_equal, "lte": np.less_equal, "gt": np.greater,
                   "lt": np.less, "eq": np.equal}[rule["operator"]]
        mask &= compare(values, rule["value"])
    return mask


def rule_match(frame, rules, members) -> dict:
    """How well the draft rules reproduce the cluster: share of it they catch, share of their matches in it."""
    matched = rule_mask(frame, rules)
    hit = float((matched & members).sum())
    return {"coverage": round(hit / max(members.sum(), 1), 4),
            "precision": round(hit / max(matched.sum(), 1), 4)}


def outcome_summary(frame, outcome, members):
    if outcome is None:
        return None
    values = as_numeric(frame[outcome]).to_numpy()
    rate, overall = float(values[members].mean()), float(values.mean())
    return {"field": outcome, "rate": round(rate, 4), "population": round(overall, 4),
            "lift": round(rate / overall, 3) if overall else None}


def suggested_use(name: str, outcome: dict) -> str:
    """A templated next step, keyed on the outcome lift when an outcome column was given."""
    if outcome is None or outcome["lift"] is None:
        return (f"Audience for content matched to '{name}'; compare its behaviour with the other "
                f"segments in an A/B test before acting on it.")
    lift, field = outcome["lift"], words(outcome["field"])
    if lift >= 1.5:
        return (f"{field} at {lift}x the population: protect this experience (no interruptions, fast "
                f"checkout) and test upsell rather than discounts.")
    if lift <= 0.67:
        return (f"{field} at {lift}x the population: test re-engagement (help, reminders, saved carts) "
                f"and measure its {field} lift against a holdout.")
    return f"{field} near the population ({lift}x): a comparison group for the other segments."


def _describe(size, pct, chars, outcome) -> str:
    parts = []
    for c in chars[:3]:
        if c["kind"] == "numeric":
            parts.append(f"{words(c['feature'])} {c['value']:g} vs {c['population']:g} overall")
        else:
            parts.append(f"{words(c['feature'])} {c['value']} in {c['share']:.0%} vs {c['population']:.0%} overall")
    text = f"{size} rows ({pct:g}%): " + "; ".join(parts) + "."
    if outcome:
        text += f" {words(outcome['field'])} rate {outcome['rate']:.1%} vs {outcome['population']:.1%} overall."
    return text


def _heuristic_cards(frame, clustering):
    info = clustering.heuristic
    cards = []
    for index, (band, low, high) in enumerate(info["bands"]):
        members = clustering.labels == index
        field = info["field"]
        if field is None:
            name, rules, chars = "All customers", [], []
        else:
            name = f"{band} {words(field)}"
            rules = []
            if low is not None:
                rules.append({"field": field, "operator": "gt", "value": tidy(low)})
            if high is not None:
                rules.append({"field": field, "operator": "lte", "value": tidy(high)})
            raw = as_numeric(frame[field]).to_numpy()
            chars = [{"feature": field, "kind": "numeric", "direction": band.lower(),
                      "value": tidy(float(raw[members].mean())), "population": tidy(float(raw.mean())),
                      "effect": round(float((raw[members].mean() - raw.mean()) / (raw.std() or 1)), 4),
                      "importance": 1.0}]
        cards.append((name, members, chars, rules))
    return cards


def build_cards(frame: pd.DataFrame, scaler, clustering, outcome=None) -> list:
    """One card per segment, in segment order; ids are unique snake_case tokens."""
    if clustering.algorithm == "heuristic":
        raw_cards = _heuristic_cards(frame, clustering)
    else:
        raw_cards = []
        segments = sorted(set(clustering.labels) - {NOISE})
        for index in segments:
            members = clustering.labels == index
            chars = characteristics(frame, scaler, members)
            raw_cards.append((mechanical_name(chars), members, chars, draft_filter_rules(frame, chars, members)))
        if (clustering.labels == NOISE).any():
            members = clustering.labels == NOISE
            raw_cards.append(("Unclustered (DBSCAN noise)", members, characteristics(frame, scaler, members), []))
    names = _unique_names([(n, c) for n, _, c, _ in raw_cards])
    cards = []
    for index, (name, (_, members, chars, rules)) in enumerate(zip(names, raw_cards)):
        size = int(members.sum())
        pct = round(100.0 * size / len(frame), 2)
        outcome_info = outcome_summary(frame, outcome, members)
        cards.append({
            "index": index, "id": slug(name), "name": name,
            "description": _describe(size, pct, chars, outcome_info),
            "size": size, "percentage": pct,
            "filterRules": rules, "ruleMatch": rule_match(frame, rules, members),
            "characteristics": chars, "outcome": outcome_info,
            "suggestedUse": suggested_use(name, outcome_info),
        })
    return cards


def _unique_names(named: list) -> list:
    """Clusters that share a name get their next characteristic added, then a number if still equal."""
    names = [n for n, _ in named]
    for terms in range(NAME_TERMS + 1, NAME_TERMS + 4):
        clashes = {n for n in names if names.count(n) > 1}
        if not clashes:
            break
        names = [mechanical_name(chars, terms) if n in clashes and chars else n
                 for n, (_, chars) in zip(names, named)]
    seen = {}
    unique = []
    for n in names:
        seen[n] = seen.get(n, 0) + 1
        unique.append(n if names.count(n) == 1 else f"{n} ({seen[n]})")
    return unique
