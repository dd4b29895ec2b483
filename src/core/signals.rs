//! One request -> session events, using the storefront config.
//!
//! The shell describes the request in a [`RequestInfo`] (no HTTP types here); this module
//! decides what it means: a page view of some type, a cart change, or nothing (assets,
//! the worker's own endpoints). It also reads the visit's context: device, OS and
//! browser from the user agent ([`crate::core::user_agent`]), region from the `cf`
//! continent, traffic source from `utm_*` and the referrer ([`crate::core::traffic`]).
//! The beacon's events are parsed in [`crate::core::beacon`].

use serde::{Deserialize, Serialize};

use crate::core::config::{PageType, RouteTarget, StoreConfig, UrlEvent};
pub use crate::core::traffic::{traffic_source, TrafficSource};
pub use crate::core::user_agent::{browser_code, device_class, is_bot, os_code, Device};

/// What the shell knows about one request, without any HTTP library's types.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RequestInfo {
    pub method: String,
    /// The request's host (for `internal` traffic), without port is fine.
    pub host: String,
    /// Path as sent (percent-encoded), starting with `/`.
    pub path: String,
    /// Raw query string without the `?`.
    pub query: String,
    /// The url-encoded body of a small form POST (cart forms), when the shell read it.
    pub form: Option<String>,
    pub referrer: Option<String>,
    pub user_agent: Option<String>,
    /// Cloudflare's `request.cf.continent` (`EU`, `NA`, ...).
    pub continent: Option<String>,
    /// Request time, Unix milliseconds.
    pub now_ms: i64,
}

/// The context of the request's client: kept per visit by the session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ClientContext {
    pub device: Device,
    /// Contract code: 1 Windows, 2 macOS, 3 iOS, 4 Android, 5 Linux, 6 ChromeOS, 0 other.
    pub os: u8,
    /// Contract code: 1 Chrome, 2 Safari, 3 Firefox, 4 Edge, 5 Opera, 6 Samsung, 0 other.
    pub browser: u8,
    /// Contract code: 1 EU, 2 NA, 3 SA, 4 AS, 5 AF, 6 OC, 7 AN, 0 unknown.
    pub region: u8,
    pub traffic_source: TrafficSource,
}

impl ClientContext {
    /// Crawlers and HTTP libraries: the shell may pass them through unclassified.
    pub fn is_bot(&self) -> bool {
        self.device == Device::Bot
    }
}

/// A page view, with what its URL says.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct PageView {
    /// The path (for page stats and dwell matching).
    pub path: String,
    pub page_type: PageType,
    pub product: Option<String>,
    pub category: Option<String>,
    pub price: Option<f64>,
    /// Search query (search pages only).
    pub search_query: Option<String>,
    pub price_sort: bool,
    pub filtered: bool,
    pub sale: bool,
}

/// Something the session counts. Serialisable: the worker hands a request's events to
/// the session's Durable Object.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    /// Any tracked request: activity (visit rollover) and the visit's client context.
    Request(ClientContext),
    PageView(PageView),
    CartAdd {
        product: Option<String>,
    },
    CartRemove {
        product: Option<String>,
    },
    /// Beacon: time spent on a page, replacing the estimate from the next request.
    Dwell {
        page: String,
        ms: u64,
    },
    /// Beacon: scroll depth on a page, 0..=100.
    Scroll {
        page: String,
        depth: u8,
    },
    Compare {
        product: String,
    },
    Hover {
        product: String,
    },
}

/// Whether the request is something the session should see at all.
pub fn is_tracked(req: &RequestInfo, config: &StoreConfig) -> bool {
    !req.method.eq_ignore_ascii_case("HEAD")
        && !req.method.eq_ignore_ascii_case("OPTIONS")
        && !config.ignore.is_ignored(&req.path)
}

/// Why a request is deliberately left untracked: nothing is counted or stored, and the
/// origin is told why (`edgeseg-reason: UNTRACKED;why=<token>`, contract section 4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Untracked {
    /// A crawler, monitor, headless browser or HTTP library.
    Bot,
    /// A static asset or another path the store config ignores.
    Asset,
    /// Not a page view: `HEAD`, `OPTIONS`, or a write the routes do not name.
    NotAPage,
}

