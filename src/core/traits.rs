//! What the store's history says about a customer (contract section 8): a batch feed of
//! traits (lifetime value, orders, the CRM's own segments) published to KV under the
//! customer's keyed hash, for the edge to read for logged-in customers and show to the
//! rules (and a model that lists them) as `trait.<name>` fields, which the rules and the
//! bundle check already accept.
//!
//! The schema is declared in the rules file's `traits` object (or a schema file of the
//! same shape), so the rules that use a trait and its declaration travel together in
//! the signed bundle. Everything here is pure: the CLI parses and encodes, the worker
//! decodes, with the same functions.

#[cfg(not(target_arch = "wasm32"))]
pub mod feed;
mod schema;
mod value;

pub use schema::{is_valid_name, SchemaError, TraitSchema, TraitSpec, ValueProblem, MAX_TRAITS};
pub use value::{
    field_name, kv_key, StoredValueError, Traits, FIELD_PREFIX, KV_PREFIX, MAX_VALUE_BYTES,
    VALUE_FORMAT,
};

use crate::core::features::Kind;

/// The kind of a `trait.<name>` field declared in `schema`; `None` for any other field.
pub fn field_kind(field: &str, schema: &TraitSchema) -> Option<Kind> {
    let name = field.strip_prefix(FIELD_PREFIX)?;
    schema.get(name).map(|spec| spec.kind)
}

#[cfg(test)]
mod tests {
    use super::feed::{parse, FeedFormat, FeedProblem, ID_FIELD};
    use super::*;
    use crate::core::features::{Features, Observed};

    fn schema() -> TraitSchema {
        TraitSchema::from_value(&serde_json::json!({
            "lifetime_value": { "kind": "num", "min": 0, "max": 1e7 },
            "lifetime_orders": { "kind": "num", "min": 0 },
            "crm_segment": { "kind": "label", "max_len": 16 },
            "loyalty_tier": { "kind": "label", "values": ["bronze", "silver", "gold"] },
            "interests": { "kind": "list", "max_items": 3 }
        }))
        .unwrap()
    }

    #[test]
    fn schemas_are_checked_with_the_trait_named() {
        let bad = |declaration: serde_json::Value| {
            TraitSchema::from_value(&declaration)
                .unwrap_err()
                .to_string()
        };
        assert!(bad(serde_json::json!({ "Bad": { "kind": "num" } })).contains("\"Bad\""));
        assert!(bad(serde_json::json!({ "x": { "kind": "number" } })).contains("kind"));
        assert!(bad(serde_json::json!({ "x": { "kind": "label", "min": 1 } })).contains("min"));
        assert!(
            bad(serde_json::json!({ "x": { "kind": "num", "min": 2, "max": 1 } }))
                .contains("above")
        );
        assert!(bad(serde_json::json!({ "x": { "kind": "num", "colour": 1 } })).contains("colour"));
        assert!(
            bad(serde_json::json!({ "x": { "kind": "label", "values": [] } })).contains("empty")
        );
        assert!(bad(serde_json::json!([])).contains("object"));
        let many: serde_json::Map<_, _> = (0..=MAX_TRAITS)
            .map(|i| (format!("t{i}"), serde_json::json!({ "kind": "num" })))
            .collect();
        assert!(bad(serde_json::Value::Object(many)).contains("at most"));
        let none = TraitSchema::from_document(&serde_json::Map::new()).unwrap();
        assert!(none.is_empty());
        assert_eq!(
            field_kind("trait.crm_segment", &schema()),
            Some(Kind::Label)
        );
        assert_eq!(field_kind("trait.nope", &schema()), None);
        assert_eq!(field_kind("crm_segment", &schema()), None);
    }

