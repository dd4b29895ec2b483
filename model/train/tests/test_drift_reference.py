"""The drift reference: bins the edge can reproduce, shares that add up, generic over features."""
import numpy as np
import pandas as pd

from edgeseg_train import data
from edgeseg_train.drift_reference import drift_reference, numeric_bins, numeric_edges


def test_a_value_falls_in_the_first_bin_whose_edge_is_not_below_it():
    edges = [0.0, 1.0, 5.0]
    assert list(numeric_bins([-1.0, 0.0, 0.5, 1.0, 4.9, 5.0, 5.1], edges)) == [0, 0, 1, 1, 2, 2, 3]


def test_zero_inflated_inputs_keep_distinct_edges():
    values = np.r_[np.zeros(80), np.arange(1, 21)]
    edges = numeric_edges(values)
    assert edges == sorted(set(edges))
    assert edges[0] == 0.0
    assert len(edges) < 9


def test_reference_of_real_rows(small_csv):
    frame = data.load_sessions(small_csv)
    features = [
        {"name": "product_related_duration", "kind": "num"},
        {"name": "visitor_type", "kind": "label", "categories": ["New_Visitor", "Returning_Visitor"]},
    ]
    segment_of = np.arange(len(frame)) % 3
    section = drift_reference(frame, features, segment_of, 3, "test rows")
    assert section["rows"] == len(frame)
    duration, visitor = section["inputs"]
    assert len(duration["reference"]) == len(duration["edges"]) + 1
    # Roughly a tenth of the rows per bin for a continuous input.
    assert max(duration["reference"]) < 0.2
    # UCI's third visitor type ("Other") lands in the catch-all bin.
    assert visitor["reference"][2] == round(float((frame["visitor_type"] == "Other").mean()), 6)
    for shares in [duration["reference"], visitor["reference"], section["segments"]]:
        assert abs(sum(shares) - 1.0) < 1e-5
    assert len(section["segments"]) == 3


def test_a_shifted_column_changes_its_reference_only():
    frame = pd.DataFrame({"a": np.arange(100.0), "b": np.arange(100.0)})
    features = [{"name": "a", "kind": "num"}, {"name": "b", "kind": "num"}]
    base = drift_reference(frame, features, np.zeros(100), 1, "x")
    shifted = drift_reference(frame.assign(a=frame["a"] * 2), features, np.zeros(100), 1, "x")
    assert base["inputs"][1] == shifted["inputs"][1]
    assert base["inputs"][0]["edges"] != shifted["inputs"][0]["edges"]
