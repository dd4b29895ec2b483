//! Transparent rule scoring: the store's segments, written as data (contract section 3).
//!
//! A rules file lists segments; each holds when all its `filterRules` hold. Loading
//! checks every condition against the feature schema ([`crate::core::features::FIELDS`])
//! so that a typo fails at deploy time with the segment and field named, never silently
//! at request time.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use thiserror::Error;

use crate::core::features::{field_kind, Features, Kind, Observed};
use crate::core::traits::{self, TraitSchema, FIELD_PREFIX};

/// A segment whose every condition held, with the conditions and observed values.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SegmentMatch {
    pub id: String,
    pub name: String,
    pub priority: i32,
    /// Human-readable conditions with the observed value, e.g. `cart_adds gte 1 [2]`.
    pub conditions: Vec<String>,
}

/// Why a rules file was refused.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum RulesError {
    #[error("rules file is not valid JSON: {0}")]
    Json(String),
    #[error("rules file: {0}")]
    File(String),
    #[error("rules file: {0}")]
    Traits(#[from] traits::SchemaError),
    #[error("segment {segment:?}: {message}")]
    Segment { segment: String, message: String },
    #[error("segment {segment:?}, field {field:?}: {message}")]
    Field {
        segment: String,
        field: String,
        message: String,
    },
}

/// A comparison of contract section 3.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operator {
    Eq,
    Gt,
    Lt,
    Gte,
    Lte,
    In,
    Contains,
}

impl Operator {
    fn parse(text: &str) -> Option<Operator> {
        Some(match text {
            "eq" => Operator::Eq,
            "gt" => Operator::Gt,
            "lt" => Operator::Lt,
            "gte" => Operator::Gte,
            "lte" => Operator::Lte,
            "in" => Operator::In,
            "contains" => Operator::Contains,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Operator::Eq => "eq",
            Operator::Gt => "gt",
            Operator::Lt => "lt",
            Operator::Gte => "gte",
            Operator::Lte => "lte",
            Operator::In => "in",
            Operator::Contains => "contains",
        }
    }
}

/// A condition's operand, already checked against the field's kind.
#[derive(Debug, Clone, PartialEq)]
pub enum Operand {
    Num(f64),
    Text(String),
    Nums(Vec<f64>),
    Texts(Vec<String>),
}

/// One checked condition.
#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    pub field: String,
    pub operator: Operator,
    pub operand: Operand,
}

/// One checked segment.
#[derive(Debug, Clone, PartialEq)]
pub struct Segment {
    pub id: String,
    pub name: String,
    pub description: String,
    pub priority: i32,
    pub conditions: Vec<Condition>,
}

/// A loaded rules file.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleSet {
    version: String,
    segments: Vec<Segment>,
    /// The customer traits the rules may use as `trait.<name>` (contract section 8).
    traits: TraitSchema,
}

const SEGMENT_KEYS: &[&str] = &["id", "name", "description", "priority", "filterRules"];
const RULE_KEYS: &[&str] = &["field", "operator", "value"];

/// The id a segment gets without one: its name lower-cased, every run of
/// non-alphanumerics as `_` (and none at either end).
pub fn default_id(name: &str) -> String {
    let mut id = String::with_capacity(name.len());
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            id.push(c.to_ascii_lowercase());
        } else if !id.ends_with('_') {
            id.push('_');
        }
    }
    id.trim_matches('_').to_string()
}

fn is_valid_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

impl RuleSet {
    /// Parses and checks a rules file.
    pub fn from_json(text: &str) -> Result<RuleSet, RulesError> {
        let root: Value =
            serde_json::from_str(text).map_err(|e| RulesError::Json(e.to_string()))?;
        let Value::Object(root) = root else {
            return Err(RulesError::File("must be a JSON object".into()));
        };
        let version = match root.get("version") {
            Some(Value::String(v))
                if !v.is_empty() && v.len() <= 64 && v.bytes().all(|b| b.is_ascii_graphic()) =>
            {
                v.clone()
            }
            _ => {
                return Err(RulesError::File(
                    "version: must be a non-empty string of printable ASCII, at most 64".into(),
                ))
            }
        };
        let Some(Value::Array(items)) = root.get("segments") else {
            return Err(RulesError::File("segments: must be an array".into()));
        };
        let traits = TraitSchema::from_document(&root)?;
        let mut segments: Vec<Segment> = Vec::with_capacity(items.len());
        for (index, item) in items.iter().enumerate() {
            let segment = parse_segment(index, item, &traits)?;
            if segments.iter().any(|s| s.id == segment.id) {
                return Err(RulesError::Segment {
                    segment: segment.id,
                    message: "duplicate id".into(),
                });
            }
            segments.push(segment);
        }
        Ok(RuleSet {
            version,
            segments,
            traits,
        })
    }

