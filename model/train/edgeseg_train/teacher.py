"""The teacher: gradient-boosted trees on session fields, whose probabilities the student learns from."""
import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.model_selection import StratifiedKFold

from .data import TARGET

NUMERIC = ["administrative", "administrative_duration", "informational", "informational_duration",
           "product_related", "product_related_duration", "bounce_rates", "exit_rates", "page_values",
           "special_day", "weekend"]
CATEGORICAL = ["month", "visitor_type"]
ANONYMISED_CODES = ["operating_systems", "browser", "region", "traffic_type"]
SEED = 0
OOF_FOLDS = 5


class Teacher:
    """HistGradientBoosting with month/visitor type (and the UCI codes when used) as categories."""

    def __init__(self, use_codes: bool, drop=()):
        self.numeric = [c for c in NUMERIC if c not in drop]
        self.categorical = [c for c in CATEGORICAL if c not in drop] + (ANONYMISED_CODES if use_codes else [])
        self.levels = {}

    def _matrix(self, frame: pd.DataFrame) -> pd.DataFrame:
        columns = {c: frame[c].astype(float).to_numpy() for c in self.numeric}
        for c in self.categorical:
            codes = {v: i for i, v in enumerate(self.levels[c])}
            columns[c] = frame[c].astype(str).map(codes).fillna(-1).astype(float).replace(-1, np.nan).to_numpy()
        return pd.DataFrame(columns)

    def _model(self):
        mask = [False] * len(self.numeric) + [True] * len(self.categorical)
        return HistGradientBoostingClassifier(
            learning_rate=0.05, max_iter=300, max_leaf_nodes=15, min_samples_leaf=40,
            l2_regularization=1.0, early_stopping=False, categorical_features=mask, random_state=SEED)

    def _learn_levels(self, frame: pd.DataFrame) -> None:
        self.levels = {c: sorted(frame[c].astype(str).unique()) for c in self.categorical}

    def fit(self, frame: pd.DataFrame) -> "Teacher":
        self._learn_levels(frame)
        self.model = self._model().fit(self._matrix(frame), frame[TARGET].to_numpy())
        return self

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        return self.model.predict_proba(self._matrix(frame))[:, 1]

    def out_of_fold(self, frame: pd.DataFrame) -> np.ndarray:
        """Soft labels for the training rows from models that never saw them (no memorised targets)."""
        self._learn_levels(frame)
        folds = StratifiedKFold(OOF_FOLDS, shuffle=True, random_state=SEED)
        result = np.zeros(len(frame))
        matrix, target = self._matrix(frame), frame[TARGET].to_numpy()
        for fit_rows, held_rows in folds.split(matrix, target):
            model = self._model().fit(matrix.iloc[fit_rows], target[fit_rows])
            result[held_rows] = model.predict_proba(matrix.iloc[held_rows])[:, 1]
        return result
