"""Command line: `discover` a CSV into cards + report, `apply` cards into a draft rules file."""
import argparse
import json
import sys
from pathlib import Path

from ..json_files import write_json
from . import DiscoveryError
from .columns import load_table
from .discovery import discover
from .report import write_report
from .rules import build_rules_file, load_cards


def _parser():
    parser = argparse.ArgumentParser(
        prog="python -m edgeseg_train.discover",
        description="Find customer/session segments in any CSV and turn them into draft edge rules.")
    sub = parser.add_subparsers(dest="command", required=True)
    d = sub.add_parser("discover", help="cluster a CSV, write cards.json and report.html",
                       description="Cluster rows of a CSV into segments (k-means with silhouette-chosen k, "
                                   "DBSCAN, or a percentile heuristic) and write segment cards and a report.")
    d.add_argument("csv", help="CSV file, one customer or session per row")
    d.add_argument("--fields", help="comma-separated columns to cluster on (3 to 8 recommended); "
                                    "default: every usable column, at most 8 (id-like and constant columns skipped)")
    d.add_argument("--outcome", help="column to report per segment (e.g. a purchase flag); never clustered on")
    d.add_argument("--algorithm", choices=["kmeans", "dbscan", "heuristic"], default="kmeans")
    d.add_argument("--min-clusters", type=int, default=2)
    d.add_argument("--max-clusters", type=int, default=8)
    d.add_argument("--eps", type=float, help="DBSCAN radius (default: 90th pct of k-neighbour distances)")
    d.add_argument("--min-samples", type=int, help="DBSCAN min_samples (default: max(5, 2 x fields))")
    d.add_argument("--seed", type=int, default=0)
    d.add_argument("--keep-names", action="store_true", help="do not snake_case column names")
    d.add_argument("--out", default="segments", help="output folder (default: ./segments)")
    a = sub.add_parser("apply", help="turn cards into a draft rules file (docs/contracts.md section 3)")
    a.add_argument("cards", help="cards.json written by discover")
    a.add_argument("--card", action="append", help="card id or index (repeatable; default: every card)")
    a.add_argument("--out", default="draft_rules.json", help="rules file to write")
    a.add_argument("--version", default="draft", help="version string of the rules file")
    a.add_argument("--priority", type=int, default=50)
    a.add_argument("--strict", action="store_true", help="fail when a field is not an edge field")
    return parser


def run_discover(args) -> None:
    frame = load_table(args.csv, args.keep_names)
    fields = [f.strip() for f in args.fields.split(",") if f.strip()] if args.fields else None
    if fields and not 3 <= len(fields) <= 8:
        print(f"warning: {len(fields)} fields; 3 to 8 give segments that are easy to read and to turn into rules",
              file=sys.stderr)
    outcome = args.outcome
    if outcome and outcome not in frame.columns and not args.keep_names:
        from .columns import snake_case
        outcome = snake_case(outcome)
    document, _, _ = discover(frame, fields, args.algorithm, args.min_clusters, args.max_clusters,
                              args.eps, args.min_samples, args.seed, outcome, Path(args.csv).name)
    out = Path(args.out)
    write_json(out / "cards.json", document)
    write_report(out / "report.html", document)
    noise = " (+ unclustered noise)" if len(document["cards"]) > document["k"] else ""
    print(f"{document['algorithm']}: {document['k']} segments{noise} -> {out / 'cards.json'}, {out / 'report.html'}")
    for card in document["cards"]:
        print(f"  {card['index']}. {card['id']}: {card['size']} rows ({card['percentage']:g}%)")


def run_apply(args) -> None:
    document = load_cards(args.cards)
    rules, warnings = build_rules_file(document, args.card, args.version, args.priority, args.strict)
    for warning in warnings:
        print(f"warning: {warning}", file=sys.stderr)
    write_json(Path(args.out), rules)
    print(f"{len(rules['segments'])} draft rule(s) -> {args.out}")


def main(argv=None) -> int:
    args = _parser().parse_args(argv)
    try:
        run_discover(args) if args.command == "discover" else run_apply(args)
    except DiscoveryError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0