    pub fn version(&self) -> &str {
        &self.version
    }

    pub fn segments(&self) -> &[Segment] {
        &self.segments
    }

    /// The declared customer traits (empty when the file declares none).
    pub fn traits(&self) -> &TraitSchema {
        &self.traits
    }

    /// Every segment whose conditions all hold, highest priority first (file order
    /// among equals), each with its conditions rendered as `field op value [observed]`.
    pub fn evaluate(&self, features: &Features) -> Vec<SegmentMatch> {
        let mut matches: Vec<SegmentMatch> = self
            .segments
            .iter()
            .filter_map(|segment| {
                let mut rendered = Vec::with_capacity(segment.conditions.len());
                for condition in &segment.conditions {
                    let observed = features.get(&condition.field)?;
                    if !holds(condition, observed) {
                        return None;
                    }
                    rendered.push(render(condition, observed));
                }
                Some(SegmentMatch {
                    id: segment.id.clone(),
                    name: segment.name.clone(),
                    priority: segment.priority,
                    conditions: rendered,
                })
            })
            .collect();
        matches.sort_by_key(|m| std::cmp::Reverse(m.priority));
        matches
    }
}

fn parse_segment(index: usize, item: &Value, traits: &TraitSchema) -> Result<Segment, RulesError> {
    let Value::Object(fields) = item else {
        return Err(RulesError::Segment {
            segment: format!("#{index}"),
            message: "must be an object".into(),
        });
    };
    let name = match fields.get("name") {
        Some(Value::String(n)) if !n.trim().is_empty() => n.trim().to_string(),
        _ => {
            return Err(RulesError::Segment {
                segment: segment_label(index, fields),
                message: "name: must be a non-empty string".into(),
            })
        }
    };
    let id = match fields.get("id") {
        None | Some(Value::Null) => default_id(&name),
        Some(Value::String(id)) => id.clone(),
        Some(_) => String::new(),
    };
    let fail = |message: String| RulesError::Segment {
        segment: if id.is_empty() {
            segment_label(index, fields)
        } else {
            id.clone()
        },
        message,
    };
    if !is_valid_id(&id) {
        return Err(fail(format!("bad id {id:?}: 1..64 of [a-z0-9_]")));
    }
    if let Some(unknown) = fields.keys().find(|k| !SEGMENT_KEYS.contains(&k.as_str())) {
        return Err(fail(format!("unknown key {unknown:?}")));
    }
    let description = match fields.get("description") {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(d)) => d.clone(),
        Some(_) => return Err(fail("description: must be a string".into())),
    };
    let priority = match fields.get("priority") {
        None => 0,
        Some(v) => v
            .as_i64()
            .and_then(|p| i32::try_from(p).ok())
            .ok_or_else(|| fail("priority: must be a whole number".into()))?,
    };
    let conditions = match fields.get("filterRules") {
        None => Vec::new(),
        Some(Value::Array(rules)) => rules
            .iter()
            .enumerate()
            .map(|(i, rule)| parse_condition(&id, i, rule, traits))
            .collect::<Result<Vec<_>, _>>()?,
        Some(_) => return Err(fail("filterRules: must be an array".into())),
    };
    Ok(Segment {
        id,
        name,
        description,
        priority,
        conditions,
    })
}

fn segment_label(index: usize, fields: &Map<String, Value>) -> String {
    fields
        .get("id")
        .and_then(Value::as_str)
        .or_else(|| fields.get("name").and_then(Value::as_str))
        .map_or_else(|| format!("#{index}"), str::to_string)
}

