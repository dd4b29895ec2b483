//! Where a visit came from: `utm_*` parameters and click ids first, then the referrer
//! (search engine, social site, webmail, the store itself, anything else).

use serde::{Deserialize, Serialize};

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
    use crate::core::signals::parse_pairs;

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
}
