//! The declared traits (contract section 8): an allow-list of names, each with a kind
//! and its bounds. The feed, the stored value and the rules are all checked against it.

use serde::Deserialize;
use serde_json::{Map, Value};
use thiserror::Error;

use crate::core::features::{Kind, Observed};

/// The most traits a schema declares: a stored value stays small.
pub const MAX_TRAITS: usize = 32;
/// Default and ceiling of a label's length (and a list item's), in characters.
const DEFAULT_MAX_LEN: usize = 64;
const MAX_LEN_CEILING: usize = 256;
/// Default and ceiling of a list's items.
const DEFAULT_MAX_ITEMS: usize = 16;
const MAX_ITEMS_CEILING: usize = 64;

/// Why a schema was refused; `name` is the trait concerned.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum SchemaError {
    #[error("traits: must be an object of trait name -> declaration")]
    NotAnObject,
    #[error("traits: at most {MAX_TRAITS} traits, got {0}")]
    TooMany(usize),
    #[error("trait {name:?}: {message}")]
    Trait { name: String, message: String },
}

/// Why one value does not fit its declaration.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum ValueProblem {
    #[error("expected a {0}")]
    WrongKind(&'static str),
    #[error("{value} is outside {min}..={max}")]
    OutOfRange { value: f64, min: f64, max: f64 },
    #[error("longer than {0} characters")]
    TooLong(usize),
    #[error("more than {0} items")]
    TooManyItems(usize),
    #[error("{0:?} is not one of the declared values")]
    NotAllowed(String),
    #[error("contains a control character")]
    ControlCharacter,
    #[error("empty text")]
    Empty,
}

/// One declared trait.
#[derive(Debug, Clone, PartialEq)]
pub struct TraitSpec {
    pub name: String,
    pub kind: Kind,
    /// Inclusive bounds of a `num` trait (unbounded sides are infinite).
    pub min: f64,
    pub max: f64,
    /// The only values a `label` (or a `list`'s items) may take, when declared.
    pub values: Option<Vec<String>>,
    /// Characters of a label or of each list item.
    pub max_len: usize,
    /// Items of a list.
    pub max_items: usize,
}

/// The declaration as written: `{"kind": "num", "min": 0, "max": 1e7}`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Declaration {
    kind: String,
    min: Option<f64>,
    max: Option<f64>,
    values: Option<Vec<String>>,
    max_len: Option<usize>,
    max_items: Option<usize>,
    #[serde(rename = "description")]
    _description: Option<String>,
}

