//! [`Classification`] -> RFC 9651 header values (contract section 4), serialised with
//! `sfv` so that quoting and number formats are right by construction.
//!
//! Anything that cannot be represented (an id that is not a token or key, a NaN) is
//! left out rather than sent malformed: a header is never worth failing a request.
//!
//! A model classification with one matching rule segment renders as:
//!
//! ```text
//! edgeseg-reason: MODEL
//! edgeseg-segment: focused_buyer;confidence=0.812;intent=0.344
//! edgeseg-signals: page_values=0.213;v=12.5, bounce_rates=-0.041;v=0.02
//! edgeseg-rules: cart_abandoner=("cart_adds gte 1 [2]" "checkouts eq 0 [0]");priority=90
//! edgeseg-version: model="2026.11.21-1", rules="2026.11.21-1"
//! ```

use hmac::{Hmac, Mac};
use sfv::{Decimal, DictSerializer, Integer, ItemSerializer, KeyRef, StringRef, TokenRef};
use sha2::Sha256;
use thiserror::Error;

use crate::core::classify::{Classification, Reason};

/// Every edgeseg header starts with this; client-sent ones are removed on arrival.
pub const PREFIX: &str = "edgeseg-";

pub const REASON: &str = "edgeseg-reason";
pub const SEGMENT: &str = "edgeseg-segment";
pub const SIGNALS: &str = "edgeseg-signals";
pub const RULES: &str = "edgeseg-rules";
pub const VERSION: &str = "edgeseg-version";
pub const ERROR: &str = "edgeseg-error";
/// The classification id of a decision the worker recorded (`crate::core::decision_log`).
pub const ID: &str = "edgeseg-id";
/// `t=<unix secs>, v1="<hex HMAC-SHA256>"`: lets the origin check the other headers
/// came from the worker (contract section 4, "Signature").
pub const SIGNATURE: &str = "edgeseg-signature";

/// Whether a header name belongs to edgeseg, so the worker strips it from client
/// requests before anything else happens: any case, and `_` standing for `-` (CGI,
/// WSGI and Rack servers read `edgeseg_segment` as `edgeseg-segment`).
pub fn is_reserved(name: &str) -> bool {
    name.len() >= PREFIX.len()
        && name
            .bytes()
            .zip(PREFIX.bytes())
            .all(|(a, b)| a.to_ascii_lowercase() == b || (a == b'_' && b == b'-'))
}

/// Why a signature header does not hold (origin side; the worker only signs).
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum SignatureError {
    #[error("no edgeseg-signature header")]
    Missing,
    #[error("edgeseg-signature is not `t=<secs>, v1=\"<hex>\"`")]
    Malformed,
    #[error("edgeseg-signature is {0} s away from now")]
    Stale(i64),
    #[error("edgeseg-signature does not match")]
    Mismatch,
}

/// The string the signature covers, one field per line: `edgeseg-v1`, the method, the
/// path (no query), the timestamp, then every `edgeseg-*` header but the signature as
/// `name:value`, names lower-case and sorted. Contract section 4.
pub fn canonical<N: AsRef<str>, V: AsRef<str>>(
    method: &str,
    path: &str,
    timestamp_secs: i64,
    headers: &[(N, V)],
) -> String {
    let mut lines: Vec<(String, &str)> = headers
        .iter()
        .map(|(n, v)| (n.as_ref().to_ascii_lowercase(), v.as_ref()))
        .filter(|(n, _)| n.starts_with(PREFIX) && n != SIGNATURE)
        .collect();
    lines.sort();
    let mut text = format!("edgeseg-v1\n{method}\n{path}\n{timestamp_secs}");
    for (name, value) in lines {
        text.push('\n');
        text.push_str(&name);
        text.push(':');
        text.push_str(value);
    }
    text
}

fn mac(key: &[u8], canonical: &str) -> Hmac<Sha256> {
    // HMAC takes keys of any length; `new_from_slice` cannot fail for it.
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).unwrap_or_else(|_| unreachable!());
    mac.update(canonical.as_bytes());
    mac
}

/// The `edgeseg-signature` value for `headers` on a request `method path` at `now_secs`.
pub fn sign<N: AsRef<str>, V: AsRef<str>>(
    key: &[u8],
    method: &str,
    path: &str,
    now_secs: i64,
    headers: &[(N, V)],
) -> String {
    let text = canonical(method, path, now_secs, headers);
    let tag = hex::encode(mac(key, &text).finalize().into_bytes());
    format!("t={now_secs}, v1=\"{tag}\"")
}

