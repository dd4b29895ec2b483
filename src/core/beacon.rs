//! The client beacon (`POST /__edgeseg/events`, contract section 5): bytes -> events.
//!
//! All or nothing: any bad event rejects the whole batch, so a session never holds half
//! a batch. Errors carry the HTTP status and a JSON body the shell can send as is.

use serde_json::{Map, Value};
use thiserror::Error;

use crate::core::config::BeaconLimits;
use crate::core::signals::{is_product_id, Event};

/// Longest dwell a beacon may report: 30 minutes.
pub const MAX_DWELL_MS: u64 = 1_800_000;
/// Longest page path a beacon may name.
pub const MAX_PAGE_BYTES: usize = 512;

/// Why a beacon batch was refused.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum BeaconError {
    #[error("body of {size} bytes is over the limit of {max}")]
    TooLarge { size: usize, max: usize },
    #[error("{0}")]
    BadJson(String),
    #[error("v: must be 1")]
    BadVersion,
    #[error("events: {count} events, at most {max} allowed")]
    TooManyEvents { count: usize, max: usize },
    #[error("events[{index}].type: unknown type {kind:?}")]
    UnknownType { index: usize, kind: String },
    #[error("events[{index}].{field}: {message}")]
    BadValue {
        index: usize,
        field: &'static str,
        message: &'static str,
    },
    #[error("more than {per_minute} batches in a minute")]
    RateLimited { per_minute: u32 },
    #[error("content type {0:?}: send application/json or text/plain")]
    UnsupportedType(String),
    #[error("the body did not arrive within {0} ms")]
    SlowBody(u32),
}

impl BeaconError {
    /// The HTTP status to answer with.
    pub fn status(&self) -> u16 {
        match self {
            BeaconError::TooLarge { .. } => 413,
            BeaconError::RateLimited { .. } => 429,
            BeaconError::UnsupportedType(_) => 415,
            BeaconError::SlowBody(_) => 408,
            _ => 400,
        }
    }

    /// The machine-readable `error` code of the body.
    pub fn code(&self) -> &'static str {
        match self {
            BeaconError::TooLarge { .. } => "too_large",
            BeaconError::BadJson(_) => "bad_json",
            BeaconError::BadVersion => "bad_version",
            BeaconError::TooManyEvents { .. } => "too_many_events",
            BeaconError::UnknownType { .. } => "unknown_type",
            BeaconError::BadValue { .. } => "bad_value",
            BeaconError::RateLimited { .. } => "rate_limited",
            BeaconError::UnsupportedType(_) => "unsupported_media_type",
            BeaconError::SlowBody(_) => "body_timeout",
        }
    }

    /// `{"error": code, "detail": "events[3].depth: must be 0..100"}`.
    pub fn body(&self) -> String {
        serde_json::json!({ "error": self.code(), "detail": self.to_string() }).to_string()
    }
}

/// The media types a beacon may be sent as (contract §5): `application/json`, and
/// `text/plain` (what `navigator.sendBeacon` sends a string as). Parameters such as
/// `charset` are allowed; anything else, or no type at all, is refused with 415.
pub fn check_content_type(value: Option<&str>) -> Result<(), BeaconError> {
    let essence = value
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase())
        .unwrap_or_default();
    match essence.as_str() {
        "application/json" | "text/plain" => Ok(()),
        _ => Err(BeaconError::UnsupportedType(
            value.unwrap_or("").chars().take(64).collect(),
        )),
    }
}

/// A body read chunk by chunk that refuses to grow past the limit, so a chunked body
/// (no `Content-Length`) is cut off at the first byte over, not read whole first.
#[derive(Debug)]
pub struct BoundedBody {
    max: usize,
    bytes: Vec<u8>,
}

impl BoundedBody {
    pub fn new(max: usize) -> BoundedBody {
        BoundedBody {
            max,
            bytes: Vec::new(),
        }
    }

    /// Appends a chunk; `TooLarge` (with the size so far) as soon as the limit is passed.
    pub fn push(&mut self, chunk: &[u8]) -> Result<(), BeaconError> {
        let size = self.bytes.len().saturating_add(chunk.len());
        if size > self.max {
            return Err(BeaconError::TooLarge {
                size,
                max: self.max,
            });
        }
        self.bytes.extend_from_slice(chunk);
        Ok(())
    }

    pub fn into_bytes(self) -> Vec<u8> {
        self.bytes
    }
}

