"""Per-page-class bounce rate, exit rate and page value, estimated from UCI's per-session averages.

UCI only gives each session's average over the pages it viewed. Assuming every page of a class
shares one value, a session's average is its page-class mix times the class values, so the
class values are the non-negative least-squares fit of the averages on the mixes."""
import numpy as np
from scipy.optimize import nnls

CLASSES = ("administrative", "informational", "product_related")
STATS = {"bounce_rate": "bounce_rates", "exit_rate": "exit_rates", "page_value": "page_values"}
# docs/contracts.md section 1: which edge page types count as which UCI page class.
PAGE_TYPE_CLASS = {
    "account": "administrative", "cart": "administrative", "checkout": "administrative",
    "info": "informational",
    "home": "product_related", "category": "product_related", "product": "product_related",
    "search": "product_related", "sale": "product_related",
}


def class_mix(frame) -> tuple:
    counts = frame[list(CLASSES)].astype(float).to_numpy()
    totals = counts.sum(axis=1)
    viewed = totals > 0
    shares = np.zeros_like(counts)
    shares[viewed] = counts[viewed] / totals[viewed, None]
    return shares, viewed, counts


def estimate(frame) -> dict:
    """{class: {stat: value}} plus the page-view-weighted default and fit diagnostics."""
    shares, viewed, counts = class_mix(frame)
    per_class = {c: {} for c in CLASSES}
    fit = {}
    views = counts[viewed].sum(axis=0)
    default = {}
    for stat, column in STATS.items():
        target = frame[column].astype(float).to_numpy()[viewed]
        values, _ = nnls(shares[viewed], target)
        residual = target - shares[viewed] @ values
        fit[stat] = round(float(1 - residual.var() / target.var()), 4)
        for c, v in zip(CLASSES, values):
            per_class[c][stat] = round(float(v), 6)
        default[stat] = round(float(values @ views / views.sum()), 6)
    return {"classes": per_class, "default": default, "r2": fit, "sessions": int(viewed.sum())}


def reconstruct(frame, estimated: dict):
    """What the edge would compute for these sessions from the table: returns a copy with the 3 fields replaced."""
    shares, viewed, _ = class_mix(frame)
    copy = frame.copy()
    for stat, column in STATS.items():
        values = np.array([estimated["classes"][c][stat] for c in CLASSES])
        copy[column] = np.where(viewed, shares @ values, estimated["default"][stat])
    return copy


def page_stats_document(estimated: dict, version: str, rows_note: str) -> dict:
    return {
        "version": version,
        "source": (f"Estimated from UCI Online Shoppers Purchasing Intention (CC BY 4.0), {rows_note}: "
                   "non-negative least squares of each session's BounceRates/ExitRates/PageValues on its "
                   "page-class mix (share of Administrative/Informational/ProductRelated page views), "
                   f"{estimated['sessions']} sessions with at least one page view; R^2 "
                   + ", ".join(f"{k} {v}" for k, v in estimated["r2"].items())
                   + ". Page types map to classes as docs/contracts.md says (account/cart/checkout -> "
                   "administrative; info -> informational; home/category/product/search/sale -> "
                   "product_related); default = page-view-weighted mean of the classes. No per-path data."),
        "default": estimated["default"],
        "page_types": {t: dict(estimated["classes"][c]) for t, c in PAGE_TYPE_CLASS.items()},
        "paths": {},
    }