impl Untracked {
    /// The `why` parameter on the wire.
    pub fn as_token(self) -> &'static str {
        match self {
            Untracked::Bot => "bot",
            Untracked::Asset => "asset",
            Untracked::NotAPage => "not_a_page",
        }
    }

    /// Why `events` (what [`request_events`] made of `req`) are not tracked, or `None`
    /// when they are.
    pub fn of(req: &RequestInfo, config: &StoreConfig, events: &[Event]) -> Option<Untracked> {
        match events.first() {
            Some(Event::Request(client)) if client.is_bot() => Some(Untracked::Bot),
            Some(_) => None,
            None if config.ignore.is_ignored(&req.path) => Some(Untracked::Asset),
            None => Some(Untracked::NotAPage),
        }
    }
}

/// The events one request produces: `[Request(ctx), PageView | CartAdd | CartRemove]`,
/// or nothing for ignored requests and unrouted non-GET requests.
pub fn request_events(req: &RequestInfo, config: &StoreConfig) -> Vec<Event> {
    if !is_tracked(req, config) {
        return Vec::new();
    }
    let path = req.path.split(['?', '#']).next().unwrap_or("/");
    let is_get = req.method.eq_ignore_ascii_case("GET");
    let query = parse_pairs(&req.query);
    let form = req.form.as_deref().map(parse_pairs).unwrap_or_default();
    let main = match config.route(&req.method, path) {
        Some((route, params)) => {
            let lookup = Lookup {
                path_params: &params,
                query: &query,
                form: &form,
            };
            match route.target {
                RouteTarget::Page(page_type) => {
                    Event::PageView(page_view(path, page_type, &lookup, config))
                }
                RouteTarget::Event(UrlEvent::CartAdd) => Event::CartAdd {
                    product: lookup.product(config),
                },
                RouteTarget::Event(UrlEvent::CartRemove) => Event::CartRemove {
                    product: lookup.product(config),
                },
            }
        }
        None if is_get => {
            let lookup = Lookup {
                path_params: &[],
                query: &query,
                form: &form,
            };
            Event::PageView(page_view(path, PageType::Other, &lookup, config))
        }
        None => return Vec::new(),
    };
    vec![Event::Request(client_context(req)), main]
}

/// Path parameters, then query, then form: where a named value is looked for.
struct Lookup<'a> {
    path_params: &'a [(String, String)],
    query: &'a [(String, String)],
    form: &'a [(String, String)],
}

impl Lookup<'_> {
    fn path_param(&self, name: &str) -> Option<String> {
        self.path_params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| percent_decode(v))
    }

    fn param(&self, names: &[String]) -> Option<&str> {
        [self.query, self.form].into_iter().find_map(|pairs| {
            pairs
                .iter()
                .find(|(k, v)| !v.is_empty() && names.iter().any(|n| n.eq_ignore_ascii_case(k)))
                .map(|(_, v)| v.as_str())
        })
    }

    fn product(&self, config: &StoreConfig) -> Option<String> {
        self.path_param("product")
            .or_else(|| self.param(&config.params.product).map(str::to_string))
            .filter(|p| is_product_id(p))
    }
}

fn page_view(path: &str, page_type: PageType, at: &Lookup<'_>, config: &StoreConfig) -> PageView {
    let params = &config.params;
    let category = at
        .path_param("category")
        .or_else(|| at.param(&params.category).map(str::to_string))
        .and_then(|c| slug(&c));
    let product = if page_type == PageType::Product {
        at.product(config)
    } else {
        None
    };
    let price = if page_type == PageType::Product {
        at.param(&params.price).and_then(parse_price)
    } else {
        None
    };
    let search_query = if page_type == PageType::Search {
        at.param(&params.search)
            .map(str::trim)
            .filter(|q| !q.is_empty())
            .map(|q| q.chars().take(128).collect())
    } else {
        None
    };
    let listing = page_type.is_listing();
    let price_sort = listing
        && at.query.iter().any(|(k, v)| {
            params.sort.iter().any(|n| n.eq_ignore_ascii_case(k)) && params.is_price_sort(v)
        });
    let filtered = listing
        && at
            .query
            .iter()
            .any(|(k, v)| !v.is_empty() && params.is_filter(k));
    let sale = page_type == PageType::Sale || at.param(&params.sale).is_some_and(is_truthy);
    PageView {
        path: path.chars().take(512).collect(),
        page_type,
        product,
        category,
        price,
        search_query,
        price_sort,
        filtered,
        sale,
    }
}