fn parse_condition(
    segment: &str,
    index: usize,
    rule: &Value,
    traits: &TraitSchema,
) -> Result<Condition, RulesError> {
    let Value::Object(fields) = rule else {
        return Err(RulesError::Segment {
            segment: segment.into(),
            message: format!("filterRules[{index}]: must be an object"),
        });
    };
    let field = fields.get("field").and_then(Value::as_str).unwrap_or("");
    let fail = |message: String| RulesError::Field {
        segment: segment.into(),
        field: if field.is_empty() {
            format!("filterRules[{index}]")
        } else {
            field.into()
        },
        message,
    };
    if let Some(unknown) = fields.keys().find(|k| !RULE_KEYS.contains(&k.as_str())) {
        return Err(fail(format!("unknown key {unknown:?}")));
    }
    let kind = match field.strip_prefix(FIELD_PREFIX) {
        Some(name) => traits::field_kind(field, traits).ok_or_else(|| {
            fail(format!(
                "trait {name:?} is not declared in the rules file's traits (declared: {})",
                traits.names()
            ))
        })?,
        None => field_kind(field).ok_or_else(|| fail("unknown field".into()))?,
    };
    let op_text = fields.get("operator").and_then(Value::as_str).unwrap_or("");
    let operator =
        Operator::parse(op_text).ok_or_else(|| fail(format!("unknown operator {op_text:?}")))?;
    let value = fields.get("value").unwrap_or(&Value::Null);
    let operand = operand(kind, operator, value).map_err(fail)?;
    Ok(Condition {
        field: field.into(),
        operator,
        operand,
    })
}

/// Checks the value's type against the field's kind and the operator.
fn operand(kind: Kind, operator: Operator, value: &Value) -> Result<Operand, String> {
    let number = |v: &Value| v.as_f64().filter(|f| f.is_finite());
    let text = |v: &Value| v.as_str().map(str::to_string);
    let wrong = |wanted: &str| {
        Err(format!(
            "operator {:?} on a {} field needs {wanted}, got {value}",
            operator.as_str(),
            kind.as_str()
        ))
    };
    let array = |v: &Value| match v {
        Value::Array(items) if !items.is_empty() => Some(items.clone()),
        _ => None,
    };
    match (kind, operator) {
        (Kind::Num, Operator::Eq | Operator::Gt | Operator::Lt | Operator::Gte | Operator::Lte) => {
            number(value)
                .map(Operand::Num)
                .map_or_else(|| wrong("a number"), Ok)
        }
        (Kind::Num, Operator::In) => array(value)
            .and_then(|items| items.iter().map(number).collect::<Option<Vec<_>>>())
            .map(Operand::Nums)
            .map_or_else(|| wrong("a non-empty array of numbers"), Ok),
        (Kind::Label, Operator::Eq | Operator::Contains) | (Kind::List, Operator::Contains) => {
            text(value)
                .map(Operand::Text)
                .map_or_else(|| wrong("a string"), Ok)
        }
        (Kind::Label, Operator::In) => array(value)
            .and_then(|items| items.iter().map(text).collect::<Option<Vec<_>>>())
            .map(Operand::Texts)
            .map_or_else(|| wrong("a non-empty array of strings"), Ok),
        _ => Err(format!(
            "operator {:?} does not apply to a {} field",
            operator.as_str(),
            kind.as_str()
        )),
    }
}

fn same(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0)
}

fn holds(condition: &Condition, observed: &Observed) -> bool {
    match (observed, &condition.operand) {
        (Observed::Num(x), Operand::Num(v)) => match condition.operator {
            Operator::Eq => same(*x, *v),
            Operator::Gt => *x > *v,
            Operator::Lt => *x < *v,
            Operator::Gte => *x >= *v || same(*x, *v),
            Operator::Lte => *x <= *v || same(*x, *v),
            Operator::In | Operator::Contains => false,
        },
        (Observed::Num(x), Operand::Nums(vs)) => vs.iter().any(|v| same(*x, *v)),
        (Observed::Label(x), Operand::Text(v)) => match condition.operator {
            Operator::Eq => x == v,
            Operator::Contains => x.contains(v.as_str()),
            _ => false,
        },
        (Observed::Label(x), Operand::Texts(vs)) => vs.contains(x),
        (Observed::List(xs), Operand::Text(v)) => xs.contains(v),
        _ => false,
    }
}

