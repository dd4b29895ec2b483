"""The figures every model is judged by, on replayed visits, rounded so reruns write identical files.

`after k requests`: each visit's row after min(k, its requests) tracked requests, so every
visit is in every figure; `end`: its row after its last request and beacon."""
import numpy as np
from sklearn.metrics import average_precision_score, roc_auc_score

PREFIXES = (1, 3, 5, 10)
BINS = 10
BOOTSTRAP = 2000
SEED = 11


def score(y_true, probability) -> dict:
    return {"auc": round(float(roc_auc_score(y_true, probability)), 4),
            "ap": round(float(average_precision_score(y_true, probability)), 4)}


def rows_after(frame, k: int):
    """Per visit, the row after min(k, visit's requests) requests (not the end row)."""
    steps = frame[frame["end"] == 0]
    last = steps.groupby("visit")["requests"].transform("max")
    return steps[steps["requests"] == np.minimum(k, last)]


def ece(y_true, probability, bins: int = BINS) -> float:
    """Expected calibration error over equal-width bins of the predicted probability."""
    y, p = np.asarray(y_true, float), np.asarray(probability, float)
    index = np.minimum((p * bins).astype(int), bins - 1)
    total = 0.0
    for b in range(bins):
        chosen = index == b
        if chosen.any():
            total += chosen.mean() * abs(p[chosen].mean() - y[chosen].mean())
    return round(float(total), 4)


def reliability(y_true, probability, bins: int = BINS) -> list:
    """Rows of the reliability plot: bin range, visits, mean predicted, observed order rate."""
    y, p = np.asarray(y_true, float), np.asarray(probability, float)
    index = np.minimum((p * bins).astype(int), bins - 1)
    rows = []
    for b in range(bins):
        chosen = index == b
        if chosen.any():
            rows.append({"bin": [b / bins, (b + 1) / bins], "visits": int(chosen.sum()),
                         "predicted": round(float(p[chosen].mean()), 4),
                         "observed": round(float(y[chosen].mean()), 4)})
    return rows


def by_prefix(frame, scores) -> dict:
    """AUC/AP after 1, 3, 5, 10 requests and at the end; ECE and reliability at the end."""
    frame = frame.assign(score=scores)
    report = {}
    for k in PREFIXES:
        rows = rows_after(frame, k)
        report[f"after_{k}"] = score(rows["ordered"], rows["score"])
    end = frame[frame["end"] == 1]
    report["end"] = {**score(end["ordered"], end["score"]), "ece": ece(end["ordered"], end["score"]),
                     "visits": int(len(end)), "orders": int(end["ordered"].sum())}
    report["reliability"] = reliability(end["ordered"], end["score"])
    return report


def bootstrap_auc(y_true, scores: dict) -> dict:
    """AUC of each score with a 95 % percentile interval over resampled visits (a few
    positives make these wide), and the interval of each score's difference to the first."""
    y = np.asarray(y_true)
    rng = np.random.default_rng(SEED)
    names = list(scores)
    samples = {name: [] for name in names}
    for _ in range(BOOTSTRAP):
        pick = rng.integers(0, len(y), len(y))
        if y[pick].min() == y[pick].max():
            continue
        for name in names:
            samples[name].append(roc_auc_score(y[pick], np.asarray(scores[name])[pick]))
    report = {}
    first = np.array(samples[names[0]])
    for name in names:
        values = np.array(samples[name])
        entry = {"auc": round(float(roc_auc_score(y, scores[name])), 4),
                 "ci95": [round(float(np.percentile(values, 2.5)), 4), round(float(np.percentile(values, 97.5)), 4)]}
        if name != names[0]:
            diff = first - values
            entry[f"{names[0]}_minus_this_ci95"] = [round(float(np.percentile(diff, 2.5)), 4),
                                                   round(float(np.percentile(diff, 97.5)), 4)]
        report[name] = entry
    return report
