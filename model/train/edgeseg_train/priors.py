"""The documented priors of priors.json as odds ratios on a visit's behaviour-only probability."""
import json

import numpy as np

from . import paths

PRIORS = paths.TRAIN_DIR / "priors.json"
STAGES = ("cart_add", "checkout")


def load() -> dict:
    document = json.loads(PRIORS.read_text(encoding="utf-8"))
    for stage in STAGES:
        p = document[stage]["p_order"]
        if not 0 < p < 1 or not document[stage].get("source"):
            raise ValueError(f"priors.json: {stage} needs 0 < p_order < 1 and a source")
    return document


def odds(p):
    return p / (1 - p)


def odds_ratios(document: dict, base_rate: float) -> dict:
    """Each stage's odds ratio against the training visits' order rate, never below 1."""
    return {stage: max(1.0, odds(document[stage]["p_order"]) / odds(base_rate)) for stage in STAGES}


def funnel_stage(frame) -> np.ndarray:
    """'checkout' once a checkout page was seen, else 'cart_add' once a cart add was, else ''."""
    return np.where(frame["checkouts"] > 0, "checkout", np.where(frame["cart_adds"] > 0, "cart_add", ""))


def apply(p_behaviour: np.ndarray, stage: np.ndarray, ratios: dict) -> np.ndarray:
    """sigmoid(logit(p) + log(odds ratio of the stage)); rows without a stage keep p."""
    p = np.clip(p_behaviour, 1e-6, 1 - 1e-6)
    ratio = np.ones(len(p))
    for name, value in ratios.items():
        ratio[stage == name] = value
    raised = odds(p) * ratio
    return raised / (1 + raised)
