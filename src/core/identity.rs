//! Who the request belongs to: the session id cookie, consent, the customer id (only
//! ever as a keyed hash), the holdout decision and the Durable Object names.

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use thiserror::Error;

use crate::core::config::StoreConfig;

/// The session id cookie's name.
pub const SESSION_COOKIE: &str = "edgeseg_sid";

/// Where the worker remembers a customer it learnt from the origin's response header
/// (the keyed hash, never the raw id), for stores that set no customer cookie.
pub const CUSTOMER_COOKIE: &str = "edgeseg_cid";

#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum IdentityError {
    #[error("no randomness available: {0}")]
    Random(String),
    #[error("the customer-id key is empty")]
    EmptyKey,
}

/// Splits a `Cookie` header into `(name, value)` pairs. Tolerant: pieces without `=`
/// or with empty names are skipped, surrounding spaces and double quotes are removed.
pub fn parse_cookies(header: &str) -> impl Iterator<Item = (&str, &str)> {
    header.split(';').filter_map(|piece| {
        let (name, value) = piece.split_once('=')?;
        let name = name.trim();
        let value = value.trim();
        let value = value
            .strip_prefix('"')
            .and_then(|v| v.strip_suffix('"'))
            .unwrap_or(value);
        (!name.is_empty()).then_some((name, value))
    })
}

/// The first cookie called `name`.
pub fn cookie<'a>(header: &'a str, name: &str) -> Option<&'a str> {
    parse_cookies(header)
        .find(|(n, _)| *n == name)
        .map(|(_, v)| v)
}

/// A session id: 128 random bits as 32 lower-case hex digits.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SessionId(String);

impl SessionId {
    /// Accepts exactly 32 lower-case hex digits; anything else is not ours.
    pub fn parse(text: &str) -> Option<SessionId> {
        let ok = text.len() == 32 && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
        ok.then(|| SessionId(text.to_string()))
    }

    /// A fresh random id.
    pub fn generate() -> Result<SessionId, IdentityError> {
        let mut bytes = [0u8; 16];
        getrandom::fill(&mut bytes).map_err(|e| IdentityError::Random(e.to_string()))?;
        Ok(SessionId(hex::encode(bytes)))
    }

    /// The id from the request's `Cookie` header, if it carries a valid one.
    pub fn from_cookie_header(header: Option<&str>) -> Option<SessionId> {
        header
            .and_then(|h| cookie(h, SESSION_COOKIE))
            .and_then(SessionId::parse)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The `Set-Cookie` value; it lives as long as a customer profile, so returning
    /// visitors are recognised.
    pub fn set_cookie(&self, config: &StoreConfig) -> String {
        format!(
            "{SESSION_COOKIE}={}; Max-Age={}; Path=/; HttpOnly; Secure; SameSite=Lax",
            self.0, config.ttl.customer_secs
        )
    }

    /// The Durable Object name of this session's state.
    pub fn object_name(&self) -> String {
        format!("s:{}", self.0)
    }
}

/// The session id to use: the cookie's if valid, else a new one (`true` = new, so the
/// shell sets the cookie).
pub fn session_id(cookie_header: Option<&str>) -> Result<(SessionId, bool), IdentityError> {
    match SessionId::from_cookie_header(cookie_header) {
        Some(id) => Ok((id, false)),
        None => SessionId::generate().map(|id| (id, true)),
    }
}

/// Whether the shopper said no: `Sec-GPC: 1`, or the consent cookie holds a "no" value.
pub fn consent_withheld(
    sec_gpc: Option<&str>,
    cookie_header: Option<&str>,
    config: &StoreConfig,
) -> bool {
    if sec_gpc.is_some_and(|v| v.trim() == "1") {
        return true;
    }
    cookie_header
        .and_then(|h| cookie(h, &config.consent.cookie))
        .is_some_and(|v| {
            config
                .consent
                .no_values
                .iter()
                .any(|no| no.eq_ignore_ascii_case(v.trim()))
        })
}

/// The raw customer id from the store's customer cookie, if configured and present.
pub fn customer_id_from_cookies<'a>(
    cookie_header: Option<&'a str>,
    config: &StoreConfig,
) -> Option<&'a str> {
    let name = config.customer.cookie.as_deref()?;
    cookie_header
        .and_then(|h| cookie(h, name))
        .map(str::trim)
        .filter(|v| !v.is_empty())
}

