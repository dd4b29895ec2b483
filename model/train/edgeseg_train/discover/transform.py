"""Puts the chosen fields on one scale so distances mean something, and remembers how (to assign new rows)."""
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .columns import as_numeric

SKEW_FOR_LOG = 1.0


@dataclass
class FieldScale:
    name: str
    kind: str
    log: bool = False
    mean: float = 0.0
    std: float = 1.0
    categories: list = field(default_factory=list)


@dataclass
class Scaler:
    """Numeric: log1p when non-negative and skewed (skew > 1), then standardise; categorical: one-hot."""
    scales: list

    @staticmethod
    def fit(frame: pd.DataFrame, fields) -> "Scaler":
        scales = []
        for f in fields:
            if f.kind == "numeric":
                values = as_numeric(frame[f.name]).to_numpy()
                log = bool(values.min() >= 0 and pd.Series(values).skew() > SKEW_FOR_LOG)
                shaped = np.log1p(values) if log else values
                std = float(shaped.std())
                scales.append(FieldScale(f.name, "numeric", log, float(shaped.mean()), std if std > 0 else 1.0))
            else:
                labels = frame[f.name].fillna("(missing)").astype(str)
                scales.append(FieldScale(f.name, "categorical", categories=sorted(labels.unique())))
        return Scaler(scales)

    def numeric_view(self, frame: pd.DataFrame, scale: FieldScale) -> np.ndarray:
        values = as_numeric(frame[scale.name]).to_numpy()
        shaped = np.log1p(np.maximum(values, 0)) if scale.log else values
        return (shaped - scale.mean) / scale.std

    def transform(self, frame: pd.DataFrame) -> np.ndarray:
        blocks = []
        for scale in self.scales:
            if scale.kind == "numeric":
                blocks.append(self.numeric_view(frame, scale)[:, None])
            else:
                labels = frame[scale.name].fillna("(missing)").astype(str).to_numpy()
                # 1/sqrt(2): a category switch moves a row as far as one standard deviation.
                blocks.append(np.stack([(labels == c) for c in scale.categories], axis=1) / np.sqrt(2))
        return np.concatenate(blocks, axis=1).astype(float)
