"""The contract's input encoding (section 2), fitted on training rows; Rust must match it exactly."""
import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

# The model's inputs: behaviour the edge computes faithfully from a visit's requests and
# beacons (docs/contracts.md section 1). No calendar field (UCI's one year cannot teach the
# store's calendar), no page-stats field (UCI's page values are derived from its own
# transactions), no UCI code (live traffic cannot produce them). `visitor_type` (new or
# returning) rather than `previous_visits`: UCI only tells the two apart, and a count it
# never saw above 1 would be extrapolated. Cart and checkout are funnel stages of their
# own, taught by the documented priors of priors.json where UCI has no such events.
NUM_TRANSFORMS = {
    "administrative": "log1p",
    "administrative_duration": "log1p",
    "informational": "log1p",
    "informational_duration": "log1p",
    "product_related": "log1p",
    "product_related_duration": "log1p",
    "session_duration": "log1p",
    "cart_adds": "log1p",
    "cart_views": "log1p",
    "checkouts": "log1p",
}
# Count fields: their occlusion baseline is a whole number, a value the edge produces.
COUNT_FIELDS = {"administrative", "informational", "product_related", "cart_adds", "cart_views", "checkouts"}
# Label inputs with their categories in order; the baseline is the training mode.
LABEL_FIELDS = {"visitor_type": ["New_Visitor", "Returning_Visitor"]}


@dataclass
class FeatureSpec:
    name: str
    kind: str  # "num" or "label"
    transform: str = "identity"
    mean: float = 0.0
    std: float = 1.0
    categories: list = field(default_factory=list)
    baseline: object = None

    @property
    def width(self) -> int:
        return 1 if self.kind == "num" else len(self.categories)

    def to_manifest(self) -> dict:
        if self.kind == "num":
            return {"name": self.name, "kind": "num", "transform": self.transform,
                    "mean": self.mean, "std": self.std, "baseline": self.baseline}
        return {"name": self.name, "kind": "label", "categories": list(self.categories),
                "baseline": self.baseline}

    @staticmethod
    def from_manifest(entry: dict) -> "FeatureSpec":
        if entry["kind"] == "num":
            return FeatureSpec(entry["name"], "num", entry["transform"], entry["mean"], entry["std"],
                               baseline=entry["baseline"])
        return FeatureSpec(entry["name"], "label", categories=list(entry["categories"]),
                           baseline=entry["baseline"])


def fit_schema(train: pd.DataFrame, drop: tuple = ()) -> list:
    """Means/stds after the transform; the training medians as occlusion baselines (whole
    numbers for counts, so every baseline is a value the edge produces)."""
    specs = []
    for name, transform in NUM_TRANSFORMS.items():
        if name in drop:
            continue
        raw = train[name].astype(float).to_numpy()
        values = _transform(raw, transform)
        std = float(values.std())
        baseline = float(np.median(raw))
        if name in COUNT_FIELDS:
            baseline = float(np.floor(baseline))
        specs.append(FeatureSpec(name, "num", transform, round(float(values.mean()), 6),
                                 round(std, 6) if std > 0 else 1.0, baseline=round(baseline, 3)))
    for name, categories in LABEL_FIELDS.items():
        if name not in drop:
            specs.append(FeatureSpec(name, "label", categories=list(categories),
                                     baseline=str(train[name].astype(str).mode().iloc[0])))
    return specs


def width(specs) -> int:
    return sum(s.width for s in specs)


def _transform(values: np.ndarray, transform: str) -> np.ndarray:
    if transform == "log1p":
        return np.log1p(np.maximum(values, 0.0))
    if transform == "identity":
        return values
    raise ValueError(f"unknown transform {transform!r}")


def encode_frame(frame: pd.DataFrame, specs) -> np.ndarray:
    """Vectorised encoding of a DataFrame with the contract's columns, float32 [N, width]."""
    columns = []
    for spec in specs:
        if spec.kind == "num":
            raw = frame[spec.name].astype(float).to_numpy()
            columns.append(((_transform(raw, spec.transform) - spec.mean) / spec.std)[:, None])
        else:
            labels = frame[spec.name].astype(str).to_numpy()
            columns.append(np.stack([(labels == c).astype(float) for c in spec.categories], axis=1))
    return np.concatenate(columns, axis=1).astype(np.float32)


def encode_row(features: dict, specs) -> list:
    """Scalar, dependency-free encoding of one session, written as the Rust core will do it."""
    row = []
    for spec in specs:
        value = features.get(spec.name, spec.baseline)
        if spec.kind == "num":
            x = float(value)
            if spec.transform == "log1p":
                x = math.log1p(max(x, 0.0))
            row.append((x - spec.mean) / spec.std)
        else:
            row.extend(1.0 if str(value) == c else 0.0 for c in spec.categories)
    return row
