//! The shipped bundle (`model/`) through the model side of the core: verification,
//! golden vectors, explanation, fallbacks and the refusals that protect the worker.

use std::path::{Path, PathBuf};

use edgeseg::core::bundle::{
    self, Bundle, BundleError, BundleFiles, PublisherKey, SignatureStatus, TrustPolicy,
};
use edgeseg::core::classify::{classify, LoadedBundle, Reason, TOP_SIGNALS};
use edgeseg::core::model::{features_from_json, Model, ModelError, Progress, TOLERANCE};
use serde_json::Value;

#[path = "model/behaviour.rs"]
mod behaviour;

fn model_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("model")
}

fn shipped_files() -> BundleFiles {
    bundle::read_dir(&model_dir()).expect("the shipped bundle is readable")
}

fn manifest_json(files: &BundleFiles) -> Value {
    serde_json::from_slice(&files["manifest.json"]).expect("manifest.json is JSON")
}

fn with_manifest(mut files: BundleFiles, manifest: &Value) -> BundleFiles {
    files.insert(
        "manifest.json".into(),
        serde_json::to_vec_pretty(manifest).expect("serialises"),
    );
    files
}

fn key(seed: u8) -> PublisherKey {
    PublisherKey::from_seed([seed; 32])
}

fn trusting(key: &PublisherKey) -> TrustPolicy {
    let public = TrustPolicy::parse_public_key(&key.public_base64()).expect("valid key");
    TrustPolicy::trusting(vec![public])
}

fn signed(mut files: BundleFiles, key: &PublisherKey) -> BundleFiles {
    let sig = key.sign_manifest(&files["manifest.json"]);
    files.insert("manifest.sig".into(), sig.into_bytes());
    files
}

#[test]
fn golden_vectors_match_onnxruntime_within_tolerance() {
    let loaded = LoadedBundle::from_dir(model_dir(), &TrustPolicy::unsigned()).expect("loads");
    let report = loaded.verify().expect("golden vectors hold");
    assert!(report.vectors > 0, "the manifest carries golden vectors");
    assert!(report.max_input_diff <= TOLERANCE);
    assert!(report.max_output_diff <= TOLERANCE);
}

#[test]
fn a_model_built_stage_by_stage_is_the_model_built_at_once() {
    let bundle = Bundle::from_dir(model_dir(), &TrustPolicy::unsigned()).expect("verifies");
    let mut build = Model::build(bundle.manifest(), bundle.model_bytes());
    let mut stages = Vec::new();
    let stepped = loop {
        stages.push(build.next_step());
        match build
            .step()
            .expect("every stage of the shipped model builds")
        {
            Progress::More(rest) => build = rest,
            Progress::Done(model) => break model,
        }
    };
    // tract's codegen passes one step each (six in tract 0.23), then the fixed point.
    let passes = stages.len() - 5;
    assert!(passes >= 2, "optimising is split into passes: {stages:?}");
    let mut expected = vec!["read the ONNX graph", "infer types", "declutter"];
    let names: Vec<String> = (1..=passes)
        .map(|i| format!("optimise: pass {i}"))
        .collect();
    expected.extend(names.iter().map(String::as_str));
    expected.extend(["optimise: to the fixed point", "build the runnable plan"]);
    assert_eq!(stages, expected);
    let at_once = Model::load(bundle.manifest(), bundle.model_bytes()).expect("builds");
    let width = stepped.plan().width();
    let rows: Vec<f32> = (0..3 * width).map(|i| (i % 7) as f32 * 0.3).collect();
    assert_eq!(
        stepped.plan().run(&rows).expect("runs"),
        at_once.plan().run(&rows).expect("runs")
    );
    let loaded = LoadedBundle::with_model(bundle, Ok(stepped));
    loaded
        .verify()
        .expect("golden vectors hold on the stepped build");
}

#[test]
fn a_graph_that_is_not_onnx_fails_at_its_first_stage() {
    let bundle = Bundle::from_dir(model_dir(), &TrustPolicy::unsigned()).expect("verifies");
    let build = Model::build(bundle.manifest(), b"not a graph");
    let Err(error) = build.step() else {
        panic!("garbage was read as a graph");
    };
    assert_eq!(error.code(), "model_load", "{error}");
}