/// A customer id as stored: HMAC-SHA256 under the worker's secret key, hex. The raw id
/// never reaches storage, and without the key the hash cannot be tested against guesses.
pub fn customer_key(raw_id: &str, secret: &[u8]) -> Result<Option<String>, IdentityError> {
    if secret.is_empty() {
        return Err(IdentityError::EmptyKey);
    }
    let raw_id = raw_id.trim();
    if raw_id.is_empty() || raw_id.len() > 256 {
        return Ok(None);
    }
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).map_err(|_| IdentityError::EmptyKey)?;
    mac.update(raw_id.as_bytes());
    Ok(Some(hex::encode(mac.finalize().into_bytes())))
}

/// The customer key of this request: the store's customer cookie, hashed, or else the
/// worker's own customer cookie (already a key: 64 hex digits, anything else ignored).
pub fn request_customer_key(
    cookie_header: Option<&str>,
    config: &StoreConfig,
    secret: &[u8],
) -> Result<Option<String>, IdentityError> {
    if let Some(raw) = customer_id_from_cookies(cookie_header, config) {
        return customer_key(raw, secret);
    }
    let remembered = cookie_header
        .and_then(|h| cookie(h, CUSTOMER_COOKIE))
        .filter(|v| v.len() == 64 && v.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')));
    Ok(remembered.map(str::to_string))
}

/// The `Set-Cookie` value that remembers a customer key for as long as a profile lives.
pub fn customer_set_cookie(customer_key: &str, config: &StoreConfig) -> String {
    format!(
        "{CUSTOMER_COOKIE}={customer_key}; Max-Age={}; Path=/; HttpOnly; Secure; SameSite=Lax",
        config.ttl.customer_secs
    )
}

/// The Durable Object name of a customer's state (`customer_key` output).
pub fn customer_object_name(customer_key: &str) -> String {
    format!("c:{customer_key}")
}

/// Whether the session is in the holdout share: a deterministic hash of salt and id,
/// so a session stays in (or out) for its whole life, and a new salt reshuffles.
pub fn in_holdout(id: &SessionId, config: &StoreConfig) -> bool {
    let share = config.holdout.share;
    share > 0.0 && bucket(&config.holdout.salt, id) < share
}

/// The session's place in [0, 1) for a salted split: deterministic, uniform, and
/// independent between salts (holdout, canary).
pub fn bucket(salt: &str, id: &SessionId) -> f64 {
    let digest = Sha256::new()
        .chain_update(salt.as_bytes())
        .chain_update(b":")
        .chain_update(id.as_str().as_bytes())
        .finalize();
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    // Top 53 bits -> uniform in [0, 1).
    (u64::from_be_bytes(first) >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    const SID: &str = "0123456789abcdef0123456789abcdef";

    #[test]
    fn cookies_are_parsed_tolerantly() {
        let header = format!(r#"junk; =x; a=1;b = "two" ; {SESSION_COOKIE}={SID}; ;;c"#);
        let pairs: Vec<_> = parse_cookies(&header).collect();
        assert_eq!(pairs, vec![("a", "1"), ("b", "two"), (SESSION_COOKIE, SID)]);
        assert_eq!(
            SessionId::from_cookie_header(Some(&header))
                .unwrap()
                .as_str(),
            SID
        );
        assert_eq!(cookie("", "a"), None);
    }

    #[test]
    fn only_well_formed_ids_are_accepted() {
        for bad in [
            "",
            "0123",
            &SID.to_uppercase(),
            &format!("{SID}0"),
            "0123456789abcdef0123456789abcdeg",
            "ééééééééééééééé1",
        ] {
            assert!(SessionId::parse(bad).is_none(), "{bad}");
        }
        let (id, new) = session_id(Some("edgeseg_sid=nope")).unwrap();
        assert!(new && SessionId::parse(id.as_str()).is_some());
        let (id2, new2) = session_id(Some(&format!("edgeseg_sid={SID}"))).unwrap();
        assert!(!new2 && id2.as_str() == SID);
        assert_ne!(
            SessionId::generate().unwrap(),
            SessionId::generate().unwrap()
        );
    }

    #[test]
    fn set_cookie_and_object_names() {
        let id = SessionId::parse(SID).unwrap();
        let config = StoreConfig::default_store();
        assert_eq!(
            id.set_cookie(&config),
            format!("edgeseg_sid={SID}; Max-Age=2592000; Path=/; HttpOnly; Secure; SameSite=Lax")
        );
        assert_eq!(id.object_name(), format!("s:{SID}"));
        assert_eq!(customer_object_name("ab"), "c:ab");
    }

    #[test]
    fn consent() {
        let c = StoreConfig::default_store();
        assert!(consent_withheld(Some("1"), None, &c));
        assert!(!consent_withheld(Some("0"), None, &c));
        assert!(consent_withheld(None, Some("consent=No"), &c));
        assert!(!consent_withheld(None, Some("consent=yes"), &c));
        assert!(!consent_withheld(None, None, &c));
    }

    #[test]
    fn customer_ids_are_keyed_hashes() {
        let k = customer_key("cust-1", b"secret").unwrap().unwrap();
        assert_eq!(k.len(), 64);
        assert_ne!(k, customer_key("cust-1", b"other").unwrap().unwrap());
        assert_eq!(k, customer_key(" cust-1 ", b"secret").unwrap().unwrap());
        assert_eq!(customer_key("", b"secret").unwrap(), None);
        assert_eq!(customer_key("x", b""), Err(IdentityError::EmptyKey));
        let c = StoreConfig::default_store();
        assert_eq!(
            customer_id_from_cookies(Some("customer_id=42"), &c),
            Some("42")
        );
        assert_eq!(customer_id_from_cookies(Some("customer_id="), &c), None);
    }

    #[test]
    fn the_store_cookie_wins_over_the_remembered_key() {
        let c = StoreConfig::default_store();
        let alice = customer_key("alice", b"k").unwrap().unwrap();
        let remembered = format!("{CUSTOMER_COOKIE}={alice}");
        assert_eq!(
            request_customer_key(Some(&remembered), &c, b"k").unwrap(),
            Some(alice.clone())
        );
        let both = format!("customer_id=bob; {remembered}");
        let bob = customer_key("bob", b"k").unwrap();
        assert_eq!(request_customer_key(Some(&both), &c, b"k").unwrap(), bob);
        for junk in ["edgeseg_cid=alice", "edgeseg_cid=", "edgeseg_cid=ZZ"] {
            assert_eq!(request_customer_key(Some(junk), &c, b"k").unwrap(), None);
        }
        assert!(customer_set_cookie(&alice, &c).contains("HttpOnly"));
    }

    #[test]
    fn holdout_is_deterministic_and_near_its_share() {
        let c = StoreConfig::default_store();
        let held = (0..4000u32)
            .filter(|i| in_holdout(&SessionId::parse(&format!("{i:032x}")).unwrap(), &c))
            .count();
        assert!((120..=280).contains(&held), "{held} of 4000 at 5%");
        let id = SessionId::parse(SID).unwrap();
        assert_eq!(in_holdout(&id, &c), in_holdout(&id, &c));
        let mut none = c.clone();
        none.holdout.share = 0.0;
        assert!(!in_holdout(&id, &none));
        let mut all = c;
        all.holdout.share = 1.0;
        assert!(in_holdout(&id, &all));
    }
}
