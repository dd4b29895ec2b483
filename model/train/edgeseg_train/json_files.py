"""One way to write the JSON files of the bundle and of discovery: 2-space indent, UTF-8, final newline."""
import json
from pathlib import Path


def write_json(path: Path, document) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(document, handle, indent=2, ensure_ascii=False)
        handle.write("\n")
