//! `edgeseg status`: what a running worker serves (its health endpoint) and what the
//! channel pointer in KV says, as one JSON object.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result};
use clap::Args;
use serde_json::{json, Map, Value};

use crate::{channel_cmd, http};
use crate::wrangler::{KvArgs, Wrangler};

const HEALTH_PATH: &str = "/__edgeseg/health";

#[derive(Args)]
pub struct StatusArgs {
    /// Base URL of a running worker, http or https, e.g.
    /// https://edgeseg.example.workers.dev or http://127.0.0.1:8787: reads
    /// URL/__edgeseg/health.
    #[arg(long, value_name = "URL")]
    pub url: Option<String>,
    /// Trust the certificate authorities in this PEM file instead of the built-in
    /// Mozilla roots (a private CA, a TLS-inspecting proxy).
    #[arg(long, value_name = "PEM")]
    pub cacert: Option<PathBuf>,
    /// Also print this channel's pointer as stored in KV.
    #[arg(long, value_name = "NAME")]
    pub channel: Option<String>,
    #[command(flatten)]
    pub kv: KvArgs,
}

pub fn run(args: StatusArgs) -> Result<()> {
    println!("{}", status(&args)?);
    Ok(())
}

/// `{"url", "ok", "model"}` from the worker, `{"channel", "pointer"}` from KV, and
/// `edge_in_sync` when both name the same channel.
fn status(args: &StatusArgs) -> Result<Value> {
    if args.url.is_none() && args.channel.is_none() {
        anyhow::bail!("nothing to show: pass --url URL (the worker) and/or --channel NAME (KV)");
    }
    let mut out = Map::new();
    if let Some(url) = &args.url {
        let health = health(url, args.cacert.as_deref())?;
        out.insert("url".into(), json!(url));
        out.insert(
            "ok".into(),
            health.get("ok").cloned().unwrap_or(Value::Null),
        );
        out.insert(
            "model".into(),
            health.get("model").cloned().unwrap_or(Value::Null),
        );
    }
    if let Some(channel) = &args.channel {
        channel_cmd::check_channel(channel)?;
        let pointer = channel_cmd::read_pointer(&Wrangler::from_args(&args.kv), channel)?;
        let pointer = serde_json::to_value(&pointer).context("serialising the pointer")?;
        if let Some(model) = out.get("model") {
            // The edge re-reads the pointer every EDGESEG_MODEL_REFRESH_SECS.
            let same_channel = model.get("channel") == Some(&json!(channel));
            if same_channel {
                out.insert(
                    "edge_in_sync".into(),
                    json!(model.get("pointer") == Some(&pointer)),
                );
            }
        }
        out.insert("channel".into(), json!(channel));
        out.insert("pointer".into(), pointer);
    }
    Ok(Value::Object(out))
}