/// A trait name: 1..48 of `[a-z0-9_]`, starting with a letter.
pub fn is_valid_name(name: &str) -> bool {
    (1..=48).contains(&name.len())
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

impl TraitSpec {
    fn from_declaration(name: &str, value: &Value) -> Result<TraitSpec, SchemaError> {
        let fail = |message: String| SchemaError::Trait {
            name: name.to_string(),
            message,
        };
        if !is_valid_name(name) {
            return Err(fail(
                "bad name: 1..48 of [a-z0-9_], starting with a letter".into(),
            ));
        }
        let declared: Declaration =
            serde_json::from_value(value.clone()).map_err(|e| fail(e.to_string()))?;
        let kind = Kind::parse(&declared.kind).ok_or_else(|| {
            fail(format!(
                "kind {:?}: must be num, label or list",
                declared.kind
            ))
        })?;
        let numeric = declared.min.is_some() || declared.max.is_some();
        if numeric && kind != Kind::Num {
            return Err(fail("min and max apply to num traits only".into()));
        }
        let textual = declared.values.is_some() || declared.max_len.is_some();
        if textual && kind == Kind::Num {
            return Err(fail(
                "values and max_len apply to label and list traits only".into(),
            ));
        }
        if declared.max_items.is_some() && kind != Kind::List {
            return Err(fail("max_items applies to list traits only".into()));
        }
        let min = declared.min.unwrap_or(f64::NEG_INFINITY);
        let max = declared.max.unwrap_or(f64::INFINITY);
        if min.is_nan() || max.is_nan() || min > max {
            return Err(fail(format!("min {min} is above max {max}")));
        }
        let max_len = declared.max_len.unwrap_or(DEFAULT_MAX_LEN);
        if !(1..=MAX_LEN_CEILING).contains(&max_len) {
            return Err(fail(format!("max_len: 1..={MAX_LEN_CEILING}")));
        }
        let max_items = declared.max_items.unwrap_or(DEFAULT_MAX_ITEMS);
        if !(1..=MAX_ITEMS_CEILING).contains(&max_items) {
            return Err(fail(format!("max_items: 1..={MAX_ITEMS_CEILING}")));
        }
        if let Some(values) = &declared.values {
            if values.is_empty() {
                return Err(fail("values: must not be empty".into()));
            }
            if let Some(bad) = values.iter().find(|v| check_text(v, max_len).is_err()) {
                return Err(fail(format!("values: {bad:?} breaks max_len or is empty")));
            }
        }
        Ok(TraitSpec {
            name: name.to_string(),
            kind,
            min,
            max,
            values: declared.values,
            max_len,
            max_items,
        })
    }

    /// Whether `value` fits this declaration.
    pub fn check(&self, value: &Observed) -> Result<(), ValueProblem> {
        match (self.kind, value) {
            (Kind::Num, Observed::Num(x)) => {
                let inside = x.is_finite() && *x >= self.min && *x <= self.max;
                inside.then_some(()).ok_or(ValueProblem::OutOfRange {
                    value: *x,
                    min: self.min,
                    max: self.max,
                })
            }
            (Kind::Label, Observed::Label(text)) => self.check_item(text),
            (Kind::List, Observed::List(items)) => {
                if items.len() > self.max_items {
                    return Err(ValueProblem::TooManyItems(self.max_items));
                }
                items.iter().try_for_each(|item| self.check_item(item))
            }
            (kind, _) => Err(ValueProblem::WrongKind(kind.as_str())),
        }
    }

    fn check_item(&self, text: &str) -> Result<(), ValueProblem> {
        check_text(text, self.max_len)?;
        match &self.values {
            Some(allowed) if !allowed.iter().any(|a| a == text) => {
                Err(ValueProblem::NotAllowed(text.to_string()))
            }
            _ => Ok(()),
        }
    }
}

fn check_text(text: &str, max_len: usize) -> Result<(), ValueProblem> {
    if text.chars().any(char::is_control) {
        return Err(ValueProblem::ControlCharacter);
    }
    match text.chars().count() {
        0 => Err(ValueProblem::Empty),
        n if n > max_len => Err(ValueProblem::TooLong(max_len)),
        _ => Ok(()),
    }
}

/// The declared traits, by name.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TraitSchema {
    specs: Vec<TraitSpec>,
}

impl TraitSchema {
    /// Reads the `traits` object of a rules file (or of a schema file of the same shape).
    pub fn from_value(value: &Value) -> Result<TraitSchema, SchemaError> {
        let Value::Object(declarations) = value else {
            return Err(SchemaError::NotAnObject);
        };
        if declarations.len() > MAX_TRAITS {
            return Err(SchemaError::TooMany(declarations.len()));
        }
        let specs = declarations
            .iter()
            .map(|(name, declaration)| TraitSpec::from_declaration(name, declaration))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(TraitSchema { specs })
    }

    /// The `traits` object of a JSON document (a rules file or a schema file); a
    /// document without one declares no traits.
    pub fn from_document(root: &Map<String, Value>) -> Result<TraitSchema, SchemaError> {
        match root.get("traits") {
            None | Some(Value::Null) => Ok(TraitSchema::default()),
            Some(traits) => TraitSchema::from_value(traits),
        }
    }

    pub fn get(&self, name: &str) -> Option<&TraitSpec> {
        self.specs.iter().find(|s| s.name == name)
    }

    pub fn specs(&self) -> &[TraitSpec] {
        &self.specs
    }

    pub fn is_empty(&self) -> bool {
        self.specs.is_empty()
    }

    /// The declared names, comma-separated, for messages.
    pub fn names(&self) -> String {
        let names: Vec<&str> = self.specs.iter().map(|s| s.name.as_str()).collect();
        names.join(", ")
    }
}
