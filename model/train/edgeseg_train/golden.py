"""Golden vectors: replayed test rows with their raw fields, encoded input and onnxruntime outputs."""
import numpy as np

LABEL = "ordered"
from .encoding import encode_row

GOLDEN_ROWS = 16
SEED = 7
DECIMALS = 7


def _raw(value):
    if isinstance(value, str):
        return value
    value = float(value)
    return int(value) if value.is_integer() else value


def pick_rows(test, segment_of_row: np.ndarray) -> list:
    """One buyer and one non-buyer per segment where they exist, then random rows up to 16."""
    rng = np.random.default_rng(SEED)
    labels = test[LABEL].to_numpy()
    chosen = []
    for segment in sorted(set(segment_of_row)):
        for outcome in (1, 0):
            pool = np.flatnonzero((segment_of_row == segment) & (labels == outcome))
            if len(pool):
                chosen.append(int(rng.choice(pool)))
    rest = np.setdiff1d(np.arange(len(test)), chosen)
    chosen += [int(i) for i in rng.choice(rest, GOLDEN_ROWS - len(chosen), replace=False)]
    return chosen[:GOLDEN_ROWS]


def build_golden(test, specs, run_model, segment_of_row) -> list:
    """`run_model(float32 [n, width]) -> (intent, segment)` is onnxruntime on the exported bytes."""
    rows = pick_rows(test, segment_of_row)
    entries = []
    for position in rows:
        record = test.iloc[position]
        features = {s.name: _raw(record[s.name]) for s in specs}
        encoded = [round(v, DECIMALS) for v in encode_row(features, specs)]
        entries.append({"features": features, "input": encoded})
    intent, segment = run_model(np.array([e["input"] for e in entries], dtype=np.float32))
    for entry, p, q in zip(entries, intent[:, 0], segment):
        entry["intent"] = round(float(p), DECIMALS)
        entry["segment"] = [round(float(v), DECIMALS) for v in q]
    return entries


def check_golden(entries, specs, tolerance: float = 1e-6) -> None:
    """The encoding written for Rust must be the encoding of the raw features: fail the build if not."""
    for i, entry in enumerate(entries):
        again = np.array(encode_row(entry["features"], specs))
        gap = np.abs(again - np.array(entry["input"])).max()
        if gap > tolerance:
            raise AssertionError(f"golden[{i}]: encoding of features differs from input by {gap}")
