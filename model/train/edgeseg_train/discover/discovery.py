"""The discovery run as a library call: fields -> scaled matrix -> clustering (with fallback) -> cards."""
import numpy as np

from . import DiscoveryError
from .cards import build_cards
from .clustering import dbscan, heuristic, kmeans_search
from .columns import choose_fields
from .transform import Scaler

MIN_ROWS_TO_CLUSTER = 10


def discover(frame, fields=None, algorithm="kmeans", k_min=2, k_max=8, eps=None, min_samples=None,
             seed=0, outcome=None, source="(data frame)"):
    """Returns (document, clustering, scaler); document is what cards.json holds."""
    if algorithm not in ("kmeans", "dbscan", "heuristic"):
        raise DiscoveryError(f"unknown algorithm {algorithm!r} (kmeans, dbscan, heuristic)")
    if k_min < 2 or k_max < k_min:
        raise DiscoveryError(f"need 2 <= min clusters <= max clusters, got {k_min}..{k_max}")
    if outcome is not None and outcome not in frame.columns:
        raise DiscoveryError(f"unknown outcome column {outcome!r}; columns are: {', '.join(frame.columns)}")
    if outcome is not None and fields and outcome in fields:
        raise DiscoveryError(f"outcome column {outcome!r} cannot also be a clustering field")
    chosen = choose_fields(frame, fields, exclude=(outcome,) if outcome else ())
    scaler = Scaler.fit(frame, chosen)
    matrix = scaler.transform(frame)
    clustering, note = None, None
    if algorithm != "heuristic":
        if len(frame) < MIN_ROWS_TO_CLUSTER:
            note = f"; {algorithm} needs at least {MIN_ROWS_TO_CLUSTER} rows, used the heuristic"
        elif algorithm == "kmeans":
            clustering = kmeans_search(matrix, k_min, k_max, seed)
            note = None if clustering else "; k-means found no valid clustering, used the heuristic"
        else:
            clustering = dbscan(matrix, eps, min_samples, seed)
            if clustering is not None and clustering.k < 2:
                clustering = None
            note = None if clustering else "; DBSCAN found fewer than 2 clusters, used the heuristic"
    if clustering is None:
        clustering = heuristic(frame, chosen)
    cards = build_cards(frame, scaler, clustering, outcome)
    document = {
        "source": str(source), "rows": int(len(frame)),
        "fields": [{"name": s.name, "kind": s.kind, **({"log": s.log} if s.kind == "numeric" else {})}
                   for s in scaler.scales],
        "algorithm": clustering.algorithm, "k": int(clustering.k),
        "silhouette": None if not np.isfinite(clustering.silhouette) else round(clustering.silhouette, 4),
        "silhouetteByK": {str(k): round(v, 4) for k, v in clustering.silhouette_by_k.items()},
        "params": clustering.params, "note": note, "outcome": outcome,
        "naming": "name = top characteristics (max 2) by |effect|, effect = standardised difference "
                  "of the segment mean from the population (|effect| >= 0.25); id = name snake_cased",
        "cards": cards,
    }
    return document, clustering, scaler
