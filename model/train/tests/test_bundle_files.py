"""page_stats.json and the golden set have what the edge relies on (contract section 2)."""
import json


from edgeseg_train import paths
from edgeseg_train.page_stats import PAGE_TYPE_CLASS

EDGE_PAGE_TYPES = {"account", "cart", "checkout", "info", "home", "category", "product", "search", "sale"}
STAT_KEYS = {"bounce_rate", "exit_rate", "page_value"}


def _load(name):
    path = paths.MODEL_DIR / name
    assert path.is_file(), f"no model/{name}: run `bash model/train/build.sh`"
    return json.loads(path.read_text())


def test_page_stats_cover_every_edge_page_type():
    stats = _load("page_stats.json")
    assert set(stats) == {"version", "source", "default", "page_types", "paths"}
    assert set(PAGE_TYPE_CLASS) == EDGE_PAGE_TYPES == set(stats["page_types"])
    for entry in [stats["default"], *stats["page_types"].values()]:
        assert set(entry) == STAT_KEYS and all(v >= 0 for v in entry.values())
    assert "least squares" in stats["source"]


def test_golden_covers_every_segment():
    manifest = _load("manifest.json")
    winners = {max(range(len(g["segment"])), key=g["segment"].__getitem__) for g in manifest["golden"]}
    assert winners == set(range(len(manifest["segments"])))
    assert 12 <= len(manifest["golden"]) <= 20
    names = [f["name"] for f in manifest["features"]]
    for g in manifest["golden"]:
        assert list(g["features"]) == names
