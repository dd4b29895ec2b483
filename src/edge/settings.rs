//! The store configuration and secrets, built once per isolate and rebuilt only when
//! their source changes. Sources, first wins: the `EDGESEG_STORE_CONFIG` variable
//! (`wrangler.toml`), the `store-config` key of the KV namespace (re-read at most every
//! 30 s), the embedded default. Also the origin every request is forwarded to.

use std::cell::RefCell;
use std::rc::Rc;

use worker::{console_error, Date, Env, Url};

use crate::core::config::{StoreConfig, DEFAULT_STORE_JSON};
use crate::core::identity::WorkerKeys;

use super::bindings::{
    CONFIG_VAR, CUSTOMER_KEY_SECRET, HEADER_KEY_SECRET, KV_BINDING, ORIGIN_VAR,
    STORE_CONFIG_KEY, STORE_TOKEN_KEY_SECRET,
};
use super::error::{Code, Result, ResultExt};

const KV_REFRESH_MS: f64 = 30_000.0;

/// What a request needs besides the bundle.
pub struct Settings {
    pub config: StoreConfig,
    /// The cookie MAC and customer-id keys: from `EDGESEG_CUSTOMER_KEY`, else random
    /// for this isolate (no cross-device joins; health says so).
    pub keys: WorkerKeys,
    /// Verifies the store's signed customer token; `None`: the token is not read.
    pub store_token_key: Option<Vec<u8>>,
    /// Where `config` came from: `var`, `kv` or `embedded`.
    pub source: &'static str,
}

struct Cached {
    text: String,
    settings: Rc<Settings>,
}

thread_local! {
    static CACHED: RefCell<Option<Cached>> = const { RefCell::new(None) };
    static KV_TEXT: RefCell<Option<(f64, Option<String>)>> = const { RefCell::new(None) };
    /// The random keys of a worker without a secret: one set per isolate, so a config
    /// change does not reset every session.
    static EPHEMERAL_KEYS: RefCell<Option<WorkerKeys>> = const { RefCell::new(None) };
}

/// The origin every request is forwarded to, from `wrangler.toml`'s `ORIGIN`.
pub fn origin(env: &Env) -> Result<Url> {
    let not_configured = Code::OriginNotConfigured;
    let raw = env
        .var(ORIGIN_VAR)
        .map_err(|_| not_configured.because(format!("{ORIGIN_VAR} is not set in wrangler.toml")))?
        .to_string();
    let url = Url::parse(&raw)
        .map_err(|e| not_configured.because(format!("{ORIGIN_VAR}={raw:?} is not a URL: {e}")))?;
    match url.scheme() {
        "http" | "https" => Ok(url),
        other => Err(Code::OriginNotConfigured
            .because(format!("{ORIGIN_VAR} must be http or https, not {other}"))),
    }
}

async fn kv_config(env: &Env) -> Option<String> {
    let now = Date::now().as_millis() as f64;
    if let Some((at, text)) = KV_TEXT.with(|c| c.borrow().clone()) {
        if now - at < KV_REFRESH_MS {
            return text;
        }
    }
    let fetched: Result<Option<String>> = async {
        let kv = env.kv(KV_BINDING).code(Code::KvUnavailable)?;
        Ok(kv.get(STORE_CONFIG_KEY).text().await?)
    }
    .await;
    let text = match fetched {
        Ok(text) => text,
        Err(e) => {
            // Keep what we had: a KV outage must not change the store's behaviour.
            console_error!("edgeseg: reading {STORE_CONFIG_KEY} from KV failed: {e}");
            KV_TEXT.with(|c| c.borrow().as_ref().and_then(|(_, t)| t.clone()))
        }
    };
    KV_TEXT.with(|c| *c.borrow_mut() = Some((now, text.clone())));
    text
}

fn secret(env: &Env, name: &str) -> Option<Vec<u8>> {
    env.secret(name)
        .ok()
        .map(|s| s.to_string().into_bytes())
        .filter(|s| !s.is_empty())
}

/// The key that signs the `edgeseg-*` request headers (`None`: not signed). Read apart
/// from the store config, so that even a failed config's `ERROR` headers are signed.
pub fn header_key(env: &Env) -> Option<Vec<u8>> {
    secret(env, HEADER_KEY_SECRET)
}

/// The worker's keys: from its secret, else this isolate's random ones.
fn worker_keys(env: &Env) -> Result<WorkerKeys> {
    let made = match secret(env, CUSTOMER_KEY_SECRET) {
        Some(secret) => WorkerKeys::from_secret(&secret),
        None => match EPHEMERAL_KEYS.with(|k| k.borrow().clone()) {
            Some(keys) => Ok(keys),
            None => WorkerKeys::ephemeral().inspect(|keys| {
                EPHEMERAL_KEYS.with(|k| *k.borrow_mut() = Some(keys.clone()));
            }),
        },
    };
    made.map_err(|e| Code::SessionId.because(format!("worker keys: {e}")))
}

/// The settings to serve with; `Err` (`config_invalid`) when the configuration in force
/// does not parse: the request is then served without state. Every request and every
/// session object call asks, so the answer is cached: a configuration from the
/// variable for the isolate's life (bindings do not change under a running isolate),
/// one from KV or the embedded default until the KV text changes.
pub async fn load(env: &Env) -> Result<Rc<Settings>> {
    let from_var_cached = CACHED.with(|c| {
        c.borrow()
            .as_ref()
            .filter(|cached| cached.settings.source == "var")
            .map(|cached| Rc::clone(&cached.settings))
    });
    if let Some(settings) = from_var_cached {
        return Ok(settings);
    }
    let from_var = env
        .var(CONFIG_VAR)
        .ok()
        .map(|v| v.to_string())
        .filter(|v| !v.trim().is_empty());
    let (source, text) = match from_var {
        Some(text) => ("var", text),
        None => match kv_config(env).await {
            Some(text) => ("kv", text),
            None => ("embedded", DEFAULT_STORE_JSON.to_string()),
        },
    };
    if let Some(settings) = CACHED.with(|c| {
        c.borrow()
            .as_ref()
            .filter(|cached| cached.text == text)
            .map(|cached| Rc::clone(&cached.settings))
    }) {
        return Ok(settings);
    }
    let config = StoreConfig::from_json(&text)
        .map_err(|e| Code::ConfigInvalid.because(format!("store config from {source}: {e}")))?;
    let settings = Rc::new(Settings {
        config,
        keys: worker_keys(env)?,
        store_token_key: secret(env, STORE_TOKEN_KEY_SECRET),
        source,
    });
    CACHED.with(|c| {
        *c.borrow_mut() = Some(Cached {
            text,
            settings: Rc::clone(&settings),
        })
    });
    Ok(settings)
}
