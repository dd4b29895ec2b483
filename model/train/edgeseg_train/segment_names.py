"""Segment names a merchandiser reads, from each card's characteristics and order rate.

The rule (also written into cards.json and the model card):
1. role, first match wins, from the cluster's mean values and standardised effects
   (effect = cluster mean minus population mean, in the clustering's scaled units):
   - `bouncer`: at most 3 product-related pages on average;
   - `researcher`: informational pages are its strongest positive effect (>= 0.5);
   - `account regular`: account pages are its strongest positive effect (>= 0.5);
   - `explorer`: product-related pages at effect >= 0.75 (many products, long browsing);
   - `decisive buyer`: fewer product-related pages than the population, order rate at
     least 1.5x the population's;
   - otherwise `browser`.
2. intent tier from the cluster's order rate against the population's: `high-intent`
   at 1.5x or more, `low-intent` at 0.5x or less, nothing in between.
3. name = tier + role ("high-intent explorer"); clusters that still share a name get
   their strongest characteristic added ("long product time").
UCI visits show no searches, price sorts or comparisons, so "comparison shopper" and
"price-sensitive researcher" are rule segments (model/rules.json), not discovered ones.
"""
from .discover.cards import slug

RULE = __doc__.split("The rule (also written into cards.json and the model card):")[1].strip()
HIGH, LOW = 1.5, 0.5


def _effects(card) -> dict:
    return {c["feature"]: c for c in card["characteristics"]}


def role(card) -> str:
    chars = _effects(card)
    effect = {name: c["effect"] for name, c in chars.items()}
    strongest = max(effect, key=effect.get)
    lift = card["outcome"]["lift"] or 0.0
    if chars["product_related"]["value"] <= 3:
        return "bouncer"
    if strongest == "informational" and effect[strongest] >= 0.5:
        return "researcher"
    if strongest == "administrative" and effect[strongest] >= 0.5:
        return "account regular"
    if effect["product_related"] >= 0.75:
        return "explorer"
    if effect["product_related"] < 0 and lift >= HIGH:
        return "decisive buyer"
    return "browser"


def tier(card) -> str:
    lift = card["outcome"]["lift"] or 0.0
    return "high-intent " if lift >= HIGH else "low-intent " if lift <= LOW else ""


def _phrase(characteristic) -> str:
    words = characteristic["feature"].replace("_related", "").replace("_", " ")
    return f"{'long' if characteristic['direction'] == 'high' else 'short'} {words}" \
        if characteristic["feature"].endswith("duration") else f"{characteristic['direction']} {words}"


def name_cards(document: dict) -> dict:
    """Renames every card (name, id, capitalised display name) by the rule; returns the document."""
    names = [tier(card) + role(card) for card in document["cards"]]
    for i, card in enumerate(document["cards"]):
        if names.count(names[i]) > 1:
            names[i] = f"{names[i]} ({_phrase(card['characteristics'][0])})"
    for card, name in zip(document["cards"], names):
        card["id"] = slug(name)
        card["name"] = name[0].upper() + name[1:]
    document["naming"] = RULE
    return document
