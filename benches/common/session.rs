//! A realistic session for benchmarks: a visit from search to the cart, replayed through
//! `core::flow`, as the worker drives it.

use edgeseg::core::config::StoreConfig;
use edgeseg::core::flow::Replay;
use edgeseg::core::page_stats::PageStats;
use edgeseg::core::session::SessionState;
use edgeseg::core::signals::RequestInfo;

/// 2026-11-21 12:00 UTC.
pub const T0: i64 = 1_795_262_400_000;

pub fn browsing_session(config: &StoreConfig, stats: &PageStats) -> SessionState {
    let pages = [
        ("GET", "/", ""),
        ("GET", "/category/audio", "sort=price_asc"),
        ("GET", "/product/301", ""),
        ("GET", "/product/302", ""),
        ("GET", "/search", "q=headphones"),
        ("GET", "/product/302", ""),
        ("POST", "/cart/add", "product=302"),
        ("GET", "/cart", ""),
    ];
    let mut replay = Replay::new(config, stats);
    for (i, (method, path, query)) in pages.iter().enumerate() {
        let now_ms = T0 + 45_000 * i as i64;
        let request = RequestInfo {
            method: (*method).into(),
            host: "shop.example".into(),
            path: (*path).into(),
            query: (*query).into(),
            referrer: Some("https://www.google.com/".into()),
            user_agent: Some("Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/131.0".into()),
            continent: Some("EU".into()),
            now_ms,
            ..RequestInfo::default()
        };
        replay.request(&request);
    }
    replay.state().clone()
}
