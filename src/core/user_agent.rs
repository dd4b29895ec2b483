//! User agent -> device class, OS code and browser code (contract section 1), and bot
//! detection. Substring checks in a deliberate order (iOS before macOS, Edge before
//! Chrome): small and good enough for segmentation, no parser crate in the wasm.

use serde::{Deserialize, Serialize};

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
}
