//! URL routing of the store config's `routes` section: path patterns with `:params` and
//! a final `*`, each mapped to a page type or a URL event; the first route that accepts
//! the method and matches the path wins.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::core::page_type::PageType;

/// A route that could not be used; `field` is its path in the config (`routes[3].pattern`).
#[derive(Debug, Clone, PartialEq)]
pub struct RouteError {
    pub field: String,
    pub message: String,
}

fn invalid(field: impl Into<String>, message: impl Into<String>) -> RouteError {
    RouteError {
        field: field.into(),
        message: message.into(),
    }
}

/// A state-changing request recognised from its URL alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UrlEvent {
    CartAdd,
    CartRemove,
}

/// What a matched route means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RouteTarget {
    Page(PageType),
    Event(UrlEvent),
}

/// One path segment of a route pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Literal(String),
    Param(String),
}

/// A path pattern: `/product/:product`, `/help/*`. Segments are separated by `/`;
/// `:name` captures one segment; a final `*` matches any rest (including none).
/// Empty segments (double or trailing slashes) are ignored on both sides.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pattern {
    source: String,
    segments: Vec<Segment>,
    tail: bool,
}

impl Pattern {
    pub fn parse(source: &str) -> Result<Pattern, String> {
        if !source.starts_with('/') {
            return Err(format!("{source:?} must start with '/'"));
        }
        let parts: Vec<&str> = source.split('/').filter(|s| !s.is_empty()).collect();
        let mut segments = Vec::with_capacity(parts.len());
        let mut tail = false;
        for (i, part) in parts.iter().enumerate() {
            if *part == "*" {
                if i + 1 != parts.len() {
                    return Err(format!("{source:?}: '*' must be the last segment"));
                }
                tail = true;
            } else if let Some(name) = part.strip_prefix(':') {
                let ok = !name.is_empty()
                    && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
                if !ok {
                    return Err(format!("{source:?}: bad parameter name {part:?}"));
                }
                segments.push(Segment::Param(name.to_string()));
            } else if part.contains('*') || part.contains(':') {
                return Err(format!(
                    "{source:?}: '*' and ':' are only allowed as a whole segment's start"
                ));
            } else {
                segments.push(Segment::Literal(part.to_ascii_lowercase()));
            }
        }
        Ok(Pattern {
            source: source.to_string(),
            segments,
            tail,
        })
    }

    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// The captured `:params` when `path` matches (literals compare case-insensitively).
    pub fn matches(&self, path: &str) -> Option<Vec<(String, String)>> {
        let parts: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        if parts.len() < self.segments.len() || (!self.tail && parts.len() != self.segments.len()) {
            return None;
        }
        let mut params = Vec::new();
        for (segment, part) in self.segments.iter().zip(&parts) {
            match segment {
                Segment::Literal(lit) => {
                    if !lit.eq_ignore_ascii_case(part) {
                        return None;
                    }
                }
                Segment::Param(name) => params.push((name.clone(), (*part).to_string())),
            }
        }
        Some(params)
    }
}

/// A URL route: optional method (none = `GET`/`HEAD`), pattern, and its meaning.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    pub method: Option<String>,
    pub pattern: Pattern,
    pub target: RouteTarget,
}

impl Route {
    fn accepts_method(&self, method: &str) -> bool {
        match &self.method {
            Some(m) => m.eq_ignore_ascii_case(method),
            None => method.eq_ignore_ascii_case("GET") || method.eq_ignore_ascii_case("HEAD"),
        }
    }
}

/// The JSON shape of a route.
#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct RawRoute {
    #[serde(default)]
    method: Option<String>,
    pattern: String,
    #[serde(default)]
    page: Option<PageType>,
    #[serde(default)]
    event: Option<UrlEvent>,
}

/// The first of `routes` accepting `method` and matching `path`, with its captured
/// parameters.
pub fn first_match<'a>(
    routes: &'a [Route],
    method: &str,
    path: &str,
) -> Option<(&'a Route, Vec<(String, String)>)> {
    routes
        .iter()
        .filter(|r| r.accepts_method(method))
        .find_map(|r| r.pattern.matches(path).map(|params| (r, params)))
}

/// The `routes` section of a store config, checked. Errors name the field.
pub fn parse_routes(value: Option<&Value>) -> Result<Vec<Route>, RouteError> {
    let Some(value) = value else {
        return Err(invalid("routes", "missing (a config must list its routes)"));
    };
    let Value::Array(items) = value else {
        return Err(invalid("routes", "must be an array"));
    };
    let mut routes = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let field = format!("routes[{i}]");
        let raw = RawRoute::deserialize(item).map_err(|e| invalid(&field, e.to_string()))?;
        let pattern =
            Pattern::parse(&raw.pattern).map_err(|m| invalid(format!("{field}.pattern"), m))?;
        let target = match (raw.page, raw.event) {
            (Some(page), None) => RouteTarget::Page(page),
            (None, Some(event)) => RouteTarget::Event(event),
            _ => return Err(invalid(&field, "give exactly one of `page` and `event`")),
        };
        let method = match raw.method {
            Some(m) if m.is_empty() || !m.bytes().all(|b| b.is_ascii_alphabetic()) => {
                return Err(invalid(
                    format!("{field}.method"),
                    format!("{m:?} is not an HTTP method"),
                ));
            }
            other => other.map(|m| m.to_ascii_uppercase()),
        };
        routes.push(Route {
            method,
            pattern,
            target,
        });
    }
    Ok(routes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns() {
        assert!(Pattern::parse("nope").is_err());
        assert!(Pattern::parse("/a/*/b").is_err());
        assert!(Pattern::parse("/a/:").is_err());
        assert!(Pattern::parse("/a/b*").is_err());
        let p = Pattern::parse("/blog/*").unwrap();
        assert!(p.matches("/blog").is_some());
        assert!(p.matches("/blog/2026/11/post").is_some());
        assert!(p.matches("/blogs").is_none());
        let root = Pattern::parse("/").unwrap();
        assert!(root.matches("/").is_some());
        assert!(root.matches("").is_some());
        assert!(root.matches("/x").is_none());
    }
}
