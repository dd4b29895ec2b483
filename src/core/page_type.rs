//! The page vocabulary: the kinds of page a route names and the session counts, used by
//! signals, session, features and the page-stats table alike.

use serde::{Deserialize, Serialize};

/// The kind of a page, as the session aggregates count it.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum PageType {
    Home,
    Category,
    Product,
    Search,
    Cart,
    Checkout,
    Account,
    Info,
    Sale,
    #[default]
    Other,
}

impl PageType {
    pub const ALL: [PageType; 10] = [
        PageType::Home,
        PageType::Category,
        PageType::Product,
        PageType::Search,
        PageType::Cart,
        PageType::Checkout,
        PageType::Account,
        PageType::Info,
        PageType::Sale,
        PageType::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            PageType::Home => "home",
            PageType::Category => "category",
            PageType::Product => "product",
            PageType::Search => "search",
            PageType::Cart => "cart",
            PageType::Checkout => "checkout",
            PageType::Account => "account",
            PageType::Info => "info",
            PageType::Sale => "sale",
            PageType::Other => "other",
        }
    }

    /// Listing pages: where sorting and filtering are counted.
    pub fn is_listing(self) -> bool {
        matches!(self, PageType::Category | PageType::Search | PageType::Sale)
    }
}