#[test]
fn embedded_bundle_is_the_shipped_bundle_and_verifies() {
    let embedded = bundle::embedded();
    for (name, bytes) in shipped_files() {
        if name != "manifest.sig" {
            assert_eq!(embedded.get(&name), Some(&bytes), "{name}");
        }
    }
    let loaded = LoadedBundle::embedded().expect("embedded bundle loads");
    loaded.verify().expect("embedded golden vectors hold");
}

#[test]
fn golden_features_classify_with_a_batched_explanation() {
    let loaded = LoadedBundle::from_dir(model_dir(), &TrustPolicy::unsigned()).expect("loads");
    let model = loaded.model().expect("model builds");
    let manifest = loaded.bundle().manifest();
    for golden in &manifest.golden {
        let features = features_from_json(&golden.features).expect("golden features parse");
        let prediction = model.predict(&features).expect("predicts");
        assert!((prediction.intent - golden.intent).abs() <= TOLERANCE);
        assert_eq!(prediction.attributions.len(), manifest.features.len());
        let sizes: Vec<f32> = prediction
            .attributions
            .iter()
            .map(|a| a.contribution.abs())
            .collect();
        assert!(
            sizes.windows(2).all(|w| w[0] >= w[1]),
            "sorted by |contribution|"
        );
        let best = golden.segment.iter().copied().fold(f32::MIN, f32::max);
        assert!((prediction.confidence - best).abs() <= TOLERANCE);
        assert_eq!(
            prediction.segment_id,
            manifest.segments[prediction.segment_index].id
        );

        let classification = classify(&features, &loaded);
        assert_eq!(classification.reason, Reason::Model);
        assert_eq!(
            classification.segment.as_deref(),
            Some(&*prediction.segment_id)
        );
        assert!(classification.signals.len() <= TOP_SIGNALS);
        let expected: Vec<_> = prediction
            .attributions
            .iter()
            .filter(|a| a.contribution != 0.0)
            .take(TOP_SIGNALS)
            .collect();
        assert_eq!(classification.signals.iter().collect::<Vec<_>>(), expected);
        assert_eq!(
            classification.model_version.as_deref(),
            Some(&*manifest.version)
        );
    }
}

#[test]
fn occluding_every_feature_to_its_baseline_explains_nothing() {
    let loaded = LoadedBundle::from_dir(model_dir(), &TrustPolicy::unsigned()).expect("loads");
    let model = loaded.model().expect("model builds");
    // No values at all: every feature is at its baseline already.
    let prediction = model
        .predict(&Default::default())
        .expect("predicts on baselines");
    assert!(prediction
        .attributions
        .iter()
        .all(|a| a.contribution.abs() <= TOLERANCE));
}

#[test]
fn one_changed_byte_of_the_onnx_is_refused_by_its_hash() {
    let mut files = shipped_files();
    let model_file = manifest_json(&files)["model"]["file"]
        .as_str()
        .expect("model.file")
        .to_string();
    let onnx = files.get_mut(&model_file).expect("model file present");
    let middle = onnx.len() / 2;
    onnx[middle] ^= 0x01;
    match Bundle::from_files(files, &TrustPolicy::unsigned()) {
        Err(BundleError::HashMismatch { file, .. }) => assert_eq!(file, model_file),
        other => panic!("expected a hash mismatch, got {other:?}"),
    }
}

#[test]
fn a_missing_listed_file_is_refused() {
    let mut files = shipped_files();
    files.remove("page_stats.json");
    match Bundle::from_files(files, &TrustPolicy::unsigned()) {
        Err(BundleError::MissingFile(name)) => assert_eq!(name, "page_stats.json"),
        other => panic!("expected a missing file, got {other:?}"),
    }
}

#[test]
fn a_trusted_signature_verifies() {
    let publisher = key(7);
    let bundle = Bundle::from_files(signed(shipped_files(), &publisher), &trusting(&publisher))
        .expect("signed bundle loads");
    assert_eq!(
        bundle.signature(),
        SignatureStatus::Verified { key_index: 0 }
    );
}

#[test]
fn a_signature_is_not_checked_without_trusted_keys() {
    let bundle = Bundle::from_files(signed(shipped_files(), &key(7)), &TrustPolicy::unsigned())
        .expect("loads");
    assert_eq!(bundle.signature(), SignatureStatus::PresentUnchecked);
}

#[test]
fn a_signature_by_an_untrusted_key_is_refused() {
    let files = signed(shipped_files(), &key(7));
    let err = Bundle::from_files(files, &trusting(&key(8))).expect_err("must refuse");
    assert!(matches!(err, BundleError::SignatureInvalid), "{err}");
}