fn is_truthy(v: &str) -> bool {
    ["1", "true", "yes", "on"]
        .iter()
        .any(|t| t.eq_ignore_ascii_case(v.trim()))
}

fn parse_price(v: &str) -> Option<f64> {
    v.trim()
        .parse::<f64>()
        .ok()
        .filter(|p| p.is_finite() && *p >= 0.0 && *p < 10_000_000.0)
}

/// Contract section 5: 1..64 bytes of `[A-Za-z0-9._-]`.
pub fn is_product_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// A category slug: lower-case `[a-z0-9._-]`, other characters as `-`, at most 64.
fn slug(raw: &str) -> Option<String> {
    let s: String = raw
        .trim()
        .chars()
        .take(64)
        .map(|c| {
            let c = c.to_ascii_lowercase();
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '-'
            }
        })
        .collect();
    (!s.is_empty()).then_some(s)
}

/// Splits `a=1&b=x+y` into decoded pairs (tolerant: junk becomes odd pairs, never a panic).
pub fn parse_pairs(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .take(64)
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (percent_decode_form(k), percent_decode_form(v))
        })
        .collect()
}

fn percent_decode_form(s: &str) -> String {
    percent_decode(&s.replace('+', " "))
}

/// `%XX` decoding; invalid escapes are kept as they are, invalid UTF-8 is replaced.
pub fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes.get(i).copied().unwrap_or(0);
        if b == b'%' {
            let hex = bytes
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok());
            if let Some(v) = hex {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(b);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Device, OS, browser, region and traffic source of a request.
pub fn client_context(req: &RequestInfo) -> ClientContext {
    let ua = req.user_agent.as_deref().unwrap_or("");
    ClientContext {
        device: device_class(ua),
        os: os_code(ua),
        browser: browser_code(ua),
        region: region_code(req.continent.as_deref()),
        traffic_source: traffic_source(
            &req.host,
            &parse_pairs(&req.query),
            req.referrer.as_deref(),
        ),
    }
}

pub fn region_code(continent: Option<&str>) -> u8 {
    match continent
        .map(str::trim)
        .map(str::to_ascii_uppercase)
        .as_deref()
    {
        Some("EU") => 1,
        Some("NA") => 2,
        Some("SA") => 3,
        Some("AS") => 4,
        Some("AF") => 5,
        Some("OC") => 6,
        Some("AN") => 7,
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CHROME_WIN: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";

    fn req(method: &str, path: &str, query: &str) -> RequestInfo {
        RequestInfo {
            method: method.into(),
            host: "shop.example".into(),
            path: path.into(),
            query: query.into(),
            user_agent: Some(CHROME_WIN.into()),
            continent: Some("EU".into()),
            now_ms: 1_700_000_000_000,
            ..RequestInfo::default()
        }
    }

    fn main_event(r: &RequestInfo) -> Option<Event> {
        request_events(r, &StoreConfig::default_store())
            .into_iter()
            .nth(1)
    }

    #[test]
    fn product_page() {
        let Some(Event::PageView(v)) = main_event(&req("GET", "/product/sku-42", "price=19.90"))
        else {
            panic!("no page view");
        };
        assert_eq!(v.page_type, PageType::Product);
        assert_eq!(v.product.as_deref(), Some("sku-42"));
        assert_eq!(v.price, Some(19.9));
    }

    #[test]
    fn listing_with_sort_and_filter() {
        let Some(Event::PageView(v)) = main_event(&req(
            "GET",
            "/category/Shoes",
            "sort=price_asc&color=red&page=2",
        )) else {
            panic!("no page view");
        };
        assert_eq!(v.page_type, PageType::Category);
        assert_eq!(v.category.as_deref(), Some("shoes"));
        assert!(v.price_sort && v.filtered && !v.sale);
        let Some(Event::PageView(v)) =
            main_event(&req("GET", "/category/shoes", "sort=newest&color="))
        else {
            panic!("no page view");
        };
        assert!(!v.price_sort && !v.filtered);
    }

    #[test]
    fn search_and_sale() {
        let Some(Event::PageView(v)) = main_event(&req("GET", "/search", "q=red+boots")) else {
            panic!();
        };
        assert_eq!(v.search_query.as_deref(), Some("red boots"));
        let Some(Event::PageView(v)) = main_event(&req("GET", "/sale/winter", "")) else {
            panic!();
        };
        assert!(v.sale && v.page_type == PageType::Sale);
        let Some(Event::PageView(v)) = main_event(&req("GET", "/category/coats", "on_sale=1"))
        else {
            panic!();
        };
        assert!(v.sale);
    }

    #[test]
    fn cart_events_from_urls() {
        assert_eq!(
            main_event(&req("POST", "/cart/add", "product=42")),
            Some(Event::CartAdd {
                product: Some("42".into())
            })
        );
        assert_eq!(
            main_event(&req("POST", "/cart/remove/42", "")),
            Some(Event::CartRemove {
                product: Some("42".into())
            })
        );
        let mut form = req("POST", "/cart/add", "");
        form.form = Some("product_id=7&qty=1".into());
        assert_eq!(
            main_event(&form),
            Some(Event::CartAdd {
                product: Some("7".into())
            })
        );
        // A junk product id is dropped, the event is kept.
        assert_eq!(
            main_event(&req("POST", "/cart/add", "product=%3Cscript%3E")),
            Some(Event::CartAdd { product: None })
        );
    }

    #[test]
    fn ignored_and_other() {
        let c = StoreConfig::default_store();
        assert!(request_events(&req("GET", "/assets/app.js", ""), &c).is_empty());
        assert!(request_events(&req("POST", "/__edgeseg/events", ""), &c).is_empty());
        assert!(request_events(&req("POST", "/newsletter", ""), &c).is_empty());
        assert!(request_events(&req("HEAD", "/", ""), &c).is_empty());
        let events = request_events(&req("GET", "/lookbook", ""), &c);
        assert!(
            matches!(events.first(), Some(Event::Request(ctx)) if ctx.region == 1 && ctx.device == Device::Desktop)
        );
        assert!(
            matches!(events.get(1), Some(Event::PageView(v)) if v.page_type == PageType::Other)
        );
        assert_eq!(events.len(), 2);
    }

    #[test]
    fn untracked_requests_say_why() {
        let c = StoreConfig::default_store();
        let why = |r: RequestInfo| Untracked::of(&r, &c, &request_events(&r, &c));
        assert_eq!(why(req("GET", "/product/42", "")), None);
        assert_eq!(
            why(req("GET", "/assets/app.js", "")),
            Some(Untracked::Asset)
        );
        assert_eq!(why(req("HEAD", "/", "")), Some(Untracked::NotAPage));
        assert_eq!(
            why(req("POST", "/newsletter", "")),
            Some(Untracked::NotAPage)
        );
        let mut headless = req("GET", "/product/42", "");
        headless.user_agent = Some(CHROME_WIN.replace("Chrome/", "HeadlessChrome/"));
        assert_eq!(why(headless), Some(Untracked::Bot));
    }

    #[test]
    fn junk_is_tolerated() {
        assert_eq!(percent_decode("%zz%4"), "%zz%4");
        assert_eq!(percent_decode("a%20b%FF"), "a b\u{FFFD}");
        let pairs = parse_pairs("&&=x&a&b==c");
        assert_eq!(
            pairs,
            vec![
                ("".into(), "x".into()),
                ("a".into(), "".into()),
                ("b".into(), "=c".into())
            ]
        );
        let c = StoreConfig::default_store();
        let _ = request_events(
            &req("GET", "/product/%E0%A4%A", "price=NaN&price=1e400"),
            &c,
        );
        let _ = request_events(&req("GET", "", ""), &c);
        let _ = request_events(&req("", "//", "%"), &c);
    }
}
