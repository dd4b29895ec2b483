"""The bundle is self-consistent: the manifest's encoding reproduces the golden inputs and the ONNX file its outputs."""
import json

import numpy as np
import onnx
import pandas as pd
import pytest

from edgeseg_train import encoding, paths
from edgeseg_train.onnx_export import run_onnx

MANIFEST = paths.MODEL_DIR / "manifest.json"


@pytest.fixture(scope="module")
def manifest():
    assert MANIFEST.is_file(), "no model/manifest.json: run `bash model/train/build.sh`"
    return json.loads(MANIFEST.read_text())


def test_golden_inputs_are_the_encoding_of_their_features(manifest):
    specs = [encoding.FeatureSpec.from_manifest(f) for f in manifest["features"]]
    assert encoding.width(specs) == manifest["model"]["width"]
    for entry in manifest["golden"]:
        assert np.allclose(encoding.encode_row(entry["features"], specs), entry["input"], atol=1e-6)
        frame = pd.DataFrame([entry["features"]])
        assert np.allclose(encoding.encode_frame(frame, specs)[0], entry["input"], atol=1e-6)


def test_onnx_reproduces_golden_outputs(manifest):
    model_bytes = (paths.MODEL_DIR / manifest["model"]["file"]).read_bytes()
    inputs = np.array([g["input"] for g in manifest["golden"]], dtype=np.float32)
    intent, segment = run_onnx(model_bytes, inputs)
    assert np.allclose(intent[:, 0], [g["intent"] for g in manifest["golden"]], atol=1e-5)
    assert np.allclose(segment, [g["segment"] for g in manifest["golden"]], atol=1e-5)
    assert segment.shape[1] == len(manifest["segments"])


def test_onnx_signature_matches_contract(manifest):
    model = onnx.load(str(paths.MODEL_DIR / "model.onnx"))
    assert model.opset_import[0].version == 13
    (graph_input,) = model.graph.input
    assert graph_input.name == "features"
    dims = graph_input.type.tensor_type.shape.dim
    assert dims[0].dim_param == "N" and dims[1].dim_value == manifest["model"]["width"]
    assert [o.name for o in model.graph.output] == ["intent", "segment"]
    assert (paths.MODEL_DIR / "model.onnx").stat().st_size <= 64 * 1024


def test_missing_feature_takes_its_baseline(manifest):
    specs = [encoding.FeatureSpec.from_manifest(f) for f in manifest["features"]]
    features = dict(manifest["golden"][0]["features"])
    missing = features.pop("product_related")
    baseline = {**features, "product_related": next(s.baseline for s in specs if s.name == "product_related")}
    assert encoding.encode_row(features, specs) == encoding.encode_row(baseline, specs)
    assert missing is not None


def test_unseen_label_is_all_zeros(manifest):
    specs = [encoding.FeatureSpec.from_manifest(f) for f in manifest["features"]]
    visitor = next(s for s in specs if s.name == "visitor_type")
    row = encoding.encode_row({"visitor_type": "Other"}, [visitor])
    assert row == [0.0] * len(visitor.categories)


def test_manifest_hashes_match_files(manifest):
    from edgeseg_train import bundle_manifest as manifest_tool
    assert manifest["files"] == manifest_tool.bundle_hashes(paths.MODEL_DIR)
