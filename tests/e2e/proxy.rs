//! The worker is a faithful pass-through: what the origin says, the client gets.

use std::io::{self, Read};

use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::harness::{client, Origin, Worker};

const TWENTY_MB: usize = 20 * 1024 * 1024;

/// A deterministic 20 MB body, produced lazily so the test never holds it whole either.
struct Pattern {
    left: usize,
    next: u8,
}

impl Read for Pattern {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = buf.len().min(self.left);
        for byte in &mut buf[..n] {
            *byte = self.next;
            self.next = self.next.wrapping_mul(31).wrapping_add(7);
        }
        self.left -= n;
        Ok(n)
    }
}

fn sha256_of(mut reader: impl Read) -> (usize, String) {
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    let mut total = 0;
    loop {
        let n = reader.read(&mut buf).expect("read body");
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        total += n;
    }
    (total, hex::encode(hasher.finalize()))
}

fn json(response: ureq::http::Response<ureq::Body>) -> Value {
    let text = response.into_body().read_to_string().expect("body");
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

#[test]
fn health_reports_version_build_and_bindings() {
    let origin = Origin::start();
    let worker = Worker::start(&origin.url, &[("EDGESEG_ADMIN_TOKEN", "e2e-admin-token")]);
    let response = client()
        .get(format!("{}/__edgeseg/health", worker.url))
        .call()
        .expect("health");
    assert_eq!(response.status(), 200);
    let public = json(response);
    assert_eq!(public["name"], "edgeseg");
    assert_eq!(public["version"], env!("CARGO_PKG_VERSION"));
    assert!(public["build"].as_str().is_some_and(|b| !b.is_empty()));
    // The bindings are the operator's business (tests/e2e/trust.rs checks the rest).
    let health = crate::harness::get_json(
        &format!("{}/__edgeseg/health", worker.url),
        Some("e2e-admin-token"),
    );
    for binding in ["origin", "sessions", "kv"] {
        assert_eq!(
            health["bindings"][binding]["ok"], true,
            "binding {binding}: {health}"
        );
    }
}

#[test]
fn requests_and_responses_pass_through_unchanged() {
    let origin = Origin::start();
    let worker = Worker::start(&origin.url, &[]);
    let agent = client();

    // Method, path, query and headers reach the origin; reserved headers do not.
    let response = agent
        .patch(format!(
            "{}/__origin/echo?a=1&b=two%20words&a=3",
            worker.url
        ))
        .header("x-custom", "kept")
        .header("edgeseg-segment", "spoofed;confidence=1")
        .header("EdgeSeg-Reason", "MODEL")
        .send("patch body")
        .expect("echo");
    assert_eq!(response.status(), 200);
    let echo = json(response);
    assert_eq!(echo["method"], "PATCH");
    assert_eq!(echo["path"], "/__origin/echo");
    assert_eq!(echo["query"]["a"], serde_json::json!(["1", "3"]));
    assert_eq!(echo["query"]["b"], "two words");
    assert_eq!(echo["headers"]["x-custom"], "kept");
    assert_eq!(echo["body_length"], 10);
    let spoofed = echo["headers"]["edgeseg-segment"].as_str().unwrap_or("");
    assert!(
        !spoofed.contains("spoofed"),
        "client header reached the origin: {echo}"
    );

    // Statuses are the origin's, including errors.
    for code in [201, 404, 418, 503] {
        let response = agent
            .get(format!("{}/__origin/status?code={code}", worker.url))
            .call()
            .expect("status");
        assert_eq!(response.status().as_u16(), code);
    }

    // Redirects are returned, not followed.
    let response = agent
        .get(format!(
            "{}/__origin/redirect?to=/cart&code=302",
            worker.url
        ))
        .call()
        .expect("redirect");
    assert_eq!(response.status(), 302);
    assert_eq!(response.headers()["location"], "/cart");

    // Several Set-Cookie headers stay several.
    let response = agent
        .get(format!("{}/__origin/cookies", worker.url))
        .call()
        .expect("cookies");
    let origin_cookies: Vec<String> = response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok().map(str::to_string))
        .filter(|v| !v.starts_with("edgeseg_sid="))
        .collect();
    assert_eq!(origin_cookies.len(), 3, "{origin_cookies:?}");

    // HEAD keeps the length and sends no body.
    let response = agent
        .head(format!("{}/__origin/bytes?n=12345", worker.url))
        .call()
        .expect("head");
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-length"], "12345");
    let (length, _) = sha256_of(response.into_body().into_reader());
    assert_eq!(length, 0);
}

#[test]
fn large_bodies_stream_both_ways() {
    let origin = Origin::start();
    let worker = Worker::start(&origin.url, &[]);
    let agent = client();

    let (expected_len, expected_sha) = sha256_of(Pattern {
        left: TWENTY_MB,
        next: 1,
    });
    let mut upload = Pattern {
        left: TWENTY_MB,
        next: 1,
    };
    let response = agent
        .post(format!("{}/__origin/upload", worker.url))
        .header("content-type", "application/octet-stream")
        .send(ureq::SendBody::from_reader(&mut upload))
        .expect("upload");
    assert_eq!(response.status(), 200);
    let received = json(response);
    assert_eq!(received["length"], expected_len);
    assert_eq!(received["sha256"], expected_sha);

    let through_worker = agent
        .get(format!("{}/__origin/bytes?n={TWENTY_MB}", worker.url))
        .call()
        .expect("download via worker");
    assert_eq!(through_worker.status(), 200);
    let via_worker = sha256_of(through_worker.into_body().into_reader());
    let direct = agent
        .get(format!("{}/__origin/bytes?n={TWENTY_MB}", origin.url))
        .call()
        .expect("download direct");
    let direct = sha256_of(direct.into_body().into_reader());
    assert_eq!(via_worker, direct);
    assert_eq!(via_worker.0, TWENTY_MB);
}

#[test]
fn an_unreachable_origin_is_a_clear_502() {
    let dead = format!("http://127.0.0.1:{}", crate::harness::free_port());
    let worker = Worker::start(&dead, &[]);
    let response = client()
        .get(format!("{}/anything", worker.url))
        .call()
        .expect("request");
    assert_eq!(response.status(), 502);
    let body = json(response);
    assert_eq!(body["error"], "origin_unreachable");
}
