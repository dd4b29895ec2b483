"""The manifest's `drift` section (docs/contracts.md section 2): how the training rows spread
over fixed bins of every model input and over the segments, so the edge can compute the
population stability index (PSI) of live traffic against it.

Generic over the manifest's features: a `num` input gets quantile edges of its raw values
(a value falls in the first bin whose edge is >= it, the last bin is open), a `label` input
its manifest categories plus one bin for anything else. The Rust side
(`src/core/drift.rs`) bins live values with exactly these rules.
"""
import numpy as np

BINS = 10
# Edges are rounded so the manifest stays readable; binning uses the rounded edges on both sides.
SIGNIFICANT_DIGITS = 6
SHARE_DECIMALS = 6


def numeric_edges(values, bins: int = BINS) -> list:
    """Distinct quantile edges of the finite values (fewer than bins - 1 when values repeat)."""
    values = np.asarray(values, dtype=float)
    values = values[np.isfinite(values)]
    if values.size == 0:
        return []
    quantiles = np.quantile(values, np.arange(1, bins) / bins)
    return sorted({float(f"{q:.{SIGNIFICANT_DIGITS}g}") for q in quantiles})


def numeric_bins(values, edges) -> np.ndarray:
    """Bin index of each finite value: the first edge >= value, else len(edges)."""
    values = np.asarray(values, dtype=float)
    values = values[np.isfinite(values)]
    return np.searchsorted(np.asarray(edges, dtype=float), values, side="left")


def label_bins(values, categories) -> np.ndarray:
    """Index of each label in categories; unknown labels go to the last bin (len(categories))."""
    index = {c: i for i, c in enumerate(categories)}
    return np.array([index.get(str(v), len(categories)) for v in values], dtype=int)


def shares(bins: np.ndarray, width: int) -> list:
    counts = np.bincount(bins, minlength=width)[:width].astype(float)
    total = counts.sum()
    if total == 0:
        return [0.0] * width
    return [round(float(c / total), SHARE_DECIMALS) for c in counts]


def input_reference(column, feature: dict, bins: int = BINS) -> dict:
    """One input's entry: its bins (edges or categories) and the share of rows in each."""
    if feature["kind"] == "num":
        edges = numeric_edges(column, bins)
        return {"name": feature["name"], "edges": edges,
                "reference": shares(numeric_bins(column, edges), len(edges) + 1)}
    categories = list(feature["categories"])
    return {"name": feature["name"], "categories": categories,
            "reference": shares(label_bins(column, categories), len(categories) + 1)}


def drift_reference(frame, features, segment_of, segment_count: int, source: str,
                    bins: int = BINS) -> dict:
    """The `drift` section for training rows `frame` (columns named as the manifest's features),
    the manifest's `features` entries, and each row's segment index (`segment_of`)."""
    segment_of = np.asarray(segment_of, dtype=int)
    return {
        "source": source,
        "rows": int(len(frame)),
        "inputs": [input_reference(frame[f["name"]].to_numpy(), f, bins) for f in features],
        "segments": shares(segment_of, segment_count),
    }
