"""Where the pipeline finds its data and writes its bundle, in one place."""
import os
from pathlib import Path

TRAIN_DIR = Path(__file__).resolve().parent.parent
MODEL_DIR = TRAIN_DIR.parent
REPO_DIR = MODEL_DIR.parent
UCI_RELATIVE = Path("uci-online-shoppers") / "online_shoppers_intention.csv"


def data_dir() -> Path:
    """`${EDGESEG_DATA:-<repo>/data}`: the repository carries the real data it trains on."""
    return Path(os.environ.get("EDGESEG_DATA") or (REPO_DIR / "data"))


def uci_csv() -> Path:
    path = data_dir() / UCI_RELATIVE
    if not path.is_file():
        raise FileNotFoundError(
            f"UCI data not found at {path}; set EDGESEG_DATA to the folder holding "
            f"{UCI_RELATIVE} (the repository's data/ folder by default)"
        )
    return path


OTTO_RELATIVE = Path("otto-sample") / "sessions.jsonl"


def otto_jsonl() -> Path:
    path = data_dir() / OTTO_RELATIVE
    if not path.is_file():
        raise FileNotFoundError(f"OTTO sample not found at {path}; set EDGESEG_DATA to the folder holding {OTTO_RELATIVE}")
    return path
