//! Transparent rule scoring: the store's segments, written as data.

/// A segment whose every condition held, with the conditions and observed values.
#[derive(Debug, Clone, PartialEq)]
pub struct SegmentMatch {
    pub id: String,
    pub name: String,
    pub priority: i32,
    /// Human-readable conditions with the observed value, e.g. `cart_adds gte 1 [2]`.
    pub conditions: Vec<String>,
}
