//! One request -> session events, using the storefront config.
//!
//! The shell describes the request in a [`RequestInfo`] (no HTTP types here); this module
//! decides what it means: a page view of some type, a cart change, or nothing (assets,
//! the worker's own endpoints). It also reads the visit's context: device, OS and
//! browser from the user agent, region from the `cf` continent, traffic source from
//! `utm_*` and the referrer. The beacon's events are parsed in [`crate::core::beacon`].

use serde::{Deserialize, Serialize};

use crate::core::config::{PageType, RouteTarget, StoreConfig, UrlEvent};

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

/// Device class from the user agent (`device` field).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Device {
    Mobile,
    Tablet,
    Desktop,
    Bot,
    #[default]
    Unknown,
}

impl Device {
    pub fn as_str(self) -> &'static str {
        match self {
            Device::Mobile => "mobile",
            Device::Tablet => "tablet",
            Device::Desktop => "desktop",
            Device::Bot => "bot",
            Device::Unknown => "unknown",
        }
    }
}

/// Where the visit came from (`traffic_source`; `traffic_type` is its code).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TrafficSource {
    #[default]
    Direct,
    Organic,
    Paid,
    Social,
    Email,
    Referral,
    Internal,
}

impl TrafficSource {
    pub fn as_str(self) -> &'static str {
        match self {
            TrafficSource::Direct => "direct",
            TrafficSource::Organic => "organic",
            TrafficSource::Paid => "paid",
            TrafficSource::Social => "social",
            TrafficSource::Email => "email",
            TrafficSource::Referral => "referral",
            TrafficSource::Internal => "internal",
        }
    }

    /// Contract section 1 code: 1 direct .. 7 internal.
    pub fn code(self) -> u8 {
        match self {
            TrafficSource::Direct => 1,
            TrafficSource::Organic => 2,
            TrafficSource::Paid => 3,
            TrafficSource::Social => 4,
            TrafficSource::Email => 5,
            TrafficSource::Referral => 6,
            TrafficSource::Internal => 7,
        }
    }
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
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PageView {
    /// The path (for page stats and dwell matching).
    pub path: String,
    pub page_type: Option<PageType>,
    pub product: Option<String>,
    pub category: Option<String>,
    pub price: Option<f64>,
    /// Search query (search pages only).
    pub search_query: Option<String>,
    pub price_sort: bool,
    pub filtered: bool,
    pub sale: bool,
}

impl PageView {
    pub fn page_type(&self) -> PageType {
        self.page_type.unwrap_or(PageType::Other)
    }
}

/// Something the session counts.
#[derive(Debug, Clone, PartialEq)]
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
        page_type: Some(page_type),
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

const BOT_TOKENS: &[&str] = &[
    "bot",
    "crawl",
    "spider",
    "slurp",
    "headless",
    "lighthouse",
    "facebookexternalhit",
    "python-requests",
    "python-urllib",
    "curl/",
    "wget/",
    "httpclient",
    "go-http-client",
    "java/",
    "okhttp",
    "axios/",
    "node-fetch",
    "scrapy",
    "phantomjs",
    "preview",
    "mediapartners-google",
    "feedfetcher",
    "pingdom",
    "uptime",
    "monitor",
    "archiver",
];

/// Whether the user agent belongs to a crawler, monitor or HTTP library.
pub fn is_bot(ua: &str) -> bool {
    // "cubot" is a phone maker, not a crawler.
    let ua = ua.to_ascii_lowercase().replace("cubot", "");
    BOT_TOKENS.iter().any(|t| ua.contains(t))
}

pub fn device_class(ua: &str) -> Device {
    let lower = ua.to_ascii_lowercase();
    if lower.trim().is_empty() {
        return Device::Unknown;
    }
    if is_bot(&lower) {
        return Device::Bot;
    }
    let has = |t: &str| lower.contains(t);
    if has("ipad")
        || has("tablet")
        || has("kindle")
        || has("silk/")
        || (has("android") && !has("mobile"))
    {
        Device::Tablet
    } else if has("mobi") || has("iphone") || has("ipod") || has("android") || has("windows phone")
    {
        Device::Mobile
    } else if has("windows") || has("macintosh") || has("x11") || has("cros") || has("linux") {
        Device::Desktop
    } else {
        Device::Unknown
    }
}

pub fn os_code(ua: &str) -> u8 {
    let lower = ua.to_ascii_lowercase();
    let has = |t: &str| lower.contains(t);
    if has("windows phone") {
        0
    } else if has("windows") {
        1
    } else if has("iphone") || has("ipad") || has("ipod") {
        3
    } else if has("android") {
        4
    } else if has("cros") {
        6
    } else if has("macintosh") || has("mac os x") {
        2
    } else if has("linux") || has("x11") {
        5
    } else {
        0
    }
}

