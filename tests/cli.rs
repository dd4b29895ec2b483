//! The `edgeseg` binary end to end on the shipped bundle and the UCI data.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};

fn edgeseg(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_edgeseg"))
        .args(args)
        .output()
        .expect("edgeseg runs")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn model_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("model")
}

/// The UCI CSV the repository carries (`data/`); `EDGESEG_UCI_CSV` points elsewhere.
fn uci_data() -> PathBuf {
    std::env::var_os("EDGESEG_UCI_CSV").map_or_else(
        || {
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("data/uci-online-shoppers/online_shoppers_intention.csv")
        },
        PathBuf::from,
    )
}

/// A fresh scratch directory holding a copy of the shipped bundle's files.
fn bundle_copy() -> PathBuf {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "edgeseg-cli-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    for entry in std::fs::read_dir(model_dir()).expect("model dir") {
        let entry = entry.expect("entry");
        if entry.file_type().expect("type").is_file() && entry.file_name() != "manifest.sig" {
            std::fs::copy(entry.path(), dir.join(entry.file_name())).expect("copy");
        }
    }
    dir
}

fn json(output: &Output) -> serde_json::Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}): {}\n{}",
            stdout(output),
            stderr(output)
        )
    })
}

/// `edgeseg eval` on the UCI reference test rows replayed as visits: the Done-when
/// figures of the model (AUC >= 0.68 on the rows' own dates and on one weekday, ECE <= 0.03).
#[test]
fn eval_scores_the_replayed_reference_test_visits_on_any_date() {
    let model = model_dir();
    let data = uci_data();
    let mut aucs = Vec::new();
    for dates in ["own", "weekday"] {
        let out = edgeseg(&[
            "eval",
            "--model",
            model.to_str().expect("utf-8 path"),
            "--uci",
            data.to_str().expect("utf-8 path"),
            "--dates",
            dates,
        ]);
        assert!(out.status.success(), "{}", stderr(&out));
        let report = json(&out);
        assert_eq!(report["visits"].as_u64(), Some(2466), "20 % of 12,330");
        assert_eq!(
            report["orders"].as_u64(),
            Some(382),
            "stratified on revenue"
        );
        let auc = report["end"]["auc"].as_f64().expect("auc");
        let ece = report["end"]["ece"].as_f64().expect("ece");
        assert!(auc >= 0.68, "{dates}: AUC {auc}");
        assert!(ece <= 0.03, "{dates}: ECE {ece}");
        for k in ["after_1", "after_3", "after_5", "after_10"] {
            assert!(report[k]["auc"].as_f64().is_some(), "{k}");
        }
        aucs.push(auc);
    }
    assert!(
        (aucs[0] - aucs[1]).abs() < 0.01,
        "the date barely matters: {aucs:?}"
    );
}

