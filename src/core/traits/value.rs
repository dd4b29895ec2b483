//! One customer's traits, and their KV value (contract section 8): small, versioned
//! JSON, `{"v":1,"feed":"<feed version>","traits":{name: number | string | [strings]}}`,
//! under `traits/<customer key>`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use thiserror::Error;

use super::schema::{TraitSchema, ValueProblem};
use crate::core::features::{Features, Kind, Observed};

/// The stored value's format version; a reader refuses any other.
pub const VALUE_FORMAT: u64 = 1;
/// The largest stored value: anything bigger is refused at publish and ignored at read.
pub const MAX_VALUE_BYTES: usize = 4096;
/// KV keys of traits start with this, then the customer key.
pub const KV_PREFIX: &str = "traits/";
/// Rules (and a model) see trait `x` as the field `trait.x`.
pub const FIELD_PREFIX: &str = "trait.";

/// The KV key of a customer's traits (`identity::customer_key` output).
pub fn kv_key(customer_key: &str) -> String {
    format!("{KV_PREFIX}{customer_key}")
}

/// `trait.<name>`.
pub fn field_name(name: &str) -> String {
    format!("{FIELD_PREFIX}{name}")
}

/// Why a stored value was ignored.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum StoredValueError {
    #[error("value of {0} bytes, over {MAX_VALUE_BYTES}")]
    TooLarge(usize),
    #[error("value is not JSON: {0}")]
    Json(String),
    #[error("value is not a format {VALUE_FORMAT} traits object")]
    Format,
    #[error("trait {name:?}: {problem}")]
    Trait { name: String, problem: ValueProblem },
}

/// A customer's traits by name, each already checked against the schema.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Traits {
    values: BTreeMap<String, Observed>,
}

impl Traits {
    pub fn insert(&mut self, name: impl Into<String>, value: Observed) {
        self.values.insert(name.into(), value);
    }

    pub fn get(&self, name: &str) -> Option<&Observed> {
        self.values.get(name)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &Observed)> {
        self.values.iter().map(|(k, v)| (k.as_str(), v))
    }

    pub fn len(&self) -> usize {
        self.values.len()
    }

    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// Adds every trait to `features` as `trait.<name>`; absent traits stay absent, so
    /// a rule on them does not match and a model sees its baseline.
    pub fn apply_to(&self, features: &mut Features) {
        for (name, value) in &self.values {
            features.set(field_name(name), value.clone());
        }
    }

    /// The KV value, stamped with the feed's version.
    pub fn encode(&self, feed_version: &str) -> String {
        let traits: Map<String, Value> = self
            .values
            .iter()
            .map(|(name, value)| (name.clone(), to_json(value)))
            .collect();
        serde_json::json!({ "v": VALUE_FORMAT, "feed": feed_version, "traits": traits }).to_string()
    }

    /// Reads a stored value. Traits the schema no longer declares are skipped (the
    /// schema moved on since the feed was published); a declared trait that does not
    /// fit, a wrong format or an oversized value refuses the whole value.
    pub fn decode(text: &str, schema: &TraitSchema) -> Result<Traits, StoredValueError> {
        if text.len() > MAX_VALUE_BYTES {
            return Err(StoredValueError::TooLarge(text.len()));
        }
        let root: Value =
            serde_json::from_str(text).map_err(|e| StoredValueError::Json(e.to_string()))?;
        let format = root.get("v").and_then(Value::as_u64);
        let stored = root.get("traits").and_then(Value::as_object);
        let (Some(VALUE_FORMAT), Some(stored)) = (format, stored) else {
            return Err(StoredValueError::Format);
        };
        let mut traits = Traits::default();
        for (name, raw) in stored {
            let Some(spec) = schema.get(name) else {
                continue;
            };
            let fail = |problem| StoredValueError::Trait {
                name: name.clone(),
                problem,
            };
            let value = from_json(raw, spec.kind).map_err(fail)?;
            spec.check(&value).map_err(fail)?;
            traits.insert(name.clone(), value);
        }
        Ok(traits)
    }
}

/// A trait's JSON form: a number, a string or an array of strings.
pub fn to_json(value: &Observed) -> Value {
    match value {
        Observed::Num(x) => serde_json::Number::from_f64(*x).map_or(Value::Null, Value::Number),
        Observed::Label(text) => Value::String(text.clone()),
        Observed::List(items) => Value::Array(items.iter().cloned().map(Value::String).collect()),
    }
}

/// A JSON value read as a trait of `kind` (the kind only: bounds are the schema's).
pub fn from_json(value: &Value, kind: Kind) -> Result<Observed, ValueProblem> {
    let wrong = || ValueProblem::WrongKind(kind.as_str());
    match kind {
        Kind::Num => value.as_f64().map(Observed::Num).ok_or_else(wrong),
        Kind::Label => value
            .as_str()
            .map(|s| Observed::Label(s.to_string()))
            .ok_or_else(wrong),
        Kind::List => value
            .as_array()
            .and_then(|items| {
                items
                    .iter()
                    .map(|item| item.as_str().map(str::to_string))
                    .collect::<Option<Vec<_>>>()
            })
            .map(Observed::List)
            .ok_or_else(wrong),
    }
}