pub fn browser_code(ua: &str) -> u8 {
    let lower = ua.to_ascii_lowercase();
    let has = |t: &str| lower.contains(t);
    if has("samsungbrowser") {
        6
    } else if has("opr/") || has("opera") || has("opt/") {
        5
    } else if has("edg/") || has("edge/") || has("edga/") || has("edgios/") {
        4
    } else if has("firefox/") || has("fxios/") {
        3
    } else if has("chrome/") || has("crios/") || has("chromium/") {
        1
    } else if has("safari/") {
        2
    } else {
        0
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

const SEARCH_ENGINES: &[&str] = &[
    "google.",
    "bing.",
    "duckduckgo.",
    "yahoo.",
    "yandex.",
    "baidu.",
    "ecosia.",
    "search.brave.",
    "startpage.",
    "qwant.",
    "naver.",
    "seznam.",
];
const SOCIAL_SITES: &[&str] = &[
    "facebook.",
    "fb.",
    "instagram.",
    "t.co",
    "twitter.",
    "x.com",
    "linkedin.",
    "lnkd.in",
    "pinterest.",
    "reddit.",
    "tiktok.",
    "youtube.",
    "youtu.be",
    "snapchat.",
    "threads.net",
    "bsky.app",
    "mastodon.",
    "whatsapp.",
    "telegram.",
];
const WEBMAIL: &[&str] = &[
    "mail.google.",
    "outlook.",
    "mail.yahoo.",
    "mail.proton.",
    "webmail.",
];

/// The visit's traffic source: `utm_medium` (and click ids) first, then the referrer.
pub fn traffic_source(
    host: &str,
    query: &[(String, String)],
    referrer: Option<&str>,
) -> TrafficSource {
    let get = |name: &str| {
        query
            .iter()
            .find(|(k, v)| k.eq_ignore_ascii_case(name) && !v.trim().is_empty())
            .map(|(_, v)| v.trim().to_ascii_lowercase())
    };
    if let Some(medium) = get("utm_medium") {
        let m = medium.as_str();
        return if [
            "cpc",
            "ppc",
            "paid",
            "paidsearch",
            "paid_search",
            "cpm",
            "cpa",
            "display",
            "banner",
            "paid_social",
            "paidsocial",
            "shopping",
            "affiliate",
        ]
        .contains(&m)
        {
            TrafficSource::Paid
        } else if ["email", "e-mail", "e_mail", "newsletter", "mail"].contains(&m) {
            TrafficSource::Email
        } else if [
            "social",
            "social-network",
            "social_network",
            "social-media",
            "sm",
            "social_media",
        ]
        .contains(&m)
        {
            TrafficSource::Social
        } else if m == "organic" {
            TrafficSource::Organic
        } else {
            TrafficSource::Referral
        };
    }
    if get("gclid").is_some()
        || get("msclkid").is_some()
        || get("dclid").is_some()
        || get("gbraid").is_some()
        || get("wbraid").is_some()
    {
        return TrafficSource::Paid;
    }
    if get("fbclid").is_some() || get("ttclid").is_some() {
        return TrafficSource::Social;
    }
    if let Some(source) = get("utm_source") {
        if ["newsletter", "email", "mailchimp", "klaviyo"].contains(&source.as_str()) {
            return TrafficSource::Email;
        }
    }
    let Some(ref_host) = referrer.and_then(url_host) else {
        return if get("utm_source").is_some() {
            TrafficSource::Referral
        } else {
            TrafficSource::Direct
        };
    };
    if same_site(&ref_host, host) {
        return TrafficSource::Internal;
    }
    let matches = |list: &[&str]| {
        list.iter().any(|d| {
            ref_host.starts_with(d)
                || ref_host.contains(&format!(".{d}"))
                || (!d.ends_with('.') && ref_host == *d)
        })
    };
    if matches(WEBMAIL) {
        TrafficSource::Email
    } else if matches(SEARCH_ENGINES) {
        TrafficSource::Organic
    } else if matches(SOCIAL_SITES) {
        TrafficSource::Social
    } else {
        TrafficSource::Referral
    }
}

/// The lower-case host of an absolute URL, without userinfo, port or `www.`.
fn url_host(url: &str) -> Option<String> {
    let rest = url.trim().split_once("://")?.1;
    let authority = rest.split(['/', '?', '#']).next()?;
    let host = authority.rsplit('@').next()?;
    let host = host.split(':').next()?.to_ascii_lowercase();
    (!host.is_empty()).then(|| normal_host(&host))
}

fn normal_host(host: &str) -> String {
    let host = host.split(':').next().unwrap_or("").to_ascii_lowercase();
    host.strip_prefix("www.")
        .map(str::to_string)
        .unwrap_or(host)
}

fn same_site(ref_host: &str, host: &str) -> bool {
    let host = normal_host(host);
    !host.is_empty() && ref_host == host
}

#[cfg(test)]
mod tests {
    use super::*;

    const CHROME_WIN: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";
    const SAFARI_IPHONE: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1";
    const SAMSUNG_TAB: &str = "Mozilla/5.0 (Linux; Android 14; SM-X710) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/26.0 Chrome/122.0.0.0 Safari/537.36";
    const FIREFOX_MAC: &str =
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 14.7; rv:132.0) Gecko/20100101 Firefox/132.0";
    const EDGE_WIN: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0";
    const ANDROID_PHONE: &str = "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36";
    const GOOGLEBOT: &str =
        "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)";

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
    fn user_agents() {
        assert_eq!(
            (
                device_class(CHROME_WIN),
                os_code(CHROME_WIN),
                browser_code(CHROME_WIN)
            ),
            (Device::Desktop, 1, 1)
        );
        assert_eq!(
            (
                device_class(SAFARI_IPHONE),
                os_code(SAFARI_IPHONE),
                browser_code(SAFARI_IPHONE)
            ),
            (Device::Mobile, 3, 2)
        );
        assert_eq!(
            (
                device_class(SAMSUNG_TAB),
                os_code(SAMSUNG_TAB),
                browser_code(SAMSUNG_TAB)
            ),
            (Device::Tablet, 4, 6)
        );
        assert_eq!(
            (
                device_class(FIREFOX_MAC),
                os_code(FIREFOX_MAC),
                browser_code(FIREFOX_MAC)
            ),
            (Device::Desktop, 2, 3)
        );
        assert_eq!(browser_code(EDGE_WIN), 4);
        assert_eq!(device_class(ANDROID_PHONE), Device::Mobile);
        assert_eq!(device_class(GOOGLEBOT), Device::Bot);
        assert_eq!(device_class("curl/8.5.0"), Device::Bot);
        assert_eq!(device_class(""), Device::Unknown);
        assert!(!is_bot("Mozilla/5.0 (Linux; Android 10; CUBOT X30) Mobile"));
    }

    #[test]
    fn traffic_sources() {
        let q = |s: &str| parse_pairs(s);
        let host = "www.shop.example";
        assert_eq!(traffic_source(host, &[], None), TrafficSource::Direct);
        assert_eq!(
            traffic_source(host, &[], Some("https://www.google.com/")),
            TrafficSource::Organic
        );
        assert_eq!(
            traffic_source(host, &[], Some("https://shop.example/cart")),
            TrafficSource::Internal
        );
        assert_eq!(
            traffic_source(host, &[], Some("https://l.facebook.com/x")),
            TrafficSource::Social
        );
        assert_eq!(
            traffic_source(host, &[], Some("https://t.co/abc")),
            TrafficSource::Social
        );
        assert_eq!(
            traffic_source(host, &[], Some("https://blog.example.org/post")),
            TrafficSource::Referral
        );
        assert_eq!(
            traffic_source(host, &[], Some("https://mail.google.com/")),
            TrafficSource::Email
        );
        assert_eq!(
            traffic_source(
                host,
                &q("utm_medium=cpc&utm_source=google"),
                Some("https://www.google.com/")
            ),
            TrafficSource::Paid
        );
        assert_eq!(
            traffic_source(host, &q("utm_medium=email"), None),
            TrafficSource::Email
        );
        assert_eq!(
            traffic_source(host, &q("gclid=abc"), None),
            TrafficSource::Paid
        );
        assert_eq!(
            traffic_source(host, &q("utm_source=partner"), None),
            TrafficSource::Referral
        );
        assert_eq!(
            traffic_source(host, &[], Some("not a url")),
            TrafficSource::Direct
        );
    }

    #[test]
    fn product_page() {
        let Some(Event::PageView(v)) = main_event(&req("GET", "/product/sku-42", "price=19.90"))
        else {
            panic!("no page view");
        };
        assert_eq!(v.page_type(), PageType::Product);
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
        assert_eq!(v.page_type(), PageType::Category);
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
        assert!(v.sale && v.page_type() == PageType::Sale);
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
            matches!(events.get(1), Some(Event::PageView(v)) if v.page_type() == PageType::Other)
        );
        assert_eq!(events.len(), 2);
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
