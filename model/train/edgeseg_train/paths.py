"""Where the pipeline finds its data and writes its bundle, in one place."""
import os
from pathlib import Path

TRAIN_DIR = Path(__file__).resolve().parent.parent
REPO_DIR = TRAIN_DIR.parent.parent
# Where the bundle is written: the shipped model/ unless EDGESEG_MODEL_OUT names another
# folder (a bundle trained on a store's records, which must not replace the shipped one).
MODEL_DIR = Path(os.environ.get("EDGESEG_MODEL_OUT") or TRAIN_DIR.parent)
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


def records_dir():
    """`$EDGESEG_RECORDS` (what `make model DATA=dir` sets): training records pulled with
    `edgeseg logs pull`, trained on beside the shipped sources; unset or empty: none, and
    the bundle is the shipped one, bit for bit."""
    value = os.environ.get("EDGESEG_RECORDS") or ""
    if not value:
        return None
    path = Path(value)
    if not path.is_dir():
        raise FileNotFoundError(f"training records folder {path} does not exist (make model DATA=...)")
    return path