#[test]
fn a_manifest_changed_after_signing_is_refused() {
    let publisher = key(7);
    let mut files = signed(shipped_files(), &publisher);
    let mut manifest = manifest_json(&files);
    manifest["version"] = Value::from("9999.1.1-1");
    let files = with_manifest(std::mem::take(&mut files), &manifest);
    let err = Bundle::from_files(files, &trusting(&publisher)).expect_err("must refuse");
    assert!(matches!(err, BundleError::SignatureInvalid), "{err}");
}

#[test]
fn an_unsigned_bundle_is_refused_when_a_signature_is_required() {
    let err = Bundle::from_files(shipped_files(), &trusting(&key(7))).expect_err("must refuse");
    assert!(matches!(err, BundleError::SignatureMissing), "{err}");
}

#[test]
fn a_manifest_feature_unknown_to_this_build_is_refused_by_name() {
    let files = shipped_files();
    let mut manifest = manifest_json(&files);
    manifest["features"][0]["name"] = Value::from("telepathy_score");
    // The drift reference names the inputs too; this test is about the features list.
    manifest.as_object_mut().expect("object").remove("drift");
    let err = Bundle::from_files(with_manifest(files, &manifest), &TrustPolicy::unsigned())
        .expect_err("must refuse");
    assert!(matches!(err, BundleError::UnknownFeature(_)), "{err}");
    assert!(err.to_string().contains("telepathy_score"), "{err}");
}

#[test]
fn an_unknown_manifest_format_is_refused() {
    let files = shipped_files();
    let mut manifest = manifest_json(&files);
    manifest["format"] = Value::from(2);
    let err = Bundle::from_files(with_manifest(files, &manifest), &TrustPolicy::unsigned())
        .expect_err("must refuse");
    assert!(matches!(err, BundleError::UnsupportedFormat(_)), "{err}");
}

#[test]
fn a_wrong_model_width_is_refused_naming_the_field() {
    let files = shipped_files();
    let mut manifest = manifest_json(&files);
    let width = manifest["model"]["width"].as_u64().expect("width");
    manifest["model"]["width"] = Value::from(width + 1);
    let err = Bundle::from_files(with_manifest(files, &manifest), &TrustPolicy::unsigned())
        .expect_err("must refuse");
    assert!(err.to_string().contains("model.width"), "{err}");
}

#[test]
fn an_input_name_the_graph_lacks_is_a_model_error_and_rules_still_classify() {
    let files = shipped_files();
    let mut manifest = manifest_json(&files);
    manifest["model"]["input"] = Value::from("not_the_input");
    let loaded =
        LoadedBundle::from_files(with_manifest(files, &manifest), &TrustPolicy::unsigned())
            .expect("the bundle itself is fine");
    let err = loaded.model().expect_err("model must not build");
    assert!(matches!(err, ModelError::Input { .. }), "{err}");
    assert!(err.to_string().contains("not_the_input"), "{err}");

    let classification = loaded.classify(&Default::default());
    assert_eq!(classification.reason, Reason::RulesOnly);
    assert_eq!(classification.error.as_deref(), Some("model_mismatch"));
    assert!(classification.intent.is_none());
}

#[test]
fn an_operator_outside_the_workers_registry_is_a_model_error_naming_it() {
    let mut files = shipped_files();
    let onnx = files.get("model.onnx").expect("model.onnx").clone();
    let at = onnx
        .windows(7)
        .position(|w| w == b"Sigmoid")
        .expect("the intent head is a Sigmoid");
    // A real ONNX operator of the same length, so the protobuf stays well formed.
    let mut changed = onnx;
    changed[at..at + 7].copy_from_slice(b"Dropout");
    files.insert("model.onnx".into(), changed.clone());
    let mut manifest = manifest_json(&files);
    manifest["files"]["model.onnx"] = Value::from(bundle::sha256_hex(&changed));
    let loaded =
        LoadedBundle::from_files(with_manifest(files, &manifest), &TrustPolicy::unsigned())
            .expect("the bundle itself is fine");
    let err = loaded.model().expect_err("model must not build");
    assert!(matches!(err, ModelError::Operator { .. }), "{err}");
    assert!(err.to_string().contains("`Dropout`"), "{err}");
}

