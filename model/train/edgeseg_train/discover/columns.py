"""Reads a table and decides which columns can describe a segment (numeric, categorical, or not at all)."""
import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from . import DiscoveryError

ID_NAME = re.compile(r"(^|_)(id|ids|uuid|guid|key|email|e_mail|phone|name|session|token)$")
MAX_CATEGORIES = 20
MAX_RECOMMENDED_FIELDS = 8


def snake_case(name: str) -> str:
    """Rules use snake_case fields, so columns are renamed the same way: ProductRelated -> product_related."""
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", str(name).strip())
    return re.sub(r"[^A-Za-z0-9]+", "_", spaced).strip("_").lower()


@dataclass
class Field:
    name: str
    kind: str  # "numeric" or "categorical"


def load_table(path, keep_names: bool = False) -> pd.DataFrame:
    path = Path(path)
    if not path.is_file():
        raise DiscoveryError(f"input file not found: {path}")
    try:
        frame = pd.read_csv(path)
    except pd.errors.EmptyDataError:
        raise DiscoveryError(f"input file {path} is empty")
    except (pd.errors.ParserError, UnicodeDecodeError) as error:
        raise DiscoveryError(f"input file {path} is not a readable CSV: {error}")
    if frame.empty:
        raise DiscoveryError(f"input file {path} has a header but no rows")
    if not keep_names:
        renamed = [snake_case(c) for c in frame.columns]
        if len(set(renamed)) != len(renamed):
            raise DiscoveryError(f"{path}: column names collide once snake_cased; use --keep-names")
        frame.columns = renamed
    return frame


def classify(frame: pd.DataFrame, name: str):
    """Returns (kind, None) for a usable column, or (None, reason) for one that can't describe a segment."""
    series = frame[name]
    distinct = series.nunique(dropna=True)
    if distinct <= 1:
        return None, "constant"
    if ID_NAME.search(snake_case(name)):
        return None, "id-like name"
    if pd.api.types.is_bool_dtype(series) or pd.api.types.is_numeric_dtype(series):
        integer = pd.api.types.is_integer_dtype(series)
        if integer and distinct == len(series) and len(series) > 20:
            return None, "id-like (every value distinct)"
        return "numeric", None
    lowered = series.dropna().astype(str).str.upper()
    if set(lowered.unique()) <= {"TRUE", "FALSE"}:
        return "numeric", None  # booleans written as text
    if distinct > MAX_CATEGORIES:
        return None, f"text with {distinct} distinct values (more than {MAX_CATEGORIES})"
    return "categorical", None


def choose_fields(frame: pd.DataFrame, requested=None, exclude=()) -> list:
    """The requested fields (each must exist and be usable), else every usable column up to 8."""
    excluded = set(exclude)
    if requested:
        fields = []
        for raw in requested:
            name = raw if raw in frame.columns else snake_case(raw)
            if name not in frame.columns:
                raise DiscoveryError(f"unknown field {raw!r}; columns are: {', '.join(frame.columns)}")
            kind, reason = classify(frame, name)
            if kind is None:
                raise DiscoveryError(f"field {name!r} cannot describe a segment: {reason}")
            fields.append(Field(name, kind))
        return fields
    usable, skipped = [], []
    for name in frame.columns:
        if name in excluded:
            continue
        kind, reason = classify(frame, name)
        (usable if kind else skipped).append(Field(name, kind) if kind else f"{name} ({reason})")
    if not usable:
        raise DiscoveryError("no usable columns (need numeric or low-cardinality text columns); skipped: "
                             + (", ".join(skipped) or "none"))
    return usable[:MAX_RECOMMENDED_FIELDS]


def as_numeric(series: pd.Series) -> pd.Series:
    """Numbers, booleans and TRUE/FALSE text as floats; missing values become the median."""
    if pd.api.types.is_bool_dtype(series):
        values = series.astype(float)
    elif pd.api.types.is_numeric_dtype(series):
        values = series.astype(float)
    else:
        values = series.astype(str).str.upper().map({"TRUE": 1.0, "FALSE": 0.0})
    return values.fillna(values.median() if values.notna().any() else 0.0)
