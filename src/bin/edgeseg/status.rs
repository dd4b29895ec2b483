//! `edgeseg status`: what a running worker serves (its health endpoint) and what the
//! channel pointer in KV says, as one JSON object.

use std::io::{Read as _, Write as _};
use std::net::{TcpStream, ToSocketAddrs as _};
use std::time::Duration;

use anyhow::{Context as _, Result};
use clap::Args;
use serde_json::{json, Map, Value};

use crate::channel_cmd;
use crate::wrangler::{KvArgs, Wrangler};

const HEALTH_PATH: &str = "/__edgeseg/health";
const TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Args)]
pub struct StatusArgs {
    /// Base URL of a running worker, e.g. http://127.0.0.1:8787: reads
    /// URL/__edgeseg/health. Plain http only (no TLS); for a deployed worker use curl.
    #[arg(long, value_name = "URL")]
    pub url: Option<String>,
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
        let health = health(url)?;
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
fn health(base: &str) -> Result<Value> {
    let url = format!("{}{HEALTH_PATH}", base.trim_end_matches('/'));
    let (status, body) = http_get(&url)?;
    serde_json::from_slice(&body).with_context(|| {
        format!(
            "GET {url}: HTTP {status}, not JSON: {}",
            String::from_utf8_lossy(&body[..body.len().min(200)])
        )
    })
}

/// `http://host[:port]/path` -> (host, port, path).
fn parse_url(url: &str) -> Result<(String, u16, String)> {
    let rest = url.strip_prefix("http://").with_context(|| {
        format!("{url}: only plain http:// URLs are supported (no TLS in this client)")
    })?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    if authority.is_empty() || authority.contains('@') {
        anyhow::bail!("{url}: expected http://host[:port]/...");
    }
    // `[v6]:port`, `[v6]`, `host:port` or `host`.
    let (host, port) = match authority.strip_prefix('[') {
        Some(v6) => {
            let (inside, after) = v6
                .split_once(']')
                .with_context(|| format!("{url}: unclosed ["))?;
            (&authority[..inside.len() + 2], after.strip_prefix(':'))
        }
        None => match authority.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        },
    };
    let port = match port {
        Some(port) => port
            .parse::<u16>()
            .with_context(|| format!("{url}: bad port {port:?}"))?,
        None => 80,
    };
    Ok((host.to_string(), port, path.to_string()))
}

/// A minimal HTTP/1.1 GET: status and body (content-length, chunked, or to close).
fn http_get(url: &str) -> Result<(u16, Vec<u8>)> {
    let (host, port, path) = parse_url(url)?;
    let connect_host = host.trim_start_matches('[').trim_end_matches(']');
    let addrs: Vec<_> = (connect_host, port)
        .to_socket_addrs()
        .with_context(|| format!("resolving {host}"))?
        .collect();
    let addr = addrs
        .first()
        .with_context(|| format!("{host} has no address"))?;
    let mut stream = TcpStream::connect_timeout(addr, TIMEOUT)
        .with_context(|| format!("connecting to {host}:{port} for GET {url}"))?;
    stream.set_read_timeout(Some(TIMEOUT)).ok();
    stream.set_write_timeout(Some(TIMEOUT)).ok();
    let host_header = if port == 80 {
        host.clone()
    } else {
        format!("{host}:{port}")
    };
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {host_header}\r\nAccept: application/json\r\n\
         User-Agent: edgeseg/{}\r\nConnection: close\r\n\r\n",
        env!("CARGO_PKG_VERSION")
    );
    stream
        .write_all(request.as_bytes())
        .with_context(|| format!("sending GET {url}"))?;
    let mut raw = vec![];
    stream
        .read_to_end(&mut raw)
        .with_context(|| format!("reading the answer to GET {url}"))?;
    parse_response(&raw).with_context(|| format!("GET {url}"))
}

fn parse_response(raw: &[u8]) -> Result<(u16, Vec<u8>)> {
    let head_end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .context("no end of headers in the response")?;
    let head = std::str::from_utf8(&raw[..head_end]).context("response headers are not text")?;
    let body = &raw[head_end + 4..];
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let status = status_line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse::<u16>().ok())
        .with_context(|| format!("bad status line {status_line:?}"))?;
    let mut chunked = false;
    let mut length = None;
    for line in lines {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        if name.eq_ignore_ascii_case("transfer-encoding") {
            chunked = value.to_ascii_lowercase().contains("chunked");
        } else if name.eq_ignore_ascii_case("content-length") {
            length = value.parse::<usize>().ok();
        }
    }
    let body = if chunked {
        dechunk(body)?
    } else if let Some(length) = length {
        body.get(..length)
            .with_context(|| format!("body shorter than its content-length {length}"))?
            .to_vec()
    } else {
        body.to_vec()
    };
    Ok((status, body))
}

fn dechunk(mut data: &[u8]) -> Result<Vec<u8>> {
    let mut out = vec![];
    loop {
        let line_end = data
            .windows(2)
            .position(|w| w == b"\r\n")
            .context("truncated chunk size")?;
        let size_text = std::str::from_utf8(&data[..line_end]).context("bad chunk size")?;
        let size_text = size_text.split(';').next().unwrap_or_default().trim();
        let size = usize::from_str_radix(size_text, 16)
            .with_context(|| format!("bad chunk size {size_text:?}"))?;
        data = &data[line_end + 2..];
        if size == 0 {
            return Ok(out);
        }
        let chunk = data.get(..size).context("truncated chunk")?;
        out.extend_from_slice(chunk);
        data = data.get(size + 2..).context("truncated chunk end")?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    #[test]
    fn urls_and_responses_parse() {
        assert_eq!(
            parse_url("http://127.0.0.1:8787/__edgeseg/health").unwrap(),
            ("127.0.0.1".into(), 8787, "/__edgeseg/health".into())
        );
        assert_eq!(
            parse_url("http://localhost").unwrap(),
            ("localhost".into(), 80, "/".into())
        );
        assert_eq!(
            parse_url("http://[::1]:9000/x").unwrap(),
            ("[::1]".into(), 9000, "/x".into())
        );
        let err = format!("{:#}", parse_url("https://shop.example").unwrap_err());
        assert!(err.contains("plain http"), "{err}");
        assert!(parse_url("http://h:99999/").is_err());

        let chunked = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\n{\"a\"\r\n3;x=1\r\n:1}\r\n0\r\n\r\n";
        assert_eq!(
            parse_response(chunked).unwrap(),
            (200, b"{\"a\":1}".to_vec())
        );
        let sized = b"HTTP/1.1 503 Service Unavailable\r\ncontent-length: 2\r\n\r\n{}garbage";
        assert_eq!(parse_response(sized).unwrap(), (503, b"{}".to_vec()));
        assert!(parse_response(b"HTTP/1.1 200 OK\r\n").is_err());
    }

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
            channel: Some("staging".into()),
            kv: fake.kv_args(),
        };
        assert_eq!(
            status(&only_kv).unwrap(),
            json!({"channel": "staging", "pointer": null})
        );
        let nothing = StatusArgs {
            url: None,
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
        let health = health(&format!("http://127.0.0.1:{port}/")).unwrap();
        assert_eq!(health["model"]["serving"], "embedded");
        assert_eq!(health["ok"], true);
        let request = server.join().unwrap();
        assert!(
            request.starts_with("GET /__edgeseg/health HTTP/1.1\r\n"),
            "{request}"
        );
        assert!(
            request.contains(&format!("Host: 127.0.0.1:{port}\r\n")),
            "{request}"
        );
    }
}