    #[test]
    fn a_csv_feed_becomes_checked_records() {
        let text = "customer_id,lifetime_value,crm_segment,interests\n\
                    c-1, 2450.5 ,vip,audio|shoes\n\
                    \n\
                    \"c,2\",,,\n";
        let records = parse(text, FeedFormat::Csv, &schema(), "f1").unwrap();
        assert_eq!(records.len(), 2);
        assert_eq!(records[0].customer_id, "c-1");
        assert_eq!(records[0].line, 2);
        assert_eq!(
            records[0].traits.get("lifetime_value"),
            Some(&Observed::Num(2450.5))
        );
        assert_eq!(
            records[0].traits.get("interests"),
            Some(&Observed::List(vec!["audio".into(), "shoes".into()]))
        );
        assert_eq!(records[1].customer_id, "c,2");
        assert_eq!(records[1].line, 4);
        assert!(
            records[1].traits.is_empty(),
            "empty cells are absent traits"
        );
    }

    #[test]
    fn a_jsonl_feed_becomes_the_same_records() {
        let text = "{\"customer_id\":\"c-1\",\"lifetime_value\":2450.5,\"crm_segment\":\"vip\",\"interests\":[\"audio\",\"shoes\"]}\n\
                    {\"customer_id\":42,\"loyalty_tier\":null}\n";
        let records = parse(text, FeedFormat::Jsonl, &schema(), "f1").unwrap();
        assert_eq!(records.len(), 2);
        let csv = parse(
            "customer_id,lifetime_value,crm_segment,interests\nc-1,2450.5,vip,audio|shoes\n",
            FeedFormat::Csv,
            &schema(),
            "f1",
        )
        .unwrap();
        assert_eq!(records[0].traits, csv[0].traits);
        assert_eq!(records[1].customer_id, "42");
        assert_eq!(FeedFormat::detect("x.ndjson", ""), FeedFormat::Jsonl);
        assert_eq!(FeedFormat::detect("x", " {\"a\":1}"), FeedFormat::Jsonl);
        assert_eq!(FeedFormat::detect("x.CSV", "{"), FeedFormat::Csv);
    }

    /// Each bad row names its line and field; none of the file's records come back.
    #[test]
    fn bad_rows_are_refused_with_line_and_field() {
        let problem = |format: FeedFormat, text: &str| {
            let errors = parse(text, format, &schema(), "f1").unwrap_err().0;
            let first = errors[0].clone();
            (first.line, first.field, first.problem)
        };
        let csv = |rows: &str| {
            problem(
                FeedFormat::Csv,
                &format!("customer_id,lifetime_value,loyalty_tier,interests\n{rows}"),
            )
        };
        assert_eq!(
            csv("a,10,gold,\nb,ten,gold,\n"),
            (
                3,
                "lifetime_value".into(),
                FeedProblem::NotANumber("ten".into())
            )
        );
        assert!(matches!(
            csv("a,-1,,\n"),
            (2, f, FeedProblem::Value(ValueProblem::OutOfRange { .. })) if f == "lifetime_value"
        ));
        assert!(matches!(
            csv("a,1,platinum,\n"),
            (2, f, FeedProblem::Value(ValueProblem::NotAllowed(_))) if f == "loyalty_tier"
        ));
        assert!(matches!(
            csv("a,1,,w|x|y|z\n"),
            (2, f, FeedProblem::Value(ValueProblem::TooManyItems(3))) if f == "interests"
        ));
        assert_eq!(csv(",1,,\n"), (2, ID_FIELD.into(), FeedProblem::MissingId));
        assert_eq!(
            csv("a,1,,\nb,2,,\na,3,,\n"),
            (4, ID_FIELD.into(), FeedProblem::Duplicate(2))
        );
        assert!(matches!(
            csv("a,1,\n"),
            (
                2,
                _,
                FeedProblem::CellCount {
                    found: 3,
                    expected: 4
                }
            )
        ));
        assert!(matches!(
            problem(FeedFormat::Csv, "customer_id,lifetime_valu\na,1\n"),
            (1, f, FeedProblem::Undeclared(_)) if f == "lifetime_valu"
        ));
        assert!(matches!(
            problem(FeedFormat::Csv, "id,lifetime_value\na,1\n"),
            (1, f, FeedProblem::NoIdColumn) if f == "id"
        ));
        assert_eq!(
            problem(FeedFormat::Csv, "customer_id,lifetime_value\n"),
            (1, ID_FIELD.into(), FeedProblem::Empty)
        );
        let jsonl = |rows: &str| problem(FeedFormat::Jsonl, rows);
        assert!(matches!(
            jsonl("{\"customer_id\":\"a\"}\n{\"customer_id\":\"b\",\"crm_segment\":7}\n"),
            (2, f, FeedProblem::Value(ValueProblem::WrongKind("label"))) if f == "crm_segment"
        ));
        assert!(matches!(
            jsonl("{\"customer_id\":\"a\",\"colour\":\"red\"}\n"),
            (1, f, FeedProblem::Undeclared(_)) if f == "colour"
        ));
        assert!(matches!(jsonl("[1]\n"), (1, _, FeedProblem::Json(_))));
        assert!(matches!(
            jsonl("{\"customer_id\":\"a\",\"crm_segment\":\"a-very-long-segment-name\"}"),
            (1, _, FeedProblem::Value(ValueProblem::TooLong(16)))
        ));
        let message = parse(
            "customer_id,lifetime_value\na,x\n",
            FeedFormat::Csv,
            &schema(),
            "f",
        )
        .unwrap_err()
        .to_string();
        assert_eq!(message, "line 2, field lifetime_value: not a number: \"x\"");
    }

