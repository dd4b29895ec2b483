"""Loads the UCI sessions under the contract's field names and makes the two agreed splits."""
import hashlib
import re
from pathlib import Path

import pandas as pd
from sklearn.model_selection import train_test_split

TARGET = "revenue"
REFERENCE_SEED = 42
TEMPORAL_TEST_MONTHS = ("Nov", "Dec")
# UCI's 'Other' visitors (85 rows) have no known earlier visit; the edge only says
# Returning_Visitor when it knows one, so they are what the edge calls New_Visitor.
VISITOR_TYPE_MAP = {"Other": "New_Visitor"}


def snake_case(name: str) -> str:
    """Contract names are the snake_case of UCI's columns: ProductRelated_Duration -> product_related_duration."""
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", str(name).strip())
    return re.sub(r"[^A-Za-z0-9]+", "_", spaced).strip("_").lower()


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 16), b""):
            digest.update(block)
    return digest.hexdigest()


def load_sessions(path: Path) -> pd.DataFrame:
    """One row per session, contract names, weekend/revenue as 0/1, visitor types the edge can produce."""
    frame = pd.read_csv(path)
    frame.columns = [snake_case(c) for c in frame.columns]
    for flag in ("weekend", TARGET):
        frame[flag] = frame[flag].astype(str).str.upper().map({"TRUE": 1, "FALSE": 0}).astype(int)
    frame["visitor_type"] = frame["visitor_type"].replace(VISITOR_TYPE_MAP)
    frame["month"] = frame["month"].astype(str)
    return frame


def reference_split(frame: pd.DataFrame):
    """Stratified 80/20 on revenue, random_state=42: the split every reported figure uses."""
    return train_test_split(frame, test_size=0.2, random_state=REFERENCE_SEED, stratify=frame[TARGET])


def temporal_split(frame: pd.DataFrame):
    """Train on the months before November, test on November and December."""
    late = frame["month"].isin(TEMPORAL_TEST_MONTHS)
    return frame[~late], frame[late]
