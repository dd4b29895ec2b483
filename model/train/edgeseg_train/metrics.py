"""The two figures every model is judged by, rounded so reruns write identical files."""
from sklearn.metrics import average_precision_score, roc_auc_score


def score(y_true, probability) -> dict:
    return {"auc": round(float(roc_auc_score(y_true, probability)), 4),
            "ap": round(float(average_precision_score(y_true, probability)), 4)}