/// The shipped files plus the core's `model/rules.json`, listed in the manifest with its
/// hash (as `model/train/manifest.py --rehash` does once the rules are in the bundle).
fn with_rules(files: BundleFiles) -> BundleFiles {
    let rules = std::fs::read(model_dir().join("rules.json")).expect("model/rules.json");
    let mut manifest = manifest_json(&files);
    manifest["files"]["rules.json"] = Value::from(bundle::sha256_hex(&rules));
    let mut files = with_manifest(files, &manifest);
    files.insert("rules.json".into(), rules);
    files
}

fn cart_session() -> edgeseg::core::features::Features {
    let mut values = serde_json::Map::new();
    values.insert("cart_adds".into(), Value::from(2));
    values.insert("checkouts".into(), Value::from(0));
    values.insert("product_related".into(), Value::from(12));
    values.insert("page_values".into(), Value::from(20.0));
    features_from_json(&values).expect("features")
}

#[test]
fn listed_rules_are_verified_parsed_and_matched_beside_the_model() {
    let loaded = LoadedBundle::from_files(with_rules(shipped_files()), &TrustPolicy::unsigned())
        .expect("bundle with rules loads");
    let c = loaded.classify(&cart_session());
    assert_eq!(c.reason, Reason::Model);
    assert!(
        c.rules.iter().any(|m| m.id == "cart_abandoner"),
        "{:?}",
        c.rules
    );
    assert!(c.rules_version.is_some());
}

#[test]
fn without_a_model_the_top_priority_rule_segment_is_the_segment() {
    let files = with_rules(shipped_files());
    let mut manifest = manifest_json(&files);
    manifest["model"]["intent_output"] = Value::from("no_such_output");
    let loaded =
        LoadedBundle::from_files(with_manifest(files, &manifest), &TrustPolicy::unsigned())
            .expect("bundle loads");
    assert!(matches!(loaded.model(), Err(ModelError::Output { .. })));
    let c = loaded.classify(&cart_session());
    assert_eq!(c.reason, Reason::RulesOnly);
    assert_eq!(c.segment.as_deref(), Some("cart_abandoner"));
    assert_eq!(c.confidence, Some(1.0));
    assert_eq!(c.error.as_deref(), Some("model_mismatch"));
}

#[test]
fn a_tampered_rules_file_is_refused_by_its_hash() {
    let mut files = with_rules(shipped_files());
    files
        .get_mut("rules.json")
        .expect("rules")
        .extend_from_slice(b" ");
    match Bundle::from_files(files, &TrustPolicy::unsigned()) {
        Err(BundleError::HashMismatch { file, .. }) => assert_eq!(file, "rules.json"),
        other => panic!("expected a hash mismatch, got {other:?}"),
    }
}

#[test]
fn rules_the_core_refuses_are_refused_with_the_bundle() {
    let files = shipped_files();
    let rules = br#"{"version": "x", "segments": [{"name": "Psychic", "priority": 1,
        "filterRules": [{"field": "telepathy_score", "operator": "gte", "value": 1}]}]}"#;
    let mut manifest = manifest_json(&files);
    manifest["files"]["rules.json"] = Value::from(bundle::sha256_hex(rules));
    let mut files = with_manifest(files, &manifest);
    files.insert("rules.json".into(), rules.to_vec());
    let err = Bundle::from_files(files, &TrustPolicy::unsigned()).expect_err("must refuse");
    assert!(matches!(err, BundleError::Rules(_)), "{err}");
    assert!(err.to_string().contains("telepathy_score"), "{err}");
}

#[test]
fn a_graph_narrower_or_wider_than_the_manifest_is_a_model_error_naming_the_input() {
    let files = shipped_files();
    let mut manifest = manifest_json(&files);
    let dropped = manifest["features"]
        .as_array_mut()
        .expect("features")
        .pop()
        .expect("a feature");
    let dropped_width = dropped["categories"].as_array().map_or(1, Vec::len) as u64;
    let width = manifest["model"]["width"].as_u64().expect("width");
    manifest["model"]["width"] = Value::from(width - dropped_width);
    manifest["golden"] = Value::Array(Vec::new());
    manifest.as_object_mut().expect("object").remove("drift");
    let loaded =
        LoadedBundle::from_files(with_manifest(files, &manifest), &TrustPolicy::unsigned())
            .expect("the bundle itself is consistent");
    let err = loaded.model().expect_err("the graph must not build");
    assert!(matches!(err, ModelError::Width { .. }), "{err}");
    assert!(err.to_string().contains("input"), "{err}");
}
