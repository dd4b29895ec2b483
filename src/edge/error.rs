//! The shell's one error type (contract section 4, "Error codes"): every failure the worker
//! can meet is a [`Code`] from a closed set, and each code knows the HTTP status the
//! worker answers with when it answers by itself, and the token it puts in
//! `edgeseg-error`, in a JSON error body and in health's failure counts.
//!
//! Platform errors (`worker::Error`, KV, serde, JS values) convert with `?`, each under
//! the code of the binding that failed; a caller that knows better files it under
//! another code with [`ResultExt::code`] and says what it was doing with
//! [`ResultExt::context`]. A core error (typed, with its own message) becomes one with
//! [`Code::because`]. No call site turns an error into a bare string.
//!
//! The code table is platform-free and compiled natively too, so the test that holds it
//! to docs/contracts.md runs with the core's tests; the rest is wasm32 only.

use std::fmt;

/// Defines [`Code`] from one table, so the enum, [`Code::ALL`], the tokens and the
/// statuses cannot drift apart (in the manner of axum's `define_rejection!`).
macro_rules! codes {
    ($($(#[doc = $doc:literal])* $variant:ident => $token:literal, $status:literal;)*) => {
        /// Everything that can go wrong in the shell. Adding a variant means adding a
        /// row to docs/contracts.md section 4 (a test fails otherwise).
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
        pub enum Code {
            $($(#[doc = $doc])* $variant,)*
        }

        impl Code {
            /// Every code, in the order of the contract's table.
            pub const ALL: &'static [Code] = &[$(Code::$variant,)*];

            /// The token on the wire: `edgeseg-error`, the `error` of a JSON body,
            /// health's failure key.
            pub fn token(self) -> &'static str {
                match self {
                    $(Code::$variant => $token,)*
                }
            }

            /// The status of the worker's own answer when this failure ends a request
            /// the worker answers itself (its endpoints, an unreachable origin). On a
            /// proxied page a failure never changes the origin's status: it only sets
            /// `edgeseg-error`.
            pub fn status(self) -> u16 {
                match self {
                    $(Code::$variant => $status,)*
                }
            }
        }
    };
}

codes! {
    /// The store configuration (variable, KV or embedded) does not parse or validate.
    ConfigInvalid => "config_invalid", 503;
    /// No session id could be made (no randomness).
    SessionId => "session_id", 500;
    /// The customer-id key could not hash the customer id.
    CustomerKey => "customer_key", 503;
    /// No model bundle could be built to classify with.
    ModelUnavailable => "model_unavailable", 503;
    /// A session object (or its storage) could not be reached.
    StorageUnavailable => "storage_unavailable", 503;
    /// A session object answered something the worker cannot use.
    StorageError => "storage_error", 502;
    /// `ORIGIN` is missing or not an http(s) URL.
    OriginNotConfigured => "origin_not_configured", 502;
    /// The origin could not be reached at all.
    OriginUnreachable => "origin_unreachable", 502;
    /// The KV namespace did not answer (channel pointer, audit trail).
    KvUnavailable => "kv_unavailable", 503;
    /// A published bundle's files are not (yet) all in KV; retried at the next refresh.
    BundleUnavailable => "bundle_unavailable", 503;
    /// A published bundle failed a check and never serves.
    BundleRejected => "bundle_rejected", 500;
    /// An audit record could not be written.
    AuditWrite => "audit_write", 503;
    /// No such edgeseg endpoint (or the admin endpoints are disabled).
    NotFound => "not_found", 404;
    /// The endpoint exists, but not for this method.
    MethodNotAllowed => "method_not_allowed", 405;
    /// The admin bearer token is missing or wrong.
    Unauthorized => "unauthorized", 401;
    /// An admin path names no session (`s:<32 hex>`) or customer (`c:<64 hex>`) object.
    BadObjectName => "bad_object_name", 400;
    /// The named session object holds no state.
    NoState => "no_state", 404;
    /// The request body could not be read.
    UnreadableBody => "unreadable_body", 400;
    /// The training records' bucket could not be read or written.
    RecordsUnavailable => "records_unavailable", 503;
    /// A query parameter is missing or not of its form (a day, a record key).
    BadQuery => "bad_query", 400;
}

impl Code {
    /// A failure of this kind, with what happened.
    pub fn because(self, detail: impl fmt::Display) -> Error {
        Error {
            code: self,
            detail: detail.to_string(),
        }
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.token())
    }
}

/// A failure in the shell: its code and, for the log and health, what happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    code: Code,
    detail: String,
}

pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    pub fn code(&self) -> Code {
        self.code
    }

    pub fn detail(&self) -> &str {
        &self.detail
    }

    /// The same failure filed under the code of what the caller was doing.
    pub fn recoded(self, code: Code) -> Self {
        Error { code, ..self }
    }

    /// The same failure, saying what was being done: `"{doing}: {detail}"`.
    pub fn context(self, doing: impl fmt::Display) -> Self {
        Error {
            detail: format!("{doing}: {}", self.detail),
            ..self
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.detail)
    }
}

