"""A one-file HTML report: sizes, feature profiles and silhouette by k, PNGs embedded as base64."""
import base64
import html
import io

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

PNG_METADATA = {"Software": None}  # no version string: reruns give identical bytes


def _png(figure) -> str:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=90, bbox_inches="tight", metadata=PNG_METADATA)
    plt.close(figure)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def sizes_plot(cards) -> str:
    figure, axis = plt.subplots(figsize=(7, 0.5 + 0.45 * len(cards)))
    axis.barh([c["name"] for c in cards][::-1], [c["size"] for c in cards][::-1], color="#4c78a8")
    for y, card in enumerate(cards[::-1]):
        axis.text(card["size"], y, f" {card['percentage']:g}%", va="center", fontsize=8)
    axis.set_xlabel("rows")
    axis.set_title("Segment sizes")
    return _png(figure)


def profile_plot(cards) -> str:
    """Heat map of each segment's standardised difference from the population, per field."""
    features = sorted({c["feature"] for card in cards for c in card["characteristics"]})
    grid = np.zeros((len(cards), len(features)))
    for i, card in enumerate(cards):
        for c in card["characteristics"]:
            sign = -1 if c.get("direction") == "low" else 1
            grid[i, features.index(c["feature"])] = sign * abs(c["effect"])
    limit = max(1.0, float(np.abs(grid).max()))
    figure, axis = plt.subplots(figsize=(1.2 + 1.1 * len(features), 1 + 0.5 * len(cards)))
    image = axis.imshow(grid, cmap="RdBu_r", vmin=-limit, vmax=limit, aspect="auto")
    axis.set_xticks(range(len(features)), [f.replace("_", "\n") for f in features], fontsize=8)
    axis.set_yticks(range(len(cards)), [c["name"] for c in cards], fontsize=8)
    for i in range(len(cards)):
        for j in range(len(features)):
            axis.text(j, i, f"{grid[i, j]:+.2f}", ha="center", va="center", fontsize=7)
    figure.colorbar(image, label="difference from population (std units)")
    axis.set_title("Feature profiles against the population")
    return _png(figure)


def silhouette_plot(scores: dict, chosen: int) -> str:
    figure, axis = plt.subplots(figsize=(6, 3))
    ks = sorted(scores)
    axis.plot(ks, [scores[k] for k in ks], marker="o")
    axis.axvline(chosen, color="#e45756", linestyle="--", label=f"chosen k={chosen}")
    axis.set_xlabel("k")
    axis.set_ylabel("silhouette")
    axis.set_title("Silhouette by k (k-means)")
    axis.legend()
    return _png(figure)


def _card_html(card) -> str:
    rules = "<br>".join(html.escape(f"{r['field']} {r['operator']} {r['value']}") for r in card["filterRules"]) or "(everyone)"
    chars = "".join(
        f"<tr><td>{html.escape(c['feature'])}</td><td>{html.escape(str(c['value']))}</td>"
        f"<td>{html.escape(str(c['population']))}</td><td>{c['effect']:+.2f}</td><td>{c['importance']:.2f}</td></tr>"
        for c in card["characteristics"])
    return (f"<section><h3>{card['index']}. {html.escape(card['name'])} <code>{html.escape(card['id'])}</code></h3>"
            f"<p>{html.escape(card['description'])}</p><p><b>Draft rules:</b> {rules} "
            f"(catch {card['ruleMatch']['coverage']:.0%} of the segment, {card['ruleMatch']['precision']:.0%} of matches are in it)</p>"
            f"<p><b>Suggested use:</b> {html.escape(card['suggestedUse'])}</p>"
            f"<table><tr><th>feature</th><th>segment</th><th>population</th><th>effect</th><th>importance</th></tr>{chars}</table></section>")


def write_report(path, document: dict) -> None:
    cards = document["cards"]
    images = [("Segment sizes", sizes_plot(cards))]
    if any(card["characteristics"] for card in cards):
        images.append(("Feature profiles", profile_plot(cards)))
    if document.get("silhouetteByK"):
        images.append(("Silhouette by k", silhouette_plot(
            {int(k): v for k, v in document["silhouetteByK"].items()}, document["k"])))
    figures = "".join(f'<figure><img alt="{html.escape(t)}" src="data:image/png;base64,{b}"></figure>' for t, b in images)
    fields = ", ".join(f"{f['name']} ({f['kind']}{', log1p' if f.get('log') else ''})" for f in document["fields"])
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Segment discovery: {html.escape(document['source'])}</title>
<style>body{{font-family:system-ui,sans-serif;max-width:1000px;margin:2em auto;padding:0 1em}}
table{{border-collapse:collapse}}td,th{{border:1px solid #ccc;padding:2px 8px;font-size:90%}}
img{{max-width:100%}}code{{background:#eee;padding:0 4px}}</style></head><body>
<h1>Segment discovery</h1>
<p>Source <code>{html.escape(document['source'])}</code>, {document['rows']} rows. Fields: {html.escape(fields)}.
Algorithm <b>{html.escape(document['algorithm'])}</b>, {document['k']} segments{html.escape(document.get('note') or '')}.
Names are the top characteristics by |effect| (standardised difference from the population, |effect| &ge; 0.25).</p>
{figures}
<h2>Segment cards</h2>
{''.join(_card_html(c) for c in cards)}
</body></html>
"""
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(page)
