"""Three ways to split rows into segments: k-means (k by silhouette), DBSCAN, and a percentile heuristic."""
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn.cluster import DBSCAN, KMeans
from sklearn.metrics import silhouette_score
from sklearn.neighbors import NearestNeighbors

from .columns import as_numeric

SILHOUETTE_SAMPLE = 4000
NOISE = -1


@dataclass
class Clustering:
    algorithm: str
    labels: np.ndarray
    k: int
    silhouette_by_k: dict = field(default_factory=dict)
    silhouette: float = float("nan")
    model: object = None
    params: dict = field(default_factory=dict)
    # Heuristic only: the split field and its thresholds, used for names and rules.
    heuristic: dict = None

    def assign(self, matrix: np.ndarray) -> np.ndarray:
        """Segment of new rows (k-means: nearest centre)."""
        if self.algorithm != "kmeans":
            raise ValueError("only k-means segments can assign new rows")
        return self.model.predict(matrix)


def _silhouette(matrix, labels, seed):
    mask = labels != NOISE
    if len(set(labels[mask])) < 2:
        return float("nan")
    sample = min(SILHOUETTE_SAMPLE, int(mask.sum()))
    return float(silhouette_score(matrix[mask], labels[mask], sample_size=sample, random_state=seed))


def kmeans_search(matrix: np.ndarray, k_min: int, k_max: int, seed: int) -> Clustering:
    """Fits k-means for every k in range and keeps the k with the best silhouette."""
    k_max = min(k_max, len(matrix) - 1)
    scores, models = {}, {}
    for k in range(max(2, k_min), k_max + 1):
        model = KMeans(n_clusters=k, n_init=10, random_state=seed).fit(matrix)
        if len(set(model.labels_)) < k:
            continue
        scores[k] = _silhouette(matrix, model.labels_, seed)
        models[k] = model
    valid = {k: s for k, s in scores.items() if np.isfinite(s)}
    if not valid:
        return None
    best = max(valid, key=lambda k: (valid[k], -k))
    model = models[best]
    return Clustering("kmeans", _relabel_by_size(model), best, scores, valid[best], model,
                      {"k_min": k_min, "k_max": k_max, "n_init": 10, "random_state": seed})


def _relabel_by_size(model) -> np.ndarray:
    """Largest cluster first, so segment order is stable and readable; the model's centres follow."""
    counts = np.bincount(model.labels_)
    order = sorted(range(len(counts)), key=lambda c: (-counts[c], c))
    model.cluster_centers_ = model.cluster_centers_[order]
    remap = np.empty(len(order), dtype=int)
    remap[order] = np.arange(len(order))
    model.labels_ = remap[model.labels_]
    return model.labels_.copy()


def dbscan(matrix: np.ndarray, eps=None, min_samples=None, seed: int = 0) -> Clustering:
    """DBSCAN; eps defaults to the 90th percentile of each row's distance to its min_samples-th neighbour."""
    min_samples = min_samples or max(5, 2 * matrix.shape[1])
    min_samples = min(min_samples, len(matrix))
    if eps is None:
        distances, _ = NearestNeighbors(n_neighbors=min_samples).fit(matrix).kneighbors(matrix)
        eps = float(np.quantile(distances[:, -1], 0.9)) or 1e-6
    labels = DBSCAN(eps=eps, min_samples=min_samples).fit_predict(matrix)
    clusters = sorted(set(labels) - {NOISE})
    if not clusters:
        return None
    counts = {c: int((labels == c).sum()) for c in clusters}
    order = sorted(clusters, key=lambda c: (-counts[c], c))
    remap = {old: new for new, old in enumerate(order)}
    remap[NOISE] = NOISE
    labels = np.array([remap[l] for l in labels])
    return Clustering("dbscan", labels, len(order), {}, _silhouette(matrix, labels, seed),
                      params={"eps": round(eps, 6), "min_samples": int(min_samples)})


def heuristic(frame: pd.DataFrame, fields) -> Clustering:
    """Deterministic fallback: the widest-range numeric field cut at its 33rd and 67th percentiles."""
    numeric = [f for f in fields if f.kind == "numeric"]
    if not numeric:
        return Clustering("heuristic", np.zeros(len(frame), dtype=int), 1,
                          heuristic={"field": None, "bands": [("All customers", None, None)]})
    ranges = {f.name: float(np.ptp(as_numeric(frame[f.name]).to_numpy())) for f in numeric}
    widest = max(numeric, key=lambda f: (ranges[f.name], -numeric.index(f))).name
    values = as_numeric(frame[widest]).to_numpy()
    low, high = (float(v) for v in np.percentile(values, [33, 67]))
    raw = np.where(values <= low, 0, np.where(values <= high, 1, 2))
    bands = [("Low", None, low), ("Mid", low, high), ("High", high, None)]
    present = [b for b in range(3) if (raw == b).any()]
    labels = np.searchsorted(present, raw)
    return Clustering("heuristic", labels, len(present),
                      heuristic={"field": widest, "bands": [bands[b] for b in present]},
                      params={"field": widest, "p33": low, "p67": high})
