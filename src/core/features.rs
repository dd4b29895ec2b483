//! Session state -> the named fields of `docs/contracts.md` section 1.

use std::collections::BTreeMap;

/// One field's value as the rules and the model see it.
#[derive(Debug, Clone, PartialEq)]
pub enum Observed {
    Num(f64),
    Label(String),
    List(Vec<String>),
}

/// A session's fields by name. Built by `compute` at the edge, or from explicit values
/// (the CLI's `classify --features`, the golden vectors, tests).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Features {
    values: BTreeMap<String, Observed>,
}

impl Features {
    pub fn get(&self, name: &str) -> Option<&Observed> {
        self.values.get(name)
    }

    pub fn set(&mut self, name: impl Into<String>, value: Observed) {
        self.values.insert(name.into(), value);
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &Observed)> {
        self.values.iter().map(|(k, v)| (k.as_str(), v))
    }
}