/// On OTTO's visits, cut before their first order, intent ranks ordering visits at
/// least as well as the cart-add count.
#[test]
fn eval_on_otto_ranks_orders_at_least_as_well_as_cart_adds() {
    let model = model_dir();
    let otto = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/otto-sample/sessions.jsonl");
    let out = edgeseg(&[
        "eval",
        "--model",
        model.to_str().expect("utf-8 path"),
        "--otto",
        otto.to_str().expect("utf-8 path"),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let report = json(&out);
    assert_eq!(report["visits"].as_u64(), Some(144));
    assert_eq!(report["orders"].as_u64(), Some(5));
    let intent = report["end"]["auc"].as_f64().expect("auc");
    let carts = report["cart_adds_in_visit"]["auc"]
        .as_f64()
        .expect("cart auc");
    assert!(intent >= carts, "intent {intent} vs cart adds {carts}");
}

/// `edgeseg replay`: a row after every tracked request and one at the end, labelled.
#[test]
fn replay_writes_a_labelled_row_per_request_prefix() {
    let dir = bundle_copy();
    let visits = dir.join("visits.jsonl");
    std::fs::write(
        &visits,
        concat!(
            r#"{"ordered": true, "requests": [{"at_ms": 1795262400000, "path": "/"}, {"at_ms": 1795262401000, "path": "/assets/app.css"}, {"at_ms": 1795262430000, "path": "/product/b1"}, {"at_ms": 1795262475000, "beacon": {"v": 1, "events": [{"type": "dwell", "page": "/product/b1", "ms": 45000}]}}]}"#,
            "\n",
            r#"{"ordered": false, "previous_visits": 2, "requests": [{"at_ms": 1795262400000, "path": "/sale"}]}"#,
            "\n"
        ),
    )
    .expect("write");
    let out = edgeseg(&["replay", "--sessions", visits.to_str().expect("utf-8 path")]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].starts_with("visit,variant,requests,end,ordered,administrative,"));
    let column = |name: &str| lines[0].split(',').position(|c| c == name).expect("column");
    let rows: Vec<Vec<&str>> = lines[1..].iter().map(|l| l.split(',').collect()).collect();
    let keys: Vec<(&str, &str, &str, &str)> =
        rows.iter().map(|r| (r[0], r[2], r[3], r[4])).collect();
    assert_eq!(
        keys,
        [
            ("1", "1", "0", "1"),
            ("1", "2", "0", "1"),
            ("1", "2", "1", "1"),
            ("2", "1", "0", "0"),
            ("2", "1", "1", "0"),
        ],
        "the asset is untracked; each visit ends with its end row"
    );
    assert_eq!(rows[2][column("product_related_duration")], "75");
    assert_eq!(rows[4][column("previous_visits")], "2");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn bundle_check_accepts_the_shipped_bundle() {
    let model = model_dir();
    let out = edgeseg(&["bundle", "check", model.to_str().expect("utf-8 path")]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("golden:"), "{}", stdout(&out));
}

#[test]
fn keygen_sign_and_check_with_the_trusted_key() {
    let dir = bundle_copy();
    let keys = dir.join("keys");
    std::fs::create_dir_all(&keys).expect("keys dir");
    let (alice, mallory) = (keys.join("alice"), keys.join("mallory"));
    for who in [&alice, &mallory] {
        let out = edgeseg(&["keygen", "--out", who.to_str().expect("utf-8 path")]);
        assert!(out.status.success(), "{}", stderr(&out));
    }
    let with = |path: &Path, suffix: &str| format!("{}.{suffix}", path.display());
    let dir_arg = dir.to_str().expect("utf-8 path");

    let out = edgeseg(&["bundle", "sign", dir_arg, "--key", &with(&alice, "key")]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(dir.join("manifest.sig").is_file());

    let out = edgeseg(&["bundle", "check", dir_arg, "--trust", &with(&alice, "pub")]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("signature: verified"),
        "{}",
        stdout(&out)
    );

    let out = edgeseg(&[
        "bundle",
        "check",
        dir_arg,
        "--trust",
        &with(&mallory, "pub"),
    ]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("manifest.sig"), "{}", stderr(&out));

    // keygen never overwrites a key.
    let out = edgeseg(&["keygen", "--out", alice.to_str().expect("utf-8 path")]);
    assert!(!out.status.success());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn bundle_check_names_a_tampered_file() {
    let dir = bundle_copy();
    let onnx = dir.join("model.onnx");
    let mut bytes = std::fs::read(&onnx).expect("model.onnx");
    let last = bytes.len() - 1;
    bytes[last] ^= 0x80;
    std::fs::write(&onnx, bytes).expect("write");
    let out = edgeseg(&["bundle", "check", dir.to_str().expect("utf-8 path")]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("model.onnx"), "{}", stderr(&out));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn bundle_check_refuses_a_version_a_channel_could_not_name() {
    // The channel pointer takes at most 64 characters; the bundle must be refused by
    // the same rule before `publish` uploads a single file.
    let dir = bundle_copy();
    let path = dir.join("manifest.json");
    let mut manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&path).expect("manifest")).expect("JSON");
    manifest["version"] = "v".repeat(65).into();
    std::fs::write(&path, serde_json::to_vec_pretty(&manifest).expect("JSON")).expect("write");
    let out = edgeseg(&["bundle", "check", dir.to_str().expect("utf-8 path")]);
    assert!(!out.status.success(), "{}", stdout(&out));
    let err = stderr(&out);
    assert!(err.contains("version") && err.contains("64"), "{err}");

    manifest["version"] = "v".repeat(64).into();
    std::fs::write(&path, serde_json::to_vec_pretty(&manifest).expect("JSON")).expect("write");
    let out = edgeseg(&["bundle", "check", dir.to_str().expect("utf-8 path")]);
    assert!(out.status.success(), "{}", stderr(&out));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn classify_prints_the_model_segment_for_a_session() {
    let model = model_dir();
    let mut child = Command::new(env!("CARGO_BIN_EXE_edgeseg"))
        .args([
            "classify",
            "--model",
            model.to_str().expect("utf-8 path"),
            "--features",
            "-",
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawns");
    {
        use std::io::Write as _;
        let mut stdin = child.stdin.take().expect("stdin");
        stdin
            .write_all(br#"{"product_related": 40, "product_related_duration": 1800, "page_values": 35.0, "month": "Nov"}"#)
            .expect("writes");
    }
    let out = child.wait_with_output().expect("finishes");
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("edgeseg-reason: MODEL"), "{text}");
    assert!(text.contains("edgeseg-segment: "), "{text}");
    let signals = text
        .lines()
        .find_map(|l| l.strip_prefix("edgeseg-signals: "))
        .unwrap_or_default();
    assert!(signals.contains("product_related"), "{text}");
    assert!(
        !signals.contains("page_values") && !signals.contains("month"),
        "{text}"
    );
}

#[test]
fn classify_replays_a_recorded_session_through_the_core() {
    let dir = bundle_copy();
    let session = dir.join("session.json");
    std::fs::write(
        &session,
        r#"{ "requests": [
            { "at_ms": 1795262400000, "path": "/", "referrer": "https://www.google.com/", "continent": "EU",
              "user_agent": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36" },
            { "at_ms": 1795262430000, "path": "/category/boots", "query": "sort=price_asc" },
            { "at_ms": 1795262460000, "path": "/product/b1", "query": "price=89.5" },
            { "at_ms": 1795262506000, "beacon": { "v": 1, "events": [ { "type": "dwell", "page": "/product/b1", "ms": 45000 } ] } },
            { "at_ms": 1795262550000, "method": "POST", "path": "/cart/add", "query": "product=b2" }
        ] }"#,
    )
    .expect("write");
    let model = model_dir();
    let out = edgeseg(&[
        "classify",
        "--json",
        "--model",
        model.to_str().expect("utf-8 path"),
        "--session",
        session.to_str().expect("utf-8 path"),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let report = json(&out);
    assert_eq!(report["classification"]["reason"], "MODEL");
    assert_eq!(report["features"]["product_related"], 3.0);
    assert_eq!(report["features"]["cart_adds"], 1.0);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn classify_refuses_a_field_this_build_does_not_know() {
    let dir = bundle_copy();
    let features = dir.join("features.json");
    std::fs::write(&features, r#"{"telepathy_score": 1}"#).expect("write");
    let model = model_dir();
    let out = edgeseg(&[
        "classify",
        "--model",
        model.to_str().expect("utf-8 path"),
        "--features",
        features.to_str().expect("utf-8 path"),
    ]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("telepathy_score"), "{}", stderr(&out));
    let _ = std::fs::remove_dir_all(&dir);
}

/// `edgeseg explain --record`: a decision recorded with the shipped bundle replays to
/// the headers sent; a record whose headers were not what this bundle says fails.
#[test]
fn explain_replays_a_recorded_decision() {
    use edgeseg::core::classify::LoadedBundle;
    use edgeseg::core::decision_log::{DecisionId, DecisionRecord};
    use edgeseg::core::features::{Features, Observed};
    use edgeseg::core::headers::render_with_id;

    let loaded =
        LoadedBundle::from_dir(model_dir(), &edgeseg::core::bundle::TrustPolicy::unsigned())
            .expect("bundle");
    let mut features = Features::default();
    features.set("product_related", Observed::Num(4.0));
    features.set("product_related_duration", Observed::Num(95.25));
    let classification = loaded.classify(&features);
    let id = DecisionId::new("ab12", &[7, 7]);
    let sent = render_with_id(&classification, &id.to_string());
    let record = DecisionRecord::new(&id, 0, &classification, &features, &sent);

    let dir = bundle_copy();
    let file = dir.join("record.json");
    std::fs::write(&file, serde_json::to_string(&record).expect("JSON")).expect("write");
    let model = model_dir();
    let args = [
        "explain",
        "--record",
        file.to_str().expect("utf-8"),
        "--model",
        model.to_str().expect("utf-8"),
    ];
    let output = edgeseg(&args);
    assert!(output.status.success(), "{}", stderr(&output));
    for (name, value) in &sent {
        assert!(
            stdout(&output).contains(&format!("{name}: {value}")),
            "{}",
            stdout(&output)
        );
    }

    let mut forged = record;
    forged.headers[0].1 = "RULES_ONLY".into();
    std::fs::write(&file, serde_json::to_string(&forged).expect("JSON")).expect("write");
    let output = edgeseg(&args);
    assert!(!output.status.success());
    assert!(
        stderr(&output).contains("edgeseg-reason: sent RULES_ONLY, replayed MODEL"),
        "{}",
        stderr(&output)
    );
}