impl std::error::Error for Error {}

/// Typed failures for any result: `.code(Code::X)` files an error under a code,
/// `.context(..)` says what was being done.
pub trait ResultExt<T> {
    fn code(self, code: Code) -> Result<T>;
    fn context(self, doing: impl fmt::Display) -> Result<T>;
}

impl<T, E: Into<Error>> ResultExt<T> for std::result::Result<T, E> {
    fn code(self, code: Code) -> Result<T> {
        self.map_err(|e| e.into().recoded(code))
    }

    fn context(self, doing: impl fmt::Display) -> Result<T> {
        self.map_err(|e| e.into().context(doing))
    }
}

/// Encoding or decoding what the worker exchanges with its storage.
impl From<serde_json::Error> for Error {
    fn from(error: serde_json::Error) -> Self {
        Code::StorageError.because(error)
    }
}

#[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
mod platform {
    use super::{Code, Error};

    /// A binding call failed: in this shell, a session object or its storage.
    impl From<worker::Error> for Error {
        fn from(error: worker::Error) -> Self {
            Code::StorageUnavailable.because(error)
        }
    }

    impl From<worker::KvError> for Error {
        fn from(error: worker::KvError) -> Self {
            Code::KvUnavailable.because(error)
        }
    }

    /// Raw JS failures come from the fetch to the origin (`proxy`).
    impl From<worker::wasm_bindgen::JsValue> for Error {
        fn from(value: worker::wasm_bindgen::JsValue) -> Self {
            Code::OriginUnreachable.because(format!("{value:?}"))
        }
    }

    /// For the session object, whose trait methods answer `worker::Result`.
    impl From<Error> for worker::Error {
        fn from(error: Error) -> Self {
            worker::Error::RustError(error.to_string())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The rows of the "Error codes" table in docs/contracts.md section 4:
    /// `| \`code\` | status | meaning |`.
    fn contract_rows() -> Vec<(String, u16)> {
        let contract = include_str!("../../docs/contracts.md");
        let section = contract
            .split("\n### Error codes")
            .nth(1)
            .expect("docs/contracts.md has an `### Error codes` table");
        let section = section.split("\n#").next().unwrap_or(section);
        section
            .lines()
            .filter_map(|line| {
                let cells: Vec<&str> = line.split('|').map(str::trim).collect();
                let code = cells.get(1)?.strip_prefix('`')?.strip_suffix('`')?;
                let status = cells.get(2)?.parse().ok()?;
                Some((code.to_string(), status))
            })
            .collect()
    }

    #[test]
    fn every_code_is_one_row_of_the_contract_with_its_status() {
        let ours: Vec<(String, u16)> = Code::ALL
            .iter()
            .map(|code| (code.token().to_string(), code.status()))
            .collect();
        assert_eq!(ours, contract_rows());
    }

    #[test]
    fn tokens_are_distinct_sfv_tokens() {
        let mut seen = std::collections::BTreeSet::new();
        for code in Code::ALL {
            assert!(seen.insert(code.token()), "{code} twice");
            assert!(code
                .token()
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b == b'_'));
        }
    }

    #[test]
    fn a_caller_recodes_and_says_what_it_was_doing() {
        let failed: std::result::Result<(), serde_json::Error> =
            serde_json::from_str::<()>("{").map(|_| ());
        let error = failed
            .code(Code::StorageUnavailable)
            .context("applying events")
            .unwrap_err();
        assert_eq!(error.code(), Code::StorageUnavailable);
        assert!(error.detail().starts_with("applying events: "));
        assert!(error
            .to_string()
            .starts_with("storage_unavailable: applying"));
    }
}