/// Parses a beacon body into session events, checking every limit of contract §5
/// except the rate (see `SessionState::admit_beacon`).
pub fn parse_beacon(body: &[u8], limits: &BeaconLimits) -> Result<Vec<Event>, BeaconError> {
    if body.len() > limits.max_bytes {
        return Err(BeaconError::TooLarge {
            size: body.len(),
            max: limits.max_bytes,
        });
    }
    let root: Value =
        serde_json::from_slice(body).map_err(|e| BeaconError::BadJson(format!("body: {e}")))?;
    let Value::Object(root) = root else {
        return Err(BeaconError::BadJson("body: must be a JSON object".into()));
    };
    if root.get("v").and_then(Value::as_u64) != Some(1) {
        return Err(BeaconError::BadVersion);
    }
    let Some(Value::Array(items)) = root.get("events") else {
        return Err(BeaconError::BadJson("events: must be an array".into()));
    };
    if items.len() > limits.max_events {
        return Err(BeaconError::TooManyEvents {
            count: items.len(),
            max: limits.max_events,
        });
    }
    items
        .iter()
        .enumerate()
        .map(|(index, item)| parse_event(index, item))
        .collect()
}

fn parse_event(index: usize, item: &Value) -> Result<Event, BeaconError> {
    let bad = |field: &'static str, message: &'static str| BeaconError::BadValue {
        index,
        field,
        message,
    };
    let Value::Object(fields) = item else {
        return Err(bad("type", "event must be an object"));
    };
    let kind = fields
        .get("type")
        .and_then(Value::as_str)
        .ok_or_else(|| bad("type", "must be a string"))?;
    let page = || -> Result<String, BeaconError> {
        match fields.get("page").and_then(Value::as_str) {
            Some(p) if p.starts_with('/') && p.len() <= MAX_PAGE_BYTES => {
                Ok(p.split(['?', '#']).next().unwrap_or("/").to_string())
            }
            _ => Err(bad(
                "page",
                "must be a path starting with '/', at most 512 bytes",
            )),
        }
    };
    let product = || -> Result<String, BeaconError> {
        match fields.get("product").and_then(Value::as_str) {
            Some(p) if is_product_id(p) => Ok(p.to_string()),
            _ => Err(bad("product", "must be 1..64 bytes of [A-Za-z0-9._-]")),
        }
    };
    let number = |name: &'static str, max: u64, message: &'static str| {
        whole_number(fields, name)
            .filter(|v| *v <= max)
            .ok_or_else(|| bad(name, message))
    };
    Ok(match kind {
        "dwell" => Event::Dwell {
            page: page()?,
            ms: number("ms", MAX_DWELL_MS, "must be 0..1800000")?,
        },
        "scroll" => Event::Scroll {
            page: page()?,
            depth: u8::try_from(number("depth", 100, "must be 0..100")?)
                .map_err(|_| bad("depth", "must be 0..100"))?,
        },
        "compare" => Event::Compare {
            product: product()?,
        },
        "hover" => Event::Hover {
            product: product()?,
        },
        "cart_add" => Event::CartAdd {
            product: Some(product()?),
        },
        "cart_remove" => Event::CartRemove {
            product: Some(product()?),
        },
        other => {
            return Err(BeaconError::UnknownType {
                index,
                kind: other.chars().take(32).collect(),
            })
        }
    })
}

