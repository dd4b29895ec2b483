"""Rows from `edgeseg replay`: the worker's own code turns visits into one feature row per
request prefix, so the features the pipeline trains on are the features the edge computes."""
import os
import subprocess
from pathlib import Path

import pandas as pd

from . import paths

KEY_COLUMNS = ["visit", "variant", "requests", "end", "ordered"]


def edgeseg_command() -> list:
    """`$EDGESEG_BIN`, else the CLI built from this checkout by cargo."""
    binary = os.environ.get("EDGESEG_BIN")
    if binary:
        return [binary]
    return ["cargo", "run", "--quiet", "--locked", "--bin", "edgeseg", "--"]


def run_cli(command: str, arguments: list, out: Path) -> pd.DataFrame:
    """Runs `edgeseg COMMAND ARGUMENTS --out OUT` and reads the CSV it writes."""
    subprocess.run([*edgeseg_command(), command, *map(str, arguments), "--out", str(out)],
                   check=True, cwd=paths.REPO_DIR)
    return pd.read_csv(out, dtype={"visit": str, "variant": str})


def record_rows(records: Path, work: Path) -> pd.DataFrame:
    """The store's own visits: `edgeseg logs rows` turns pulled training records into the
    rows `edgeseg replay` writes (the feature rows the worker classified on, each labelled
    by whether its visit ordered, cut before the order page)."""
    return run_cli("logs", ["rows", "--records", records], work / "records.csv")


def replay(arguments: list, out: Path) -> pd.DataFrame:
    """Runs `edgeseg replay ARGUMENTS --out OUT` and reads the CSV it writes. With
    EDGESEG_REPLAY_REUSE=1 (development only) an existing OUT is read instead."""
    if os.environ.get("EDGESEG_REPLAY_REUSE") == "1" and out.is_file():
        return pd.read_csv(out, dtype={"visit": str, "variant": str})
    return run_cli("replay", arguments, out)


def uci_rows(csv: Path, split: str, dates: str, work: Path, funnel: bool = False, prefixes=()) -> pd.DataFrame:
    arguments = ["--uci", csv, "--split", split, "--dates", dates] + (["--funnel"] if funnel else [])
    if prefixes:
        arguments += ["--prefixes", ",".join(map(str, prefixes))]
    return replay(arguments, work / f"uci-{split}-{dates}{'-funnel' if funnel else ''}.csv")


def otto_rows(jsonl: Path, work: Path) -> pd.DataFrame:
    return replay(["--otto", jsonl], work / "otto.csv")
