//! Who the request belongs to: the session id cookie, consent, the customer (only ever
//! as a keyed hash, and only from a proof: the origin's response header or a
//! store-signed token), the holdout decision and the Durable Object names.
//!
//! Nothing a client sends is adopted as an identity without a MAC: the session cookie
//! is `<id>.<mac>`, the worker's customer cookie is `<key>.<expiry>.<mac>`, both under
//! keys derived from the worker secret ([`WorkerKeys`]). Without a configured secret the
//! keys are random per isolate: nothing can be forged, sessions last as long as the
//! isolate, and customers are not joined.

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use thiserror::Error;

use crate::core::config::StoreConfig;

type HmacSha256 = Hmac<Sha256>;

/// The session id cookie's name.
pub const SESSION_COOKIE: &str = "edgeseg_sid";

/// Where the worker remembers a customer it learnt from a proof (the keyed hash, never
/// the raw id, with an expiry and a MAC).
pub const CUSTOMER_COOKIE: &str = "edgeseg_cid";

/// Bytes of a truncated MAC in our cookies: 128 bits.
const MAC_BYTES: usize = 16;

#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum IdentityError {
    #[error("no randomness available: {0}")]
    Random(String),
    #[error("the customer-id key is empty")]
    EmptyKey,
}

/// The worker's keys, all derived from one secret (`EDGESEG_CUSTOMER_KEY`) with a label
/// each, so one key never signs two kinds of thing.
#[derive(Clone)]
pub struct WorkerKeys {
    /// Hashes customer ids ([`customer_key`]); the secret itself, so stored keys stay valid.
    customer: Vec<u8>,
    /// MACs session ids.
    session: [u8; 32],
    /// MACs the worker's customer cookie.
    cookie: [u8; 32],
    /// Whether the keys come from a configured secret (customers can be joined).
    configured: bool,
}

impl std::fmt::Debug for WorkerKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "WorkerKeys {{ configured: {} }}", self.configured)
    }
}

fn mac_of(key: &[u8], parts: &[&[u8]]) -> HmacSha256 {
    // HMAC takes keys of any length; `new_from_slice` cannot fail for it.
    let mut mac = <HmacSha256 as Mac>::new_from_slice(key).unwrap_or_else(|_| unreachable!());
    for part in parts {
        mac.update(part);
    }
    mac
}

fn derive(secret: &[u8], label: &str) -> [u8; 32] {
    mac_of(secret, &[b"edgeseg key:", label.as_bytes()])
        .finalize()
        .into_bytes()
        .into()
}

/// `hex(HMAC(key, parts))` truncated to [`MAC_BYTES`].
fn short_mac(key: &[u8], parts: &[&[u8]]) -> String {
    hex::encode(&mac_of(key, parts).finalize().into_bytes()[..MAC_BYTES])
}

/// Whether `tag` (hex) is the truncated MAC of `parts`, compared in constant time.
fn mac_matches(key: &[u8], parts: &[&[u8]], tag: &str) -> bool {
    match hex::decode(tag) {
        Ok(bytes) if bytes.len() == MAC_BYTES => {
            mac_of(key, parts).verify_truncated_left(&bytes).is_ok()
        }
        _ => false,
    }
}