    #[test]
    fn stored_values_round_trip_and_bad_ones_are_refused() {
        let mut traits = Traits::default();
        traits.insert("lifetime_value", Observed::Num(2450.5));
        traits.insert("loyalty_tier", Observed::Label("gold".into()));
        traits.insert("interests", Observed::List(vec!["audio".into()]));
        let text = traits.encode("2026-11-25");
        assert_eq!(
            text,
            r#"{"feed":"2026-11-25","traits":{"interests":["audio"],"lifetime_value":2450.5,"loyalty_tier":"gold"},"v":1}"#
        );
        assert_eq!(Traits::decode(&text, &schema()).unwrap(), traits);

        // A trait the schema no longer declares is skipped, not an error.
        let older = r#"{"v":1,"feed":"f","traits":{"retired":3,"lifetime_orders":4}}"#;
        let decoded = Traits::decode(older, &schema()).unwrap();
        assert_eq!(decoded.len(), 1);
        assert_eq!(decoded.get("lifetime_orders"), Some(&Observed::Num(4.0)));

        for bad in [
            "nope",
            r#"{"v":2,"feed":"f","traits":{}}"#,
            r#"{"v":1,"feed":"f"}"#,
            r#"{"v":1,"traits":{"lifetime_value":-5}}"#,
            r#"{"v":1,"traits":{"loyalty_tier":["gold"]}}"#,
        ] {
            assert!(Traits::decode(bad, &schema()).is_err(), "{bad}");
        }
        let huge = format!(
            r#"{{"v":1,"traits":{{}},"pad":"{}"}}"#,
            "x".repeat(MAX_VALUE_BYTES)
        );
        assert!(matches!(
            Traits::decode(&huge, &schema()),
            Err(StoredValueError::TooLarge(_))
        ));
        assert_eq!(kv_key("ab"), "traits/ab");
    }

    #[test]
    fn traits_become_trait_fields() {
        let mut traits = Traits::default();
        traits.insert("crm_segment", Observed::Label("vip".into()));
        let mut features = Features::default();
        traits.apply_to(&mut features);
        assert_eq!(
            features.get("trait.crm_segment"),
            Some(&Observed::Label("vip".into()))
        );
        assert_eq!(features.len(), 1);
    }
}
