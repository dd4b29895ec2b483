"""Makes `edgeseg_train` importable and hands tests a small CSV of real UCI rows."""
import sys
from pathlib import Path

import pytest

TRAIN_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(TRAIN_DIR))

from edgeseg_train import paths  # noqa: E402

SAMPLE_ROWS = 400


@pytest.fixture(scope="session")
def uci_csv() -> Path:
    try:
        return paths.uci_csv()
    except FileNotFoundError as error:
        pytest.skip(str(error))


@pytest.fixture
def small_csv(uci_csv, tmp_path) -> Path:
    """Every 30th real session (a spread over the year), written as its own CSV."""
    import pandas as pd
    frame = pd.read_csv(uci_csv).iloc[::30].head(SAMPLE_ROWS)
    path = tmp_path / "sessions.csv"
    frame.to_csv(path, index=False)
    return path
