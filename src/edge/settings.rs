//! The store configuration and secrets, built once per isolate and rebuilt only when
//! their source changes. Sources, first wins: the `EDGESEG_STORE_CONFIG` variable
//! (`wrangler.toml`), the `store-config` key of the KV namespace (re-read at most every
//! 30 s), the embedded default.

use std::borrow::Cow;
use std::cell::RefCell;
use std::rc::Rc;

use worker::{console_error, Date, Env};

use crate::core::config::{StoreConfig, DEFAULT_STORE_JSON};
use crate::core::identity::WorkerKeys;

use super::bindings::{KV_BINDING, STORE_CONFIG_KEY};
use super::error::{Code, Result, ResultExt};
use super::vars::{self, Vars};

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

/// The worker's keys: from its secret, else this isolate's random ones.
fn worker_keys(vars: &Vars) -> Result<WorkerKeys> {
    let made = match &vars.customer_key {
        Some(secret) => WorkerKeys::from_secret(secret),
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
    let vars = vars::of(env);
    let (source, text): (_, Cow<str>) = match &vars.store_config {
        Some(text) => ("var", Cow::Borrowed(text)),
        None => match kv_config(env).await {
            Some(text) => ("kv", Cow::Owned(text)),
            None => ("embedded", Cow::Borrowed(DEFAULT_STORE_JSON)),
        },
    };
    if let Some(settings) = CACHED.with(|c| {
        c.borrow()
            .as_ref()
            .filter(|cached| cached.text == *text)
            .map(|cached| Rc::clone(&cached.settings))
    }) {
        return Ok(settings);
    }
    let config = StoreConfig::from_json(&text)
        .map_err(|e| Code::ConfigInvalid.because(format!("store config from {source}: {e}")))?;
    let settings = Rc::new(Settings {
        config,
        keys: worker_keys(&vars)?,
        store_token_key: vars.store_token_key.clone(),
        source,
    });
    CACHED.with(|c| {
        *c.borrow_mut() = Some(Cached {
            text: text.into_owned(),
            settings: Rc::clone(&settings),
        })
    });
    Ok(settings)
}