/// Checks a signature as an origin would: well-formed, within `max_skew_secs` of now,
/// and the MAC of the received `edgeseg-*` headers (the reference for the Node and
/// Python checks in the README).
pub fn verify<N: AsRef<str>, V: AsRef<str>>(
    key: &[u8],
    method: &str,
    path: &str,
    now_secs: i64,
    max_skew_secs: i64,
    headers: &[(N, V)],
) -> Result<(), SignatureError> {
    let value = headers
        .iter()
        .find(|(n, _)| n.as_ref().eq_ignore_ascii_case(SIGNATURE))
        .map(|(_, v)| v.as_ref())
        .ok_or(SignatureError::Missing)?;
    let (t, tag) = parse_signature(value).ok_or(SignatureError::Malformed)?;
    let skew = now_secs.saturating_sub(t);
    if skew.saturating_abs() > max_skew_secs {
        return Err(SignatureError::Stale(skew));
    }
    let tag = hex::decode(tag).map_err(|_| SignatureError::Malformed)?;
    mac(key, &canonical(method, path, t, headers))
        .verify_slice(&tag)
        .map_err(|_| SignatureError::Mismatch)
}

/// `t=<secs>, v1="<64 hex>"` -> (secs, hex).
fn parse_signature(value: &str) -> Option<(i64, &str)> {
    let (t, v1) = value.split_once(',')?;
    let t = t.trim().strip_prefix("t=")?;
    let v1 = v1.trim().strip_prefix("v1=\"")?.strip_suffix('"')?;
    let digits = !t.is_empty() && t.len() <= 12 && t.bytes().all(|b| b.is_ascii_digit());
    let hex = v1.len() == 64 && v1.bytes().all(|b| b.is_ascii_hexdigit());
    if !(digits && hex) {
        return None;
    }
    Some((t.parse().ok()?, v1))
}

/// A decimal with at most 3 fractional digits; `None` for NaN, infinities, or values
/// beyond RFC 9651's 12 integer digits.
fn decimal(x: f64) -> Option<Decimal> {
    if !x.is_finite() || x.abs() >= 1e12 {
        return None;
    }
    Decimal::try_from(x).ok()
}

/// Printable ASCII for an sf-string: other characters become `?`.
fn ascii(text: &str) -> String {
    text.chars()
        .map(|c| if (' '..='~').contains(&c) { c } else { '?' })
        .collect()
}

/// The headers of a recorded classification: [`render`]'s, then `edgeseg-id` (an
/// sf-string). The worker and `edgeseg explain` both call this.
pub fn render_with_id(c: &Classification, id: &str) -> Vec<(&'static str, String)> {
    let mut out = render(c);
    if let Ok(id) = StringRef::from_str(id) {
        out.push((ID, ItemSerializer::new().bare_item(id).finish()));
    }
    out
}

/// Rendered headers with owned names, as they travel from the session object that
/// classifies to the worker that sends them.
pub fn owned(headers: Vec<(&str, String)>) -> Vec<(String, String)> {
    headers
        .into_iter()
        .map(|(name, value)| (name.to_string(), value))
        .collect()
}

/// All headers for one classification, in a stable order.
pub fn render(c: &Classification) -> Vec<(&'static str, String)> {
    let mut out = Vec::with_capacity(6);
    out.push((REASON, reason(c.reason)));
    if let Some(v) = segment(c) {
        out.push((SEGMENT, v));
    }
    if let Some(v) = signals(c) {
        out.push((SIGNALS, v));
    }
    if let Some(v) = rules(c) {
        out.push((RULES, v));
    }
    if let Some(v) = versions(c) {
        out.push((VERSION, v));
    }
    if c.reason == Reason::Error {
        let code = c.error.as_deref().and_then(|e| TokenRef::from_str(e).ok());
        if let Some(code) = code {
            out.push((ERROR, ItemSerializer::new().bare_item(code).finish()));
        }
    }
    out
}

/// `MODEL`, ..., `UNTRACKED;why=bot`.
fn reason(reason: Reason) -> String {
    let Ok(token) = TokenRef::from_str(reason.as_token()) else {
        // The reason tokens are constants and valid; keep a readable fallback anyway.
        return "ERROR".into();
    };
    let item = ItemSerializer::new().bare_item(token);
    let why = match reason {
        Reason::Untracked(why) => TokenRef::from_str(why.as_token()).ok(),
        _ => None,
    };
    match (why, KeyRef::from_str("why")) {
        (Some(why), Ok(key)) => item.parameter(key, why).finish(),
        _ => item.finish(),
    }
}

