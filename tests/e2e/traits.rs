//! The store's customer traits at the edge: a feed published with the real CLI into the
//! worker's local KV, read for logged-in customers only, shown in `edgeseg-rules`, and
//! erased with the customer.

use std::fs;
use std::process::{Command, Output};

use edgeseg::core::identity::customer_key;
use edgeseg::core::traits::kv_key;
use serde_json::Value;

use crate::harness::{
    client, get_json, repo_root, start_joining_customers as start, Shopper, Worker, ADMIN_TOKEN,
    CUSTOMER_KEY,
};

/// `edgeseg traits ...` against the worker's local KV, with the worker's customer key.
fn traits_cli(worker: &Worker, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_edgeseg"))
        .arg("traits")
        .args(args)
        .arg("--local")
        .arg("--persist-to")
        .arg(&worker.state_dir)
        .env("EDGESEG_CUSTOMER_KEY", CUSTOMER_KEY)
        .current_dir(repo_root())
        .output()
        .expect("run edgeseg")
}

fn succeeded(output: Output) -> Value {
    assert!(
        output.status.success(),
        "edgeseg traits failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("a JSON report")
}

/// A traits file beside the worker's state.
fn feed(worker: &Worker, name: &str, text: &str) -> String {
    let path = worker.state_dir.with_file_name(name);
    fs::write(&path, text).expect("write feed");
    path.display().to_string()
}

fn wrangler_kv(worker: &Worker, args: &[&str]) -> String {
    let mut all = vec!["kv"];
    all.extend_from_slice(args);
    all.extend(["--binding", "EDGESEG_KV"]);
    crate::harness::wrangler_local(worker, &all)
        .trim()
        .to_string()
}

/// The stored traits of `customer`, read straight from KV; `None` when absent.
fn stored_traits(worker: &Worker, customer: &str) -> Option<Value> {
    let hashed = customer_key(customer, CUSTOMER_KEY.as_bytes())
        .unwrap()
        .expect("a key");
    let text = wrangler_kv(worker, &["key", "get", &kv_key(&hashed)]);
    (text != "Value not found").then(|| serde_json::from_str(&text).expect("stored JSON"))
}

/// The isolate's KV reads of traits, from the admin part of health.
fn kv_reads(worker: &Worker) -> u64 {
    let health = get_json(
        &format!("{}/__edgeseg/health", worker.url),
        Some(ADMIN_TOKEN),
    );
    health["traits"]["kv_reads"]
        .as_u64()
        .unwrap_or_else(|| panic!("health has no traits.kv_reads: {health}"))
}

fn rules(page: &crate::harness::Page) -> String {
    page.header("edgeseg-rules").unwrap_or_default().to_string()
}

#[test]
fn a_published_feed_reaches_logged_in_shoppers_only_and_erasure_removes_it() {
    let (_origin, worker) = start();
    let file = feed(
        &worker,
        "traits.csv",
        "customer_id,lifetime_value,lifetime_orders,loyalty_tier\n\
         alice,2450.5,14,gold\n\
         bob,80,1,none\n",
    );
    let report = succeeded(traits_cli(
        &worker,
        &["publish", &file, "--feed-version", "e2e-1"],
    ));
    assert_eq!(report["customers"], 2);
    assert_eq!(report["new"], 2);
    let stored = stored_traits(&worker, "alice").expect("alice's traits in KV");
    assert_eq!(stored["traits"]["lifetime_value"], 2450.5);
    assert_eq!(stored["feed"], "e2e-1");

    // Anonymous shoppers never cost a KV read.
    let before = kv_reads(&worker);
    let mut anonymous = Shopper::new(&worker.url);
    for path in ["/", "/product/101", "/category/audio", "/cart"] {
        let page = anonymous.get(path);
        assert!(!rules(&page).contains("trait."), "{}", rules(&page));
    }
    assert_eq!(kv_reads(&worker), before, "an anonymous shopper read KV");

    // Alice logs in on a new device: her first page there carries her history.
    let mut phone = Shopper::new(&worker.url);
    phone.get("/__origin/login?customer=alice");
    let page = phone.get("/product/101");
    let header = &rules(&page);
    assert!(
        header.contains(r#"high_value_customer=("trait.lifetime_value gte 1000 [2450.5]")"#),
        "{header}"
    );
    assert!(!header.contains("lapsed_customer"), "{header}");
    assert_eq!(kv_reads(&worker), before + 1);
    // The next pages are served from the isolate's cache: still one read.
    phone.get("/product/102");
    assert_eq!(kv_reads(&worker), before + 1);

    // Bob is no high-value customer; a customer who withholds consent is never read.
    let mut bob = Shopper::new(&worker.url);
    bob.get("/__origin/login?customer=bob");
    let header = &rules(&bob.get("/"));
    assert!(!header.contains("high_value_customer"), "{header}");
    let mut private = Shopper::new(&worker.url);
    private.get("/__origin/login?customer=carol");
    private.cookies.insert("consent".into(), "no".into());
    let reads = kv_reads(&worker);
    private.get("/product/101");
    assert_eq!(
        kv_reads(&worker),
        reads,
        "consent withheld, yet KV was read"
    );

    // Erasure through the admin endpoint removes the traits from KV.
    let alice = customer_key("alice", CUSTOMER_KEY.as_bytes())
        .unwrap()
        .expect("a key");
    let erased = client()
        .delete(format!("{}/__edgeseg/admin/sessions/c:{alice}", worker.url))
        .header("authorization", format!("Bearer {ADMIN_TOKEN}"))
        .call()
        .expect("admin erase");
    assert_eq!(erased.status().as_u16(), 200);
    assert_eq!(stored_traits(&worker, "alice"), None);
    let header = &rules(&phone.get("/product/103"));
    assert!(!header.contains("high_value_customer"), "{header}");

    // And through the CLI.
    assert!(stored_traits(&worker, "bob").is_some());
    succeeded(traits_cli(&worker, &["delete", "--customer", "bob"]));
    assert_eq!(stored_traits(&worker, "bob"), None);
}

#[test]
fn a_feed_with_a_bad_row_is_refused_and_nothing_is_written() {
    let (_origin, worker) = start();
    let file = feed(
        &worker,
        "bad.jsonl",
        "{\"customer_id\":\"alice\",\"lifetime_value\":2450.5}\n\
         {\"customer_id\":\"bob\",\"lifetime_value\":\"lots\"}\n",
    );
    let output = traits_cli(&worker, &["publish", &file]);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("line 2, field lifetime_value") && stderr.contains("nothing written"),
        "{stderr}"
    );
    let listed: Value = serde_json::from_str(&wrangler_kv(
        &worker,
        &["key", "list", "--prefix", "traits/"],
    ))
    .expect("a key list");
    assert_eq!(listed, Value::Array(vec![]), "nothing was written");

    // The dry run of a good file says what would change and writes nothing either.
    let good = feed(
        &worker,
        "good.csv",
        "customer_id,lifetime_value\nalice,2450.5\n",
    );
    let report = succeeded(traits_cli(&worker, &["publish", &good, "--dry-run"]));
    assert_eq!(
        (report["new"].as_u64(), report["dry_run"].as_bool()),
        (Some(1), Some(true))
    );
    assert_eq!(stored_traits(&worker, "alice"), None);
}