/// The worker's health JSON (any status: an unhealthy worker still says why).
fn health(base: &str, cacert: Option<&Path>) -> Result<Value> {
    let url = format!("{}{HEALTH_PATH}", base.trim_end_matches('/'));
    let (status, body) = http::get(&url, None, cacert)?;
    serde_json::from_slice(&body).with_context(|| {
        format!(
            "GET {url}: HTTP {status}, not JSON: {}",
            String::from_utf8_lossy(&body[..body.len().min(200)])
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read as _, Write as _};
    use std::net::TcpListener;
    use std::sync::Arc;

    /// A one-request HTTP server answering `body`; joins to the request it read.
    fn serve_once(body: String) -> (u16, std::thread::JoinHandle<String>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = std::thread::spawn(move || {
            let (mut socket, _) = listener.accept().unwrap();
            let mut request = vec![0u8; 1024];
            let n = socket.read(&mut request).unwrap();
            write!(
                socket,
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
                body.len()
            )
            .unwrap();
            String::from_utf8_lossy(&request[..n]).into_owned()
        });
        (port, server)
    }

    #[test]
    fn status_joins_the_edge_and_kv_views() {
        use crate::wrangler::tests::FakeWrangler;
        let pointer = r#"{"active":"v2","previous":"v1"}"#;
        let fake = FakeWrangler::new();
        fake.store("channels/production", pointer.as_bytes());
        let (port, server) = serve_once(format!(
            r#"{{"ok":false,"name":"edgeseg","model":{{"channel":"production","pointer":{pointer},"serving":"v2"}}}}"#
        ));
        let args = StatusArgs {
            url: Some(format!("http://127.0.0.1:{port}")),
            cacert: None,
            channel: Some("production".into()),
            kv: fake.kv_args(),
        };
        let out = status(&args).unwrap();
        server.join().unwrap();
        assert_eq!(out["ok"], false);
        assert_eq!(out["model"]["serving"], "v2");
        assert_eq!(out["pointer"]["active"], "v2");
        assert_eq!(out["edge_in_sync"], true);
        assert!(out.get("name").is_none(), "only the model section: {out}");

        let only_kv = StatusArgs {
            url: None,
            cacert: None,
            channel: Some("staging".into()),
            kv: fake.kv_args(),
        };
        assert_eq!(
            status(&only_kv).unwrap(),
            json!({"channel": "staging", "pointer": null})
        );
        let nothing = StatusArgs {
            url: None,
            cacert: None,
            channel: None,
            kv: fake.kv_args(),
        };
        assert!(status(&nothing).is_err());
    }

    #[test]
    fn health_is_read_over_http() {
        let (port, server) = serve_once(
            r#"{"ok":true,"model":{"channel":"production","serving":"embedded"}}"#.into(),
        );
        let health = health(&format!("http://127.0.0.1:{port}/"), None).unwrap();
        assert_eq!(health["model"]["serving"], "embedded");
        assert_eq!(health["ok"], true);
        let request = server.join().unwrap();
        assert!(
            request.starts_with("GET /__edgeseg/health HTTP/1.1\r\n"),
            "{request}"
        );
        assert!(
            request
                .to_ascii_lowercase()
                .contains(&format!("host: 127.0.0.1:{port}\r\n")),
            "{request}"
        );
    }

    /// The test TLS files: a CA, and a certificate it signed for 127.0.0.1 and localhost.
    fn tls_fixture(name: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/tls")
            .join(name)
    }

    /// A one-connection HTTPS server on 127.0.0.1 (rustls, the fixture certificate)
    /// answering `body`; joins to the request head it read, or to the handshake error.
    fn serve_tls_once(body: &'static str) -> (u16, std::thread::JoinHandle<String>) {
        use rustls::pki_types::pem::PemObject as _;
        use rustls::pki_types::{CertificateDer, PrivateKeyDer};
        let certs = CertificateDer::pem_file_iter(tls_fixture("localhost.pem"))
            .unwrap()
            .collect::<std::result::Result<Vec<_>, _>>()
            .unwrap();
        let key = PrivateKeyDer::from_pem_file(tls_fixture("localhost-key.pem")).unwrap();
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = std::thread::spawn(move || {
            let (socket, _) = listener.accept().unwrap();
            let connection = rustls::ServerConnection::new(Arc::new(config)).unwrap();
            let mut tls = rustls::StreamOwned::new(connection, socket);
            let mut head = Vec::new();
            let mut byte = [0u8; 1];
            while !head.ends_with(b"\r\n\r\n") {
                match tls.read(&mut byte) {
                    Ok(1) => head.push(byte[0]),
                    Ok(_) => break,
                    Err(e) => return format!("handshake failed: {e}"),
                }
            }
            let answer = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = tls.write_all(answer.as_bytes());
            tls.conn.send_close_notify();
            let _ = tls.flush();
            String::from_utf8_lossy(&head).into_owned()
        });
        (port, server)
    }

    #[test]
    fn health_is_read_over_https() {
        let (port, server) =
            serve_tls_once(r#"{"ok":true,"model":{"channel":"production","serving":"v7"}}"#);
        let args = StatusArgs {
            url: Some(format!("https://127.0.0.1:{port}")),
            cacert: Some(tls_fixture("ca.pem")),
            channel: None,
            kv: crate::wrangler::tests::FakeWrangler::new().kv_args(),
        };
        let out = status(&args).unwrap();
        assert_eq!(out["ok"], true);
        assert_eq!(out["model"]["serving"], "v7");
        let request = server.join().unwrap();
        assert!(
            request.starts_with("GET /__edgeseg/health HTTP/1.1\r\n"),
            "{request}"
        );
    }

    #[test]
    fn an_untrusted_certificate_is_refused() {
        let (port, server) = serve_tls_once(r#"{"ok":true}"#);
        // The built-in roots do not know the test CA.
        let err = health(&format!("https://127.0.0.1:{port}"), None).unwrap_err();
        let err = format!("{err:#}");
        assert!(err.contains("certificate") || err.contains("Certificate"), "{err}");
        assert!(server.join().unwrap().starts_with("handshake failed"));
        assert!(health("ftp://127.0.0.1", None).is_err());
    }
}