/// A non-negative whole number (`75` or `75.0`), else `None`.
fn whole_number(fields: &Map<String, Value>, name: &str) -> Option<u64> {
    let value = fields.get(name)?;
    value.as_u64().or_else(|| {
        value
            .as_f64()
            .filter(|f| f.fract() == 0.0 && *f >= 0.0 && *f <= u64::MAX as f64)
            .map(|f| f as u64)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(body: &str) -> Result<Vec<Event>, BeaconError> {
        parse_beacon(body.as_bytes(), &BeaconLimits::default())
    }

    #[test]
    fn contract_example_parses() {
        let events = parse(
            r#"{ "v": 1, "events": [
                { "type": "dwell", "page": "/product/42", "ms": 12000 },
                { "type": "scroll", "page": "/product/42", "depth": 75, "extra": true },
                { "type": "compare", "product": "42" },
                { "type": "cart_remove", "product": "42" },
                { "type": "hover", "product": "42" } ] }"#,
        )
        .unwrap();
        assert_eq!(events.len(), 5);
        assert_eq!(
            events[0],
            Event::Dwell {
                page: "/product/42".into(),
                ms: 12000
            }
        );
        assert_eq!(
            events[1],
            Event::Scroll {
                page: "/product/42".into(),
                depth: 75
            }
        );
    }

    #[test]
    fn bad_values_reject_the_batch() {
        let err = parse(
            r#"{"v":1,"events":[{"type":"hover","product":"1"},{"type":"hover","product":"1"},
            {"type":"hover","product":"1"},{"type":"scroll","page":"/","depth":101}]}"#,
        )
        .unwrap_err();
        assert_eq!(err.status(), 400);
        assert_eq!(err.to_string(), "events[3].depth: must be 0..100");
        let body: Value = serde_json::from_str(&err.body()).unwrap();
        assert_eq!(body["error"], "bad_value");
        assert_eq!(body["detail"], "events[3].depth: must be 0..100");

        let cases = [
            (
                r#"{"v":1,"events":[{"type":"dwell","page":"/","ms":1800001}]}"#,
                "bad_value",
            ),
            (
                r#"{"v":1,"events":[{"type":"dwell","page":"/","ms":-1}]}"#,
                "bad_value",
            ),
            (
                r#"{"v":1,"events":[{"type":"dwell","page":"x","ms":1}]}"#,
                "bad_value",
            ),
            (
                r#"{"v":1,"events":[{"type":"compare","product":"a b"}]}"#,
                "bad_value",
            ),
            (r#"{"v":1,"events":[{"type":"compare"}]}"#, "bad_value"),
            (r#"{"v":1,"events":[{"type":"teleport"}]}"#, "unknown_type"),
            (r#"{"v":1,"events":[42]}"#, "bad_value"),
            (r#"{"v":2,"events":[]}"#, "bad_version"),
            (r#"{"events":[]}"#, "bad_version"),
            (r#"{"v":1}"#, "bad_json"),
            (r#"[1]"#, "bad_json"),
            ("not json", "bad_json"),
        ];
        for (body, code) in cases {
            assert_eq!(parse(body).unwrap_err().code(), code, "{body}");
        }
    }

    #[test]
    fn size_and_count_limits() {
        let big = format!(r#"{{"v":1,"events":[],"pad":"{}"}}"#, "x".repeat(9000));
        let err = parse(&big).unwrap_err();
        assert_eq!((err.status(), err.code()), (413, "too_large"));
        let events = vec![r#"{"type":"hover","product":"1"}"#; 51].join(",");
        let err = parse(&format!(r#"{{"v":1,"events":[{events}]}}"#)).unwrap_err();
        assert_eq!((err.status(), err.code()), (400, "too_many_events"));
        let events = vec![r#"{"type":"hover","product":"1"}"#; 50].join(",");
        assert_eq!(
            parse(&format!(r#"{{"v":1,"events":[{events}]}}"#))
                .unwrap()
                .len(),
            50
        );
    }

    #[test]
    fn only_the_contract_content_types_are_accepted() {
        for ok in [
            "application/json",
            "text/plain",
            "text/plain;charset=UTF-8",
            "Application/JSON ; charset=utf-8",
        ] {
            assert_eq!(check_content_type(Some(ok)), Ok(()), "{ok}");
        }
        for bad in [
            None,
            Some(""),
            Some("application/x-www-form-urlencoded"),
            Some("multipart/form-data; boundary=x"),
            Some("image/png"),
            Some("application/jsonx"),
            Some("text/plainx"),
        ] {
            let err = check_content_type(bad).unwrap_err();
            assert_eq!(
                (err.status(), err.code()),
                (415, "unsupported_media_type"),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn a_bounded_body_stops_at_the_first_byte_over() {
        let mut body = BoundedBody::new(8);
        body.push(b"1234").unwrap();
        body.push(b"5678").unwrap();
        let err = body.push(b"9").unwrap_err();
        assert_eq!(err, BeaconError::TooLarge { size: 9, max: 8 });
        let mut body = BoundedBody::new(8);
        body.push(b"{}").unwrap();
        assert_eq!(body.into_bytes(), b"{}");
        assert_eq!(BeaconError::SlowBody(5000).status(), 408);
    }

    #[test]
    fn float_numbers_that_are_whole_are_accepted() {
        let events =
            parse(r#"{"v":1,"events":[{"type":"scroll","page":"/a","depth":50.0}]}"#).unwrap();
        assert_eq!(
            events,
            vec![Event::Scroll {
                page: "/a".into(),
                depth: 50
            }]
        );
        assert!(parse(r#"{"v":1,"events":[{"type":"scroll","page":"/a","depth":50.5}]}"#).is_err());
    }
}