/// A number as the conditions show it: at most 3 decimals, no trailing zeros.
pub fn format_number(x: f64) -> String {
    if !x.is_finite() {
        return "0".into();
    }
    let s = format!("{:.3}", (x * 1000.0).round() / 1000.0);
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" {
        "0".into()
    } else {
        s.to_string()
    }
}

fn render_operand(operand: &Operand) -> String {
    match operand {
        Operand::Num(v) => format_number(*v),
        Operand::Text(t) => t.clone(),
        Operand::Nums(vs) => format!(
            "({})",
            vs.iter()
                .map(|v| format_number(*v))
                .collect::<Vec<_>>()
                .join(" ")
        ),
        Operand::Texts(ts) => format!("({})", ts.join(" ")),
    }
}

fn render_observed(observed: &Observed) -> String {
    const SHOWN: usize = 5;
    match observed {
        Observed::Num(x) => format_number(*x),
        Observed::Label(l) => l.clone(),
        Observed::List(items) => {
            let mut shown: Vec<&str> = items.iter().take(SHOWN).map(String::as_str).collect();
            if items.len() > SHOWN {
                shown.push("...");
            }
            shown.join(" ")
        }
    }
}

/// `field op value [observed]`, e.g. `cart_adds gte 1 [2]`.
fn render(condition: &Condition, observed: &Observed) -> String {
    format!(
        "{} {} {} [{}]",
        condition.field,
        condition.operator.as_str(),
        render_operand(&condition.operand),
        render_observed(observed)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::features::FIELDS;

    const DEFAULT_RULES: &str = include_str!("../../model/rules.json");

    /// A session's features: all fields at their "nothing happened" values, then `set`.
    fn features(set: &[(&str, Observed)]) -> Features {
        let mut f = Features::default();
        for (name, kind) in FIELDS {
            let value = match kind {
                Kind::Num => Observed::Num(0.0),
                Kind::Label => Observed::Label(String::new()),
                Kind::List => Observed::List(Vec::new()),
            };
            f.set(*name, value);
        }
        f.set("visitor_type", Observed::Label("Returning_Visitor".into()));
        f.set("device", Observed::Label("desktop".into()));
        for (name, value) in set {
            f.set(*name, value.clone());
        }
        f
    }

    fn ids(matches: &[SegmentMatch]) -> Vec<&str> {
        matches.iter().map(|m| m.id.as_str()).collect()
    }

    #[test]
    fn contract_example() {
        let rules = RuleSet::from_json(
            r#"{ "version": "2026.11.21-1", "segments": [
            { "id": "cart_abandoner", "name": "Cart abandoner", "description": "Added to cart, has not checked out",
              "priority": 90,
              "filterRules": [ { "field": "cart_adds", "operator": "gte", "value": 1 },
                               { "field": "checkouts", "operator": "eq", "value": 0 } ] } ] }"#,
        )
        .unwrap();
        assert_eq!(rules.version(), "2026.11.21-1");
        let matches = rules.evaluate(&features(&[("cart_adds", Observed::Num(2.0))]));
        assert_eq!(
            matches,
            vec![SegmentMatch {
                id: "cart_abandoner".into(),
                name: "Cart abandoner".into(),
                priority: 90,
                conditions: vec!["cart_adds gte 1 [2]".into(), "checkouts eq 0 [0]".into()],
            }]
        );
    }

    #[test]
    fn default_rules_load_and_match_sample_sessions() {
        let rules = RuleSet::from_json(DEFAULT_RULES).unwrap();
        assert_eq!(rules.version(), "2026.11.21-1");
        assert!((12..=16).contains(&rules.segments().len()));
        assert!(rules.segments().iter().all(|s| !s.description.is_empty()));

        // A new mobile visitor who added to the cart.
        let m = rules.evaluate(&features(&[
            ("cart_adds", Observed::Num(1.0)),
            ("visitor_type", Observed::Label("New_Visitor".into())),
            ("device", Observed::Label("mobile".into())),
        ]));
        assert_eq!(
            ids(&m),
            vec!["cart_abandoner", "new_visitor", "mobile_browser"]
        );
        assert_eq!(m[2].conditions, vec!["device in (mobile tablet) [mobile]"]);

        // A bargain hunter who filters, too.
        let m = rules.evaluate(&features(&[
            ("sale_views", Observed::Num(2.0)),
            ("price_sorts", Observed::Num(1.0)),
            ("filter_uses", Observed::Num(3.0)),
        ]));
        assert_eq!(ids(&m), vec!["bargain_hunter", "price_sensitive"]);

        // A logged-in researcher close to Black Friday.
        let m = rules.evaluate(&features(&[
            ("is_customer", Observed::Num(1.0)),
            ("distinct_products", Observed::Num(6.0)),
            ("product_related_duration", Observed::Num(412.5)),
            ("special_day", Observed::Num(0.8)),
        ]));
        assert_eq!(
            ids(&m),
            vec!["returning_customer", "researcher", "special_day_shopper"]
        );
        assert_eq!(
            m[1].conditions[1],
            "product_related_duration gte 180 [412.5]"
        );

        // A window shopper; an empty returning desktop session matches nothing.
        let m = rules.evaluate(&features(&[
            ("product_related", Observed::Num(7.0)),
            ("distinct_categories", Observed::Num(3.0)),
        ]));
        assert_eq!(ids(&m), vec!["window_shopper"]);
        assert!(rules.evaluate(&features(&[])).is_empty());
        // Missing fields never match.
        assert!(rules.evaluate(&Features::default()).is_empty());
    }

    /// The store's existing segments, written on customer traits: they match on the
    /// traits alone, show the trait values, and never match without traits.
    #[test]
    fn default_rules_use_declared_traits() {
        let rules = RuleSet::from_json(DEFAULT_RULES).unwrap();
        assert!(rules.traits().get("lifetime_value").is_some());
        let with = |traits: &[(&str, Observed)]| {
            let mut set: Vec<(String, Observed)> = traits
                .iter()
                .map(|(n, v)| (format!("trait.{n}"), v.clone()))
                .collect();
            set.push(("is_customer".into(), Observed::Num(1.0)));
            let mut f = features(&[]);
            for (name, value) in set {
                f.set(name, value);
            }
            rules.evaluate(&f)
        };
        let m = with(&[("lifetime_value", Observed::Num(2450.5))]);
        assert_eq!(ids(&m), vec!["high_value_customer", "returning_customer"]);
        assert_eq!(
            m[0].conditions,
            vec!["trait.lifetime_value gte 1000 [2450.5]"]
        );
        let m = with(&[
            ("lifetime_orders", Observed::Num(14.0)),
            ("days_since_last_order", Observed::Num(12.0)),
        ]);
        assert_eq!(ids(&m), vec!["frequent_buyer", "returning_customer"]);
        let m = with(&[
            ("lifetime_orders", Observed::Num(3.0)),
            ("days_since_last_order", Observed::Num(400.0)),
        ]);
        assert_eq!(ids(&m), vec!["lapsed_customer", "returning_customer"]);
        assert_eq!(ids(&with(&[])), vec!["returning_customer"]);
    }

    #[test]
    fn trait_fields_must_be_declared_with_their_kind() {
        let load = |traits: &str, field: &str, value: &str| {
            RuleSet::from_json(&format!(
                r#"{{"version":"t","traits":{traits},"segments":[{{"id":"s1","name":"S",
                "filterRules":[{{"field":"{field}","operator":"eq","value":{value}}}]}}]}}"#
            ))
        };
        let declared = r#"{"tier":{"kind":"label"}}"#;
        assert!(load(declared, "trait.tier", "\"gold\"").is_ok());
        let e = load(declared, "trait.tiers", "\"gold\"")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("\"s1\"") && e.contains("\"tiers\"") && e.contains("not declared"),
            "{e}"
        );
        let e = load(declared, "trait.tier", "1").unwrap_err().to_string();
        assert!(e.contains("needs a string"), "{e}");
        let e = load(r#"{"Tier":{"kind":"label"}}"#, "trait.tier", "1")
            .unwrap_err()
            .to_string();
        assert!(e.contains("\"Tier\""), "{e}");
        let e = RuleSet::from_json(
            r#"{"version":"t","segments":[{"name":"S","filterRules":[{"field":"trait.x","operator":"eq","value":1}]}]}"#,
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("not declared"), "{e}");
    }

    #[test]
    fn operators() {
        let rules = RuleSet::from_json(
            r#"{"version":"t","segments":[
            {"name":"Everyone!","priority":1},
            {"name":"Shoes","filterRules":[{"field":"categories_viewed","operator":"contains","value":"shoes"}]},
            {"name":"Nov","priority":5,"filterRules":[{"field":"month","operator":"contains","value":"No"},
                                       {"field":"region","operator":"in","value":[1,2]},
                                       {"field":"hovers","operator":"lt","value":3},
                                       {"field":"hovers","operator":"lte","value":2},
                                       {"field":"hovers","operator":"gt","value":1}]}]}"#,
        )
        .unwrap();
        let f = features(&[
            (
                "categories_viewed",
                Observed::List(vec!["bags".into(), "shoes".into()]),
            ),
            ("month", Observed::Label("Nov".into())),
            ("region", Observed::Num(2.0)),
            ("hovers", Observed::Num(2.0)),
        ]);
        let m = rules.evaluate(&f);
        assert_eq!(ids(&m), vec!["nov", "everyone", "shoes"]);
        assert!(m[1].conditions.is_empty());
        assert_eq!(
            m[2].conditions,
            vec!["categories_viewed contains shoes [bags shoes]"]
        );
        assert_eq!(m[0].conditions[1], "region in (1 2) [2]");
    }

    #[test]
    fn load_errors_name_segment_and_field() {
        let load = |segments: &str| {
            RuleSet::from_json(&format!(r#"{{"version":"t","segments":[{segments}]}}"#))
                .unwrap_err()
                .to_string()
        };
        let rule = |field: &str, op: &str, value: &str| {
            load(&format!(
                r#"{{"id":"s1","name":"S","filterRules":[{{"field":"{field}","operator":"{op}","value":{value}}}]}}"#
            ))
        };
        let e = rule("cart_add", "gte", "1");
        assert!(
            e.contains("\"s1\"") && e.contains("\"cart_add\"") && e.contains("unknown field"),
            "{e}"
        );
        let e = rule("cart_adds", "gtee", "1");
        assert!(
            e.contains("\"cart_adds\"") && e.contains("unknown operator"),
            "{e}"
        );
        assert!(rule("cart_adds", "gte", "\"1\"").contains("needs a number"));
        assert!(rule("device", "eq", "1").contains("needs a string"));
        assert!(rule("device", "gt", "\"a\"").contains("does not apply"));
        assert!(rule("categories_viewed", "eq", "\"a\"").contains("does not apply"));
        assert!(rule("region", "in", "[]").contains("non-empty array"));
        assert!(rule("region", "in", "[1,\"x\"]").contains("non-empty array"));
        let e = load(r#"{"name":"A"},{"name":"a"}"#);
        assert!(e.contains("\"a\"") && e.contains("duplicate"), "{e}");
        assert!(load(r#"{"id":"Bad-Id","name":"x"}"#).contains("bad id"));
        assert!(load(r#"{"name":"x","filterRule":[]}"#).contains("unknown key"));
        assert!(load(r#"{"name":""}"#).contains("name"));
        assert!(load(r#"{"name":"x","priority":1.5}"#).contains("priority"));
        assert!(RuleSet::from_json("{}").is_err());
        assert!(RuleSet::from_json("nope").is_err());
    }

    #[test]
    fn ids_and_numbers() {
        assert_eq!(default_id("Cart abandoner"), "cart_abandoner");
        assert_eq!(default_id("  High--value (VIP)!"), "high_value_vip");
        assert_eq!(format_number(2.0), "2");
        assert_eq!(format_number(0.1 + 0.2), "0.3");
        assert_eq!(format_number(-0.0001), "0");
        assert_eq!(format_number(12.34567), "12.346");
        assert_eq!(format_number(f64::NAN), "0");
    }
}