/// `focused_buyer;confidence=0.812;intent=0.344`
fn segment(c: &Classification) -> Option<String> {
    let token = TokenRef::from_str(c.segment.as_deref()?).ok()?;
    let mut params = Vec::new();
    let confidence = KeyRef::from_str("confidence").ok()?;
    let intent = KeyRef::from_str("intent").ok()?;
    if let Some(d) = c.confidence.and_then(|x| decimal(f64::from(x))) {
        params.push((confidence, d));
    }
    if let Some(d) = c.intent.and_then(|x| decimal(f64::from(x))) {
        params.push((intent, d));
    }
    Some(
        ItemSerializer::new()
            .bare_item(token)
            .parameters(params)
            .finish(),
    )
}

/// `page_values=0.213;v=12.5, bounce_rates=-0.041;v=0.02`
fn signals(c: &Classification) -> Option<String> {
    let v = KeyRef::from_str("v").ok()?;
    let mut dict = DictSerializer::new();
    let mut seen: Vec<&str> = Vec::new();
    for a in &c.signals {
        let (Ok(key), Some(contribution)) = (
            KeyRef::from_str(&a.feature),
            decimal(f64::from(a.contribution)),
        ) else {
            continue;
        };
        if seen.contains(&a.feature.as_str()) {
            continue;
        }
        seen.push(&a.feature);
        let entry = dict.bare_item(key, contribution);
        if let Some(value) = decimal(a.value) {
            entry.parameter(v, value);
        }
    }
    dict.finish()
}

/// `cart_abandoner=("cart_adds gte 1 [2]" "checkouts eq 0 [0]");priority=90`
fn rules(c: &Classification) -> Option<String> {
    let priority = KeyRef::from_str("priority").ok()?;
    let mut dict = DictSerializer::new();
    let mut seen: Vec<&str> = Vec::new();
    for m in &c.rules {
        let Ok(key) = KeyRef::from_str(&m.id) else {
            continue;
        };
        if seen.contains(&m.id.as_str()) {
            continue;
        }
        seen.push(&m.id);
        let texts: Vec<String> = m.conditions.iter().map(|t| ascii(t)).collect();
        let mut list = dict.inner_list(key);
        for text in &texts {
            if let Ok(s) = StringRef::from_str(text) {
                list.bare_item(s);
            }
        }
        list.finish().parameter(priority, Integer::from(m.priority));
    }
    dict.finish()
}