fn is_lower_hex(text: &str, len: usize) -> bool {
    text.len() == len && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

impl WorkerKeys {
    /// Keys from the configured worker secret.
    pub fn from_secret(secret: &[u8]) -> Result<WorkerKeys, IdentityError> {
        if secret.is_empty() {
            return Err(IdentityError::EmptyKey);
        }
        Ok(WorkerKeys {
            customer: secret.to_vec(),
            session: derive(secret, "session id"),
            cookie: derive(secret, "customer cookie"),
            configured: true,
        })
    }

    /// Random keys for a worker without a secret: valid for this isolate only, so
    /// nothing they sign can be forged or outlive it, and customer joins stay off.
    pub fn ephemeral() -> Result<WorkerKeys, IdentityError> {
        let mut secret = [0u8; 32];
        getrandom::fill(&mut secret).map_err(|e| IdentityError::Random(e.to_string()))?;
        let mut keys = WorkerKeys::from_secret(&secret)?;
        keys.configured = false;
        Ok(keys)
    }

    /// Whether a secret was configured: only then are customers joined across devices.
    pub fn configured(&self) -> bool {
        self.configured
    }
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

/// Every cookie called `name`, in order (a client may send several).
pub fn cookies<'a>(header: &'a str, name: &'a str) -> impl Iterator<Item = &'a str> {
    parse_cookies(header)
        .filter(move |(n, _)| *n == name)
        .map(|(_, v)| v)
}

/// A session id: 128 random bits as 32 lower-case hex digits. The cookie carries it
/// with a MAC (`<id>.<mac>`), so an id the worker did not issue is never adopted.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SessionId(String);

impl SessionId {
    /// Accepts exactly 32 lower-case hex digits (the bare id, as in object names).
    pub fn parse(text: &str) -> Option<SessionId> {
        is_lower_hex(text, 32).then(|| SessionId(text.to_string()))
    }

    /// A fresh random id.
    pub fn generate() -> Result<SessionId, IdentityError> {
        let mut bytes = [0u8; 16];
        getrandom::fill(&mut bytes).map_err(|e| IdentityError::Random(e.to_string()))?;
        Ok(SessionId(hex::encode(bytes)))
    }

    /// The id of a cookie value `<id>.<mac>` when the MAC is ours.
    pub fn from_signed(value: &str, keys: &WorkerKeys) -> Option<SessionId> {
        let (id, tag) = value.split_once('.')?;
        let id = SessionId::parse(id)?;
        mac_matches(&keys.session, &[b"sid:", id.0.as_bytes()], tag).then_some(id)
    }

    /// The id from the request's `Cookie` header, if it carries one this worker issued.
    pub fn from_cookie_header(header: Option<&str>, keys: &WorkerKeys) -> Option<SessionId> {
        let header = header?;
        cookies(header, SESSION_COOKIE).find_map(|value| SessionId::from_signed(value, keys))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The cookie value: `<id>.<mac>`.
    pub fn signed(&self, keys: &WorkerKeys) -> String {
        let tag = short_mac(&keys.session, &[b"sid:", self.0.as_bytes()]);
        format!("{}.{tag}", self.0)
    }

    /// The `Set-Cookie` value; it lives as long as a customer profile, so returning
    /// visitors are recognised.
    pub fn set_cookie(&self, config: &StoreConfig, keys: &WorkerKeys) -> String {
        format!(
            "{SESSION_COOKIE}={}; Max-Age={}; Path=/; HttpOnly; Secure; SameSite=Lax",
            self.signed(keys),
            config.ttl.customer_secs
        )
    }

    /// The Durable Object name of this session's state.
    pub fn object_name(&self) -> String {
        format!("s:{}", self.0)
    }
}

/// The session id to use: the cookie's if this worker issued it, else a new one (`true`
/// = new, so the shell sets the cookie). A forged or foreign id is replaced, not adopted.
pub fn session_id(
    cookie_header: Option<&str>,
    keys: &WorkerKeys,
) -> Result<(SessionId, bool), IdentityError> {
    match SessionId::from_cookie_header(cookie_header, keys) {
        Some(id) => Ok((id, false)),
        None => SessionId::generate().map(|id| (id, true)),
    }
}

/// Whether the shopper said no. Errs towards "no": any `Sec-GPC` element other than
/// `0` (so `1, 1` and junk count as no), and any consent cookie, its name in any case,
/// holding a "no" value, even beside a "yes" (`consent=yes; consent=no`).
pub fn consent_withheld(
    sec_gpc: Option<&str>,
    cookie_header: Option<&str>,
    config: &StoreConfig,
) -> bool {
    let gpc_says_no = sec_gpc.is_some_and(|v| {
        v.split(',')
            .map(str::trim)
            .any(|element| !element.is_empty() && element != "0")
    });
    if gpc_says_no {
        return true;
    }
    let name = config.consent.cookie.as_str();
    cookie_header.is_some_and(|h| {
        parse_cookies(h)
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .any(|(_, v)| {
                config
                    .consent
                    .no_values
                    .iter()
                    .any(|no| no.eq_ignore_ascii_case(v.trim()))
            })
    })
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
    Ok(Some(hex::encode(
        mac_of(secret, &[raw_id.as_bytes()]).finalize().into_bytes(),
    )))
}

/// The customer key of a raw id learnt from a proof (origin header or store token);
/// `None` when the keys are not configured (no joins) or the id is empty or too long.
pub fn proven_customer_key(raw_id: &str, keys: &WorkerKeys) -> Option<String> {
    if !keys.configured {
        return None;
    }
    customer_key(raw_id, &keys.customer).ok().flatten()
}

/// The raw customer id of a store-signed token, `<id>.<expires unix secs>.<hex
/// HMAC-SHA256(store key, "<id>.<expires>")>`, when the MAC matches and it has not
/// expired (docs/contracts.md section 7).
pub fn verify_store_token<'a>(token: &'a str, store_key: &[u8], now_ms: i64) -> Option<&'a str> {
    if store_key.is_empty() {
        return None;
    }
    let (signed, tag) = token.rsplit_once('.')?;
    let (id, expires) = signed.rsplit_once('.')?;
    let expires: i64 = expires.parse().ok()?;
    if id.is_empty() || id.len() > 256 || expires.saturating_mul(1000) <= now_ms {
        return None;
    }
    let tag = hex::decode(tag).ok()?;
    if tag.len() != 32 {
        return None;
    }
    mac_of(store_key, &[signed.as_bytes()])
        .verify_slice(&tag)
        .ok()
        .map(|_| id)
}

/// A store token for `id`, valid until `expires_secs`: what a store's login sets (used
/// by the demo store's tests and the docs' examples).
pub fn store_token(id: &str, expires_secs: i64, store_key: &[u8]) -> String {
    let signed = format!("{id}.{expires_secs}");
    let tag = hex::encode(
        mac_of(store_key, &[signed.as_bytes()])
            .finalize()
            .into_bytes(),
    );
    format!("{signed}.{tag}")
}

/// The worker's customer cookie value: `<key>.<expires unix secs>.<mac>`.
fn customer_cookie_value(customer_key: &str, expires_secs: i64, keys: &WorkerKeys) -> String {
    let expires = expires_secs.to_string();
    let tag = short_mac(
        &keys.cookie,
        &[b"cid:", customer_key.as_bytes(), b".", expires.as_bytes()],
    );
    format!("{customer_key}.{expires}.{tag}")
}

/// The customer key of the worker's customer cookie, when its MAC is ours and it has
/// not expired.
fn from_customer_cookie(value: &str, keys: &WorkerKeys, now_ms: i64) -> Option<String> {
    let mut parts = value.splitn(3, '.');
    let (key, expires, tag) = (parts.next()?, parts.next()?, parts.next()?);
    let expires_secs: i64 = expires.parse().ok()?;
    let fresh = expires_secs.saturating_mul(1000) > now_ms;
    let ours = is_lower_hex(key, 64)
        && mac_matches(
            &keys.cookie,
            &[b"cid:", key.as_bytes(), b".", expires.as_bytes()],
            tag,
        );
    (fresh && ours).then(|| key.to_string())
}

/// The customer key of this request, from proofs only: the store-signed token cookie
/// (when the store's key is configured), else the worker's own signed customer cookie.
/// A raw customer id in a cookie grants nothing.
pub fn request_customer_key(
    cookie_header: Option<&str>,
    config: &StoreConfig,
    keys: &WorkerKeys,
    store_key: Option<&[u8]>,
    now_ms: i64,
) -> Option<String> {
    if !keys.configured {
        return None;
    }
    let header = cookie_header?;
    let from_token = match (config.customer.token_cookie.as_deref(), store_key) {
        (Some(name), Some(store_key)) => cookies(header, name)
            .find_map(|token| verify_store_token(token, store_key, now_ms))
            .and_then(|id| proven_customer_key(id, keys)),
        _ => None,
    };
    from_token.or_else(|| {
        cookies(header, CUSTOMER_COOKIE).find_map(|v| from_customer_cookie(v, keys, now_ms))
    })
}

/// The `Set-Cookie` value that remembers a proven customer for as long as a profile lives.
pub fn customer_set_cookie(
    customer_key: &str,
    config: &StoreConfig,
    keys: &WorkerKeys,
    now_ms: i64,
) -> String {
    let max_age = config.ttl.customer_secs;
    let expires = (now_ms / 1000).saturating_add(i64::try_from(max_age).unwrap_or(i64::MAX));
    format!(
        "{CUSTOMER_COOKIE}={}; Max-Age={max_age}; Path=/; HttpOnly; Secure; SameSite=Lax",
        customer_cookie_value(customer_key, expires, keys)
    )
}

/// The `Set-Cookie` value that forgets the customer on this device (logout).
pub fn customer_clear_cookie() -> String {
    format!("{CUSTOMER_COOKIE}=; Max-Age=0; Path=/; HttpOnly; Secure; SameSite=Lax")
}

/// Whether this request or its response logs the customer out: a configured logout
/// path (exact, any method), or the origin's logout header present on the response.
pub fn is_logout(path: &str, origin_logout_header: Option<&str>, config: &StoreConfig) -> bool {
    config.customer.logout_paths.iter().any(|p| p == path)
        || origin_logout_header.is_some_and(|v| !v.trim().is_empty())
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
    const NOW: i64 = 1_764_000_000_000;

    fn keys() -> WorkerKeys {
        WorkerKeys::from_secret(b"worker secret").unwrap()
    }

    #[test]
    fn cookies_are_parsed_tolerantly() {
        let header = format!(r#"junk; =x; a=1;b = "two" ; {SESSION_COOKIE}={SID}; ;;c"#);
        let pairs: Vec<_> = parse_cookies(&header).collect();
        assert_eq!(pairs, vec![("a", "1"), ("b", "two"), (SESSION_COOKIE, SID)]);
        assert_eq!(cookie("", "a"), None);
        assert_eq!(cookies("a=1; a=2", "a").collect::<Vec<_>>(), vec!["1", "2"]);
    }

    #[test]
    fn only_ids_this_worker_signed_are_adopted() {
        let keys = keys();
        let id = SessionId::parse(SID).unwrap();
        let signed = id.signed(&keys);
        assert_eq!(signed.len(), 32 + 1 + 32);
        let header = format!("theme=dark; {SESSION_COOKIE}={signed}");
        assert_eq!(
            SessionId::from_cookie_header(Some(&header), &keys),
            Some(id.clone())
        );
        let (kept, new) = session_id(Some(&header), &keys).unwrap();
        assert!(!new && kept == id);

        let other = WorkerKeys::from_secret(b"another worker").unwrap();
        let tag = &signed[33..];
        let mut flipped = signed.clone().into_bytes();
        flipped[40] = if flipped[40] == b'0' { b'1' } else { b'0' };
        for forged in [
            SID.to_string(),
            format!("{SID}."),
            format!("{SID}.{}", &tag[..31]),
            format!("{}.{tag}", "1".repeat(32)),
            String::from_utf8(flipped).unwrap(),
            id.signed(&other),
            signed.to_uppercase(),
        ] {
            let header = format!("{SESSION_COOKIE}={forged}");
            assert_eq!(
                SessionId::from_cookie_header(Some(&header), &keys),
                None,
                "{forged}"
            );
            let (fresh, new) = session_id(Some(&header), &keys).unwrap();
            assert!(new && fresh != id, "{forged}");
        }
        // A forged cookie first does not hide a genuine one after it.
        let both = format!("{SESSION_COOKIE}={SID}.00; {SESSION_COOKIE}={signed}");
        assert_eq!(SessionId::from_cookie_header(Some(&both), &keys), Some(id));
        assert_ne!(
            SessionId::generate().unwrap(),
            SessionId::generate().unwrap()
        );
        for bad in ["", "0123", &SID.to_uppercase(), &format!("{SID}0")] {
            assert!(SessionId::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn ephemeral_keys_sign_for_this_isolate_only() {
        let (a, b) = (
            WorkerKeys::ephemeral().unwrap(),
            WorkerKeys::ephemeral().unwrap(),
        );
        assert!(!a.configured() && keys().configured());
        let id = SessionId::generate().unwrap();
        assert_eq!(SessionId::from_signed(&id.signed(&a), &a), Some(id.clone()));
        assert_eq!(SessionId::from_signed(&id.signed(&a), &b), None);
        assert_eq!(
            WorkerKeys::from_secret(b"").unwrap_err(),
            IdentityError::EmptyKey
        );
    }

    #[test]
    fn set_cookie_and_object_names() {
        let id = SessionId::parse(SID).unwrap();
        let config = StoreConfig::default_store();
        assert_eq!(
            id.set_cookie(&config, &keys()),
            format!(
                "edgeseg_sid={}; Max-Age=2592000; Path=/; HttpOnly; Secure; SameSite=Lax",
                id.signed(&keys())
            )
        );
        assert_eq!(id.object_name(), format!("s:{SID}"));
        assert_eq!(customer_object_name("ab"), "c:ab");
    }

    #[test]
    fn consent_errs_towards_no() {
        let c = StoreConfig::default_store();
        for (gpc, cookie) in [
            (Some("1"), None),
            (Some("1, 1"), None),
            (Some(" 1,0"), None),
            (Some("yes"), None),
            (None, Some("consent=No")),
            (None, Some("Consent=no")),
            (None, Some("CONSENT=denied")),
            (None, Some("consent=yes; consent=no")),
            (None, Some("consent=no; consent=yes")),
            (None, Some(r#"consent="no""#)),
        ] {
            assert!(consent_withheld(gpc, cookie, &c), "{gpc:?} {cookie:?}");
        }
        for (gpc, cookie) in [
            (Some("0"), None),
            (Some(""), None),
            (None, Some("consent=yes")),
            (None, Some("myconsent=no")),
            (None, None),
        ] {
            assert!(!consent_withheld(gpc, cookie, &c), "{gpc:?} {cookie:?}");
        }
    }

    #[test]
    fn customer_ids_are_keyed_hashes() {
        let k = customer_key("cust-1", b"secret").unwrap().unwrap();
        assert_eq!(k.len(), 64);
        assert_ne!(k, customer_key("cust-1", b"other").unwrap().unwrap());
        assert_eq!(k, customer_key(" cust-1 ", b"secret").unwrap().unwrap());
        assert_eq!(customer_key("", b"secret").unwrap(), None);
        assert_eq!(customer_key("x", b""), Err(IdentityError::EmptyKey));
        assert_eq!(
            proven_customer_key("cust-1", &WorkerKeys::from_secret(b"secret").unwrap()),
            Some(k)
        );
        assert_eq!(
            proven_customer_key("cust-1", &WorkerKeys::ephemeral().unwrap()),
            None
        );
    }

    #[test]
    fn a_raw_customer_id_grants_nothing() {
        let c = StoreConfig::default_store();
        let keys = keys();
        let alice = proven_customer_key("alice", &keys).unwrap();
        for forged in [
            "customer_id=alice".to_string(),
            "customer_token=alice".to_string(),
            format!("{CUSTOMER_COOKIE}={alice}"),
            format!("{CUSTOMER_COOKIE}={alice}.99999999999.{}", "0".repeat(32)),
            "edgeseg_cid=ZZ".to_string(),
        ] {
            assert_eq!(
                request_customer_key(Some(&forged), &c, &keys, Some(b"store"), NOW),
                None,
                "{forged}"
            );
        }
    }

    #[test]
    fn the_worker_cookie_remembers_a_proven_customer_until_it_expires() {
        let c = StoreConfig::default_store();
        let keys = keys();
        let alice = proven_customer_key("alice", &keys).unwrap();
        let set = customer_set_cookie(&alice, &c, &keys, NOW);
        assert!(set.contains("HttpOnly") && set.contains("Max-Age=2592000"));
        let value = set.split(';').next().unwrap().to_string();
        assert_eq!(
            request_customer_key(Some(&value), &c, &keys, None, NOW),
            Some(alice.clone())
        );
        let month_later = NOW + 2_592_000_000;
        assert_eq!(
            request_customer_key(Some(&value), &c, &keys, None, month_later),
            None
        );
        let other = WorkerKeys::from_secret(b"other").unwrap();
        assert_eq!(
            request_customer_key(Some(&value), &c, &other, None, NOW),
            None
        );
        // Without a configured secret nobody is joined, even with a valid-looking cookie.
        let ephemeral = WorkerKeys::ephemeral().unwrap();
        let set = customer_set_cookie(&alice, &c, &ephemeral, NOW);
        let value = set.split(';').next().unwrap();
        assert_eq!(
            request_customer_key(Some(value), &c, &ephemeral, None, NOW),
            None
        );
        assert!(customer_clear_cookie().contains("edgeseg_cid=; Max-Age=0"));
    }

    #[test]
    fn store_tokens_are_verified_and_win_over_the_worker_cookie() {
        let c = StoreConfig::default_store();
        let keys = keys();
        let exp = NOW / 1000 + 3600;
        let token = store_token("bob.smith@x", exp, b"store");
        assert_eq!(
            verify_store_token(&token, b"store", NOW),
            Some("bob.smith@x")
        );
        assert_eq!(verify_store_token(&token, b"other", NOW), None);
        assert_eq!(verify_store_token(&token, b"", NOW), None);
        assert_eq!(verify_store_token(&token, b"store", (exp + 1) * 1000), None);
        let stretched = token.replacen(&exp.to_string(), &(exp + 999).to_string(), 1);
        assert_eq!(verify_store_token(&stretched, b"store", NOW), None);
        for junk in ["", ".", "..", "a.b.c", "a.1.zz", &format!("{token}0")] {
            assert_eq!(verify_store_token(junk, b"store", NOW), None, "{junk}");
        }
        // docs/contracts.md section 7; demo/signature.test.mjs checks the same vector.
        assert_eq!(
            store_token("alice", 1_764_003_600, b"contract-example-key"),
            "alice.1764003600.fb25599a3750b0da00e54b9e2a81844ae85a38e7fa464ff6f4dd37886ef08284"
        );
        let alice = proven_customer_key("alice", &keys).unwrap();
        let bob = proven_customer_key("bob.smith@x", &keys).unwrap();
        let remembered = customer_set_cookie(&alice, &c, &keys, NOW);
        let remembered = remembered.split(';').next().unwrap();
        let both = format!("customer_token={token}; {remembered}");
        assert_eq!(
            request_customer_key(Some(&both), &c, &keys, Some(b"store"), NOW),
            Some(bob)
        );
        // No store key configured: the token is not read at all.
        assert_eq!(
            request_customer_key(Some(&both), &c, &keys, None, NOW),
            Some(alice)
        );
    }

    #[test]
    fn logout_by_path_or_origin_header() {
        let c = StoreConfig::default_store();
        assert!(is_logout("/account/logout", None, &c));
        assert!(is_logout("/product/1", Some("1"), &c));
        assert!(!is_logout("/account/logout/x", None, &c));
        assert!(!is_logout("/product/1", Some(" "), &c));
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
