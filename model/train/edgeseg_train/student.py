"""The student: a tiny two-head MLP in numpy, distilled from the teacher and the discovered segments."""
from dataclasses import dataclass

import numpy as np

HIDDEN = (32, 16)
SEED = 0


@dataclass
class StudentConfig:
    epochs: int = 30
    batch: int = 512
    learning_rate: float = 3e-3
    weight_decay: float = 1e-4
    segment_weight: float = 0.5   # weight of the segment cross-entropy next to the intent loss


def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def _softmax(z):
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


class Student:
    """features -> 32 -> 16 (ReLU) -> intent (sigmoid, 1) and segment (softmax, K)."""

    def __init__(self, width: int, segments: int, seed: int = SEED):
        rng = np.random.default_rng(seed)
        sizes = [width, *HIDDEN]
        self.w = [rng.normal(0, np.sqrt(2.0 / a), (a, b)) for a, b in zip(sizes[:-1], sizes[1:])]
        self.b = [np.zeros(b) for b in sizes[1:]]
        self.wi, self.bi = rng.normal(0, np.sqrt(1.0 / HIDDEN[-1]), (HIDDEN[-1], 1)), np.zeros(1)
        self.ws, self.bs = rng.normal(0, np.sqrt(1.0 / HIDDEN[-1]), (HIDDEN[-1], segments)), np.zeros(segments)

    def params(self):
        return [*self.w, *self.b, self.wi, self.bi, self.ws, self.bs]

    def _forward(self, x):
        acts = [x]
        for w, b in zip(self.w, self.b):
            acts.append(np.maximum(acts[-1] @ w + b, 0.0))
        return acts, acts[-1] @ self.wi + self.bi, acts[-1] @ self.ws + self.bs

    def predict(self, x):
        _, zi, zs = self._forward(np.asarray(x, dtype=np.float64))
        return _sigmoid(zi)[:, 0], _softmax(zs)

    def logit(self, x):
        """The intent head before its sigmoid (what calibration rescales)."""
        return self._forward(np.asarray(x, dtype=np.float64))[1][:, 0]

    def calibrate(self, scale: float, shift: float) -> "Student":
        """Folds Platt scaling, sigmoid(scale * logit + shift), into the intent head."""
        self.wi = self.wi * scale
        self.bi = self.bi * scale + shift
        return self

    def fit(self, x, intent_target, segment, weight, config: StudentConfig = StudentConfig(),
            seed: int = SEED):
        """Adam on weighted BCE to soft intent targets plus the segment cross-entropy."""
        x = np.asarray(x, dtype=np.float64)
        weight = np.asarray(weight, dtype=np.float64) * len(x) / float(np.sum(weight))
        k = self.ws.shape[1]
        onehot = np.eye(k)[segment]
        rng = np.random.default_rng(seed)
        params = self.params()
        m = [np.zeros_like(p) for p in params]
        v = [np.zeros_like(p) for p in params]
        step = 0
        for _ in range(config.epochs):
            order = rng.permutation(len(x))
            for start in range(0, len(x), config.batch):
                rows = order[start:start + config.batch]
                grads = self._gradients(x[rows], intent_target[rows], onehot[rows], weight[rows],
                                        config.segment_weight)
                step += 1
                for i, (p, g) in enumerate(zip(params, grads)):
                    g = g + config.weight_decay * p if p.ndim == 2 else g
                    m[i] = 0.9 * m[i] + 0.1 * g
                    v[i] = 0.999 * v[i] + 0.001 * g * g
                    p -= config.learning_rate * (m[i] / (1 - 0.9 ** step)) / (np.sqrt(v[i] / (1 - 0.999 ** step)) + 1e-8)
        return self

    def _gradients(self, x, target, onehot, weight, segment_weight):
        acts, zi, zs = self._forward(x)
        w = weight[:, None] / len(x)
        d_zi = (_sigmoid(zi) - target[:, None]) * w                # weighted BCE on a soft target
        d_zs = segment_weight * (_softmax(zs) - onehot) * w        # cross-entropy on the segment
        top = acts[-1]
        g_wi, g_bi = top.T @ d_zi, d_zi.sum(0)
        g_ws, g_bs = top.T @ d_zs, d_zs.sum(0)
        delta = (d_zi @ self.wi.T + d_zs @ self.ws.T) * (top > 0)
        g_w, g_b = [None] * len(self.w), [None] * len(self.b)
        for layer in range(len(self.w) - 1, -1, -1):
            g_w[layer] = acts[layer].T @ delta
            g_b[layer] = delta.sum(0)
            if layer:
                delta = (delta @ self.w[layer].T) * (acts[layer] > 0)
        return [*g_w, *g_b, g_wi, g_bi, g_ws, g_bs]
