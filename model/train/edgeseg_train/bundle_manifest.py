"""Writes model/manifest.json and recomputes its file hashes. Standard library only, so
`python3 model/train/manifest.py --rehash model` works without the training venv
(e.g. after another engineer changes model/rules.json)."""
import argparse
import datetime
import hashlib
import json
import os
import sys
from pathlib import Path

MANIFEST = "manifest.json"
BUNDLE_FILES = ("model.onnx", "rules.json", "page_stats.json")  # hashed when present in the bundle dir


def sha256_of(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def bundle_hashes(model_dir: Path) -> dict:
    return {name: sha256_of(model_dir / name) for name in BUNDLE_FILES if (model_dir / name).is_file()}


def dumps(document: dict) -> str:
    """One formatting for every writer: stable key order as built, 2-space indent, final newline."""
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def created_stamp(model_dir: Path, document: dict) -> str:
    """SOURCE_DATE_EPOCH if set; else the old stamp when nothing else changed (diff-free reruns); else now."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch:
        moment = datetime.datetime.fromtimestamp(int(epoch), datetime.timezone.utc)
        return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
    previous_path = model_dir / MANIFEST
    if previous_path.is_file():
        try:
            previous = json.loads(previous_path.read_text(encoding="utf-8"))
            if {**previous, "created": None} == {**document, "created": None} and previous.get("created"):
                return previous["created"]
        except json.JSONDecodeError:
            pass
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def write_manifest(model_dir: Path, document: dict) -> Path:
    document = dict(document)
    document["files"] = bundle_hashes(model_dir)
    document["created"] = created_stamp(model_dir, document)
    path = model_dir / MANIFEST
    path.write_text(dumps(document), encoding="utf-8")
    return path


def rehash(model_dir: Path) -> dict:
    """Recomputes `files` in place (adds rules.json once it exists); everything else stays."""
    path = model_dir / MANIFEST
    if not path.is_file():
        raise SystemExit(f"error: {path} not found; run `make model` (bash model/train/build.sh) first")
    document = json.loads(path.read_text(encoding="utf-8"))
    document["files"] = bundle_hashes(model_dir)
    path.write_text(dumps(document), encoding="utf-8")
    return document["files"]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rehash", metavar="MODEL_DIR", required=True,
                        help="bundle folder holding manifest.json (e.g. model)")
    args = parser.parse_args(argv)
    for name, digest in rehash(Path(args.rehash)).items():
        print(f"{digest}  {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
