"""docs/contracts.md section 1 on the Python side: every session field with its kind, in
contract order (the Rust `features::FIELDS` holds the same list; tests on both sides
parse the contract and compare)."""
NUM, LABEL, LIST = "num", "label", "list"

FIELDS = [
    ("administrative", NUM), ("administrative_duration", NUM),
    ("informational", NUM), ("informational_duration", NUM),
    ("product_related", NUM), ("product_related_duration", NUM),
    ("bounce_rates", NUM), ("exit_rates", NUM), ("page_values", NUM),
    ("special_day", NUM), ("month", LABEL),
    ("operating_systems", NUM), ("browser", NUM), ("region", NUM), ("traffic_type", NUM),
    ("visitor_type", LABEL), ("weekend", NUM),
    ("page_views", NUM), ("session_duration", NUM), ("searches", NUM), ("price_sorts", NUM),
    ("filter_uses", NUM), ("sale_views", NUM), ("compares", NUM), ("cart_adds", NUM),
    ("cart_removes", NUM), ("checkouts", NUM), ("cart_views", NUM), ("cart_duration", NUM),
    ("checkout_duration", NUM), ("search_duration", NUM), ("distinct_products", NUM),
    ("distinct_categories", NUM), ("avg_price_viewed", NUM), ("max_scroll_depth", NUM),
    ("hovers", NUM), ("previous_visits", NUM), ("is_customer", NUM),
    ("device", LABEL), ("traffic_source", LABEL), ("categories_viewed", LIST),
]
KIND = dict(FIELDS)
# Fields that depend on the date: rules may use them, the intent model never does.
CALENDAR = ("special_day", "month", "weekend")
# Fields from a page-stats table of an earlier window; UCI's own values leak the label.
PAGE_STATS = ("bounce_rates", "exit_rates", "page_values")
