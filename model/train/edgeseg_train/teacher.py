"""The teacher: gradient-boosted trees on the edge's behavioural fields of replayed visits,
whose out-of-fold probabilities the student learns from."""
import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.model_selection import GroupKFold

from .encoding import encode_frame

SEED = 0
OOF_FOLDS = 5


class Teacher:
    """HistGradientBoosting on the student's encoded inputs (trees are blind to the monotone
    transforms), rows weighted so every visit counts once."""

    def __init__(self, specs):
        self.specs = specs

    def _matrix(self, frame: pd.DataFrame) -> np.ndarray:
        return encode_frame(frame, self.specs)

    @staticmethod
    def _model():
        return HistGradientBoostingClassifier(
            learning_rate=0.05, max_iter=250, max_leaf_nodes=15, min_samples_leaf=80,
            l2_regularization=1.0, early_stopping=False, random_state=SEED)

    def fit(self, frame: pd.DataFrame, label, weight) -> "Teacher":
        self.model = self._model().fit(self._matrix(frame), label, sample_weight=weight)
        return self

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        return self.model.predict_proba(self._matrix(frame))[:, 1]

    def out_of_fold(self, frame: pd.DataFrame, label, weight, groups) -> np.ndarray:
        """Soft labels for the training rows from models that never saw their visit."""
        result = np.zeros(len(frame))
        matrix = self._matrix(frame)
        for fit_rows, held_rows in GroupKFold(OOF_FOLDS).split(matrix, label, groups):
            model = self._model().fit(matrix[fit_rows], label[fit_rows], sample_weight=weight[fit_rows])
            result[held_rows] = model.predict_proba(matrix[held_rows])[:, 1]
        return result