/// `model="2026.11.21-1", rules="2026.11.21-1"`
fn versions(c: &Classification) -> Option<String> {
    let mut dict = DictSerializer::new();
    for (name, version) in [("model", &c.model_version), ("rules", &c.rules_version)] {
        let (Ok(key), Some(version)) = (KeyRef::from_str(name), version.as_deref()) else {
            continue;
        };
        let text = ascii(version);
        if let Ok(s) = StringRef::from_str(&text) {
            dict.bare_item(key, s);
        }
    }
    dict.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::model::Attribution;
    use crate::core::rules::SegmentMatch;
    use crate::core::signals::Untracked;
    use sfv::{BareItem, Dictionary, Item, ListEntry, Parser};

    /// The README example.
    fn example() -> Classification {
        Classification {
            reason: Reason::Model,
            segment: Some("focused_buyer".into()),
            confidence: Some(0.8124),
            intent: Some(0.3441),
            signals: vec![
                Attribution {
                    feature: "page_values".into(),
                    contribution: 0.2131,
                    value: 12.5,
                },
                Attribution {
                    feature: "bounce_rates".into(),
                    contribution: -0.0414,
                    value: 0.02,
                },
            ],
            rules: vec![SegmentMatch {
                id: "cart_abandoner".into(),
                name: "Cart abandoner".into(),
                priority: 90,
                conditions: vec!["cart_adds gte 1 [2]".into(), "checkouts eq 0 [0]".into()],
            }],
            model_version: Some("2026.11.21-1".into()),
            rules_version: Some("2026.11.21-1".into()),
            error: None,
        }
    }

    fn header<'a>(headers: &'a [(&'static str, String)], name: &str) -> Option<&'a str> {
        headers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }

    #[test]
    fn readme_example() {
        let headers = render(&example());
        assert_eq!(
            headers,
            vec![
                (REASON, "MODEL".to_string()),
                (
                    SEGMENT,
                    "focused_buyer;confidence=0.812;intent=0.344".to_string()
                ),
                (
                    SIGNALS,
                    "page_values=0.213;v=12.5, bounce_rates=-0.041;v=0.02".to_string()
                ),
                (
                    RULES,
                    r#"cart_abandoner=("cart_adds gte 1 [2]" "checkouts eq 0 [0]");priority=90"#
                        .to_string()
                ),
                (
                    VERSION,
                    r#"model="2026.11.21-1", rules="2026.11.21-1""#.to_string()
                ),
            ]
        );
    }

    #[test]
    fn output_parses_back() {
        let headers = render(&example());
        let item: Item = Parser::new(header(&headers, SEGMENT).unwrap())
            .parse()
            .unwrap();
        assert_eq!(
            item.bare_item.as_token().map(|t| t.as_str()),
            Some("focused_buyer")
        );
        let confidence = item
            .params
            .get("confidence")
            .and_then(BareItem::as_decimal)
            .unwrap();
        assert_eq!(f64::from(confidence), 0.812);

        let signals: Dictionary = Parser::new(header(&headers, SIGNALS).unwrap())
            .parse()
            .unwrap();
        let Some(ListEntry::Item(pv)) = signals.get("page_values") else {
            panic!("page_values missing");
        };
        assert_eq!(pv.bare_item.as_decimal().map(f64::from), Some(0.213));
        assert_eq!(
            pv.params
                .get("v")
                .and_then(BareItem::as_decimal)
                .map(f64::from),
            Some(12.5)
        );

        let rules: Dictionary = Parser::new(header(&headers, RULES).unwrap())
            .parse()
            .unwrap();
        let Some(ListEntry::InnerList(list)) = rules.get("cart_abandoner") else {
            panic!("rules missing");
        };
        let texts: Vec<&str> = list
            .items
            .iter()
            .filter_map(|i| i.bare_item.as_string())
            .map(|s| s.as_str())
            .collect();
        assert_eq!(texts, vec!["cart_adds gte 1 [2]", "checkouts eq 0 [0]"]);
        assert_eq!(
            list.params
                .get("priority")
                .and_then(BareItem::as_integer)
                .map(i64::from),
            Some(90)
        );

        let versions: Dictionary = Parser::new(header(&headers, VERSION).unwrap())
            .parse()
            .unwrap();
        let Some(ListEntry::Item(model)) = versions.get("model") else {
            panic!("model version missing");
        };
        assert_eq!(
            model.bare_item.as_string().map(|s| s.as_str()),
            Some("2026.11.21-1")
        );
    }

    #[test]
    fn bare_reasons_and_errors() {
        let headers = render(&Classification::bare(Reason::Holdout));
        assert_eq!(headers, vec![(REASON, "HOLDOUT".to_string())]);
        let mut error = Classification::bare(Reason::Error);
        error.error = Some("storage_unavailable".into());
        assert_eq!(
            render(&error),
            vec![
                (REASON, "ERROR".to_string()),
                (ERROR, "storage_unavailable".to_string())
            ]
        );
        // An untracked request says why, and nothing else.
        for (why, text) in [
            (Untracked::Bot, "UNTRACKED;why=bot"),
            (Untracked::Asset, "UNTRACKED;why=asset"),
            (Untracked::NotAPage, "UNTRACKED;why=not_a_page"),
        ] {
            let headers = render(&Classification::bare(Reason::Untracked(why)));
            assert_eq!(headers, vec![(REASON, text.to_string())]);
        }
        // An error code only travels with ERROR.
        let mut not_error = Classification::bare(Reason::RulesOnly);
        not_error.error = Some("x".into());
        assert_eq!(render(&not_error).len(), 1);
    }

    #[test]
    fn unrepresentable_values_are_skipped() {
        let mut c = example();
        c.segment = Some("9 not a token".into());
        c.signals[0].contribution = f32::NAN;
        c.signals[1].value = f64::INFINITY;
        c.signals.push(Attribution {
            feature: "Bad Key".into(),
            contribution: 0.1,
            value: 1.0,
        });
        c.rules.push(SegmentMatch {
            id: "1st".into(),
            name: "x".into(),
            priority: 1,
            conditions: vec![],
        });
        c.rules.push(SegmentMatch {
            id: "utf".into(),
            name: "x".into(),
            priority: -5,
            conditions: vec!["device eq mobilé [mobilé]".into()],
        });
        c.model_version = Some("v\u{1F600}".into());
        c.error = Some("ignored".into());
        let headers = render(&c);
        assert_eq!(header(&headers, SEGMENT), None);
        assert_eq!(header(&headers, SIGNALS), Some("bounce_rates=-0.041"));
        assert_eq!(
            header(&headers, RULES),
            Some(
                r#"cart_abandoner=("cart_adds gte 1 [2]" "checkouts eq 0 [0]");priority=90, utf=("device eq mobil? [mobil?]");priority=-5"#
            )
        );
        assert_eq!(
            header(&headers, VERSION),
            Some(r#"model="v?", rules="2026.11.21-1""#)
        );
        assert_eq!(header(&headers, ERROR), None);
        for (_, value) in &headers {
            assert!(value.bytes().all(|b| (0x20..0x7f).contains(&b)));
        }
        // Nothing at all to say about signals or rules: no header.
        let mut empty = example();
        empty.signals.clear();
        empty.rules.clear();
        let headers = render(&empty);
        assert!(header(&headers, SIGNALS).is_none() && header(&headers, RULES).is_none());
    }

    #[test]
    fn reserved_names() {
        for name in [
            "edgeseg-segment",
            "EdgeSeg-Reason",
            "EDGESEG-",
            "edgeseg-x-anything",
            "edgeseg_segment",
            "EDGESEG_REASON",
            "Edgeseg_Signature",
        ] {
            assert!(is_reserved(name), "{name}");
        }
        for name in [
            "edgeseg",
            "x-edgeseg-segment",
            "content-type",
            "",
            "édgeseg-x",
            "edgeseg.segment",
            "edgesegsegment",
        ] {
            assert!(!is_reserved(name), "{name}");
        }
    }

    #[test]
    fn signatures_cover_method_path_time_and_every_header() {
        let headers = render(&example());
        let key = b"shared secret";
        let t = 1_764_000_000;
        let mut sent: Vec<(String, String)> = headers
            .iter()
            .map(|(n, v)| (n.to_string(), v.clone()))
            .collect();
        sent.push((
            SIGNATURE.into(),
            sign(key, "GET", "/product/42", t, &headers),
        ));
        sent.push(("cookie".into(), "not signed".into()));
        assert_eq!(
            verify(key, "GET", "/product/42", t + 30, 300, &sent),
            Ok(())
        );
        assert_eq!(
            verify(key, "POST", "/product/42", t, 300, &sent),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(key, "GET", "/product/43", t, 300, &sent),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(b"other", "GET", "/product/42", t, 300, &sent),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(key, "GET", "/product/42", t + 301, 300, &sent),
            Err(SignatureError::Stale(301))
        );
        // A header added, changed or dropped breaks it.
        let mut added = sent.clone();
        added.push(("EdgeSeg-Extra".into(), "x".into()));
        let mut changed = sent.clone();
        changed[1].1 = "vip;confidence=1".into();
        let dropped: Vec<_> = sent.iter().skip(1).cloned().collect();
        for tampered in [added, changed, dropped] {
            assert_eq!(
                verify(key, "GET", "/product/42", t, 300, &tampered),
                Err(SignatureError::Mismatch)
            );
        }
        let unsigned: Vec<_> = headers.clone();
        assert_eq!(
            verify(key, "GET", "/", t, 300, &unsigned),
            Err(SignatureError::Missing)
        );
        for junk in ["", "t=1", "t=x, v1=\"00\"", "v1=\"00\", t=1", "t=1, v1=00"] {
            let with = vec![(SIGNATURE, junk.to_string())];
            assert_eq!(
                verify(key, "GET", "/", t, 300, &with),
                Err(SignatureError::Malformed),
                "{junk}"
            );
        }
    }

    /// docs/contracts.md section 4, "Signature"; demo/signature.test.mjs checks the same.
    #[test]
    fn the_contract_example_vector() {
        let headers = [
            (REASON, "MODEL"),
            (SEGMENT, "focused_buyer;confidence=0.812;intent=0.344"),
        ];
        assert_eq!(
            sign(
                b"contract-example-key",
                "GET",
                "/product/42",
                1_764_000_000,
                &headers
            ),
            r#"t=1764000000, v1="f79dde637c0f441a833b2945da27c854238ca5e32cd23fee8c1085f6628667cd""#
        );
    }

    #[test]
    fn the_canonical_string_is_the_documented_one() {
        let headers = [
            ("edgeseg-segment", "a"),
            ("Edgeseg-Reason", "MODEL"),
            ("edgeseg-signature", "ignored"),
            ("accept", "ignored"),
        ];
        assert_eq!(
            canonical("GET", "/p/1", 1_764_000_000, &headers),
            "edgeseg-v1\nGET\n/p/1\n1764000000\nedgeseg-reason:MODEL\nedgeseg-segment:a"
        );
    }
}
