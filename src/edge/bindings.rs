//! Names shared with `wrangler.toml`: bindings, variables, secrets, KV keys.

/// The store's origin URL (variable).
pub const ORIGIN_VAR: &str = "ORIGIN";
/// The session Durable Object namespace.
pub const SESSIONS_BINDING: &str = "SESSIONS";
/// The KV namespace: store config override, model channel pointers and bundles.
pub const KV_BINDING: &str = "EDGESEG_KV";
/// A whole store configuration as JSON (variable, optional).
pub const CONFIG_VAR: &str = "EDGESEG_STORE_CONFIG";
/// KV key of a store configuration override.
pub const STORE_CONFIG_KEY: &str = "store-config";
/// The worker secret: HMAC key of customer ids, and the root of the cookie MAC keys.
pub const CUSTOMER_KEY_SECRET: &str = "EDGESEG_CUSTOMER_KEY";
/// Shared with the origin: signs the `edgeseg-*` request headers (secret, optional).
pub const HEADER_KEY_SECRET: &str = "EDGESEG_HEADER_KEY";
/// Shared with the store: verifies its signed customer token cookie (secret, optional).
pub const STORE_TOKEN_KEY_SECRET: &str = "EDGESEG_STORE_TOKEN_KEY";
/// Bearer token of the admin endpoints (secret); unset disables them.
pub const ADMIN_TOKEN_SECRET: &str = "EDGESEG_ADMIN_TOKEN";
/// The model channel this worker follows (variable, default `production`).
pub const CHANNEL_VAR: &str = "EDGESEG_CHANNEL";
/// Seconds between reads of the channel pointer (variable, default 30).
pub const REFRESH_VAR: &str = "EDGESEG_MODEL_REFRESH_SECS";
/// Publisher public keys, base64, comma-separated (variable). Published bundles must be
/// signed by one of them; the embedded bundle needs no signature.
pub const TRUSTED_KEYS_VAR: &str = "EDGESEG_TRUSTED_KEYS";
/// The aggregation Durable Object namespace (live aggregates, `stats_do`).
pub const STATS_BINDING: &str = "STATS";
/// Seconds between an isolate's flushes of its live counts (variable, default 5).
pub const STATS_FLUSH_VAR: &str = "EDGESEG_STATS_FLUSH_SECS";
/// PSI from which drift is worth watching (variable, default 0.1).
pub const DRIFT_WATCH_VAR: &str = "EDGESEG_DRIFT_WATCH";
/// PSI from which drift calls for retraining (variable, default 0.25).
pub const DRIFT_ACT_VAR: &str = "EDGESEG_DRIFT_ACT";
/// The R2 bucket of training records (docs/contracts.md section 9); unbound: no
/// trails are kept and no records written.
pub const RECORDS_BINDING: &str = "EDGESEG_RECORDS";
