"""Makes `edgeseg_train` importable and hands tests a small CSV of real UCI rows."""
import os
import sys
from pathlib import Path

import pytest

# One thread: k-means and BLAS stay fast and deterministic on a shared 2-core machine.
for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")

TRAIN_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(TRAIN_DIR))

from edgeseg_train import paths  # noqa: E402

SAMPLE_ROWS = 400


@pytest.fixture(scope="session")
def uci_csv() -> Path:
    """The repository carries the data: a missing file is a failure, never a skip."""
    return paths.uci_csv()


@pytest.fixture
def small_csv(uci_csv, tmp_path) -> Path:
    """Every 30th real session (a spread over the year), written as its own CSV."""
    import pandas as pd
    frame = pd.read_csv(uci_csv).iloc[::30].head(SAMPLE_ROWS)
    path = tmp_path / "sessions.csv"
    frame.to_csv(path, index=False)
    return path
