"""The whole run: visits replayed by the edge's own code -> teacher on behaviour, documented
priors for the funnel -> segments -> calibrated student -> ONNX -> evaluation -> bundle + card."""
import json
import os
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression

from . import data, encoding, paths, priors, replay
from .bundle_manifest import write_manifest
from .discover.discovery import discover
from .discover.report import write_report
from .discover.rules import build_rules_file
from .drift_reference import drift_reference
from .golden import build_golden, check_golden
from .json_files import write_json
from .metrics import bootstrap_auc, by_prefix, score
from .model_card import write_model_card
from .onnx_export import run_onnx, student_to_onnx
from .page_stats import estimate, page_stats_document
from .segment_names import name_cards
from .student import HIDDEN, Student, StudentConfig
from .teacher import Teacher

VERSION = os.environ.get("EDGESEG_MODEL_VERSION", "2026.11.25-1")
MAX_ONNX_BYTES = 64 * 1024
# Where a visit's effort went and how long it lasted: what k-means groups visits by.
SEGMENT_FIELDS = ["product_related", "product_related_duration", "informational", "administrative"]
SEGMENTS_K = (3, 6)
# Request prefixes kept per training visit (plus its end): the early requests, where intent
# moves most, densely; long visits sparsely. Each visit's kept rows share a weight of 1.
KEPT_PREFIXES = (1, 2, 3, 4, 5, 6, 8, 10, 12, 15, 20, 25, 30, 40, 50, 65, 80, 100, 130, 160, 200, 300, 400, 500)
# Weight of one funnel copy (cart, checkout) of a visit next to the visit itself.
FUNNEL_WEIGHT = 0.25
CALIBRATION_SHARE = 0.1
SEED = 0
STUDENT_CONFIG = StudentConfig()
DATA_SOURCE = "UCI Online Shoppers Purchasing Intention (CC BY 4.0)"
ATTRIBUTION = ("Sakar, C.O., Polat, S.O., Katircioglu, M. et al. Real-time prediction of online "
               "shoppers' purchasing intention using multilayer perceptron and LSTM recurrent "
               "neural networks. Neural Computing and Applications 31, 6893-6908 (2019). UCI "
               "Machine Learning Repository, dataset 468, CC BY 4.0.")


def log(message: str) -> None:
    print(f"[pipeline] {message}", flush=True)


def visit_weighted(rows: pd.DataFrame) -> pd.DataFrame:
    """Each row of a visit (its kept prefixes and its end) weighted 1 / the visit's rows."""
    count = rows.groupby(["visit", "variant"])["requests"].transform("size")
    return rows.assign(weight=1.0 / count)


def calibration_visits(visits: np.ndarray) -> set:
    """A seeded share of the training visits, held out of the student to fit its calibration."""
    rng = np.random.default_rng(SEED)
    chosen = rng.random(len(visits)) < CALIBRATION_SHARE
    return set(visits[chosen])


def funnel_targets(funnel: pd.DataFrame, behaviour: pd.Series, ratios: dict) -> pd.DataFrame:
    """Funnel rows (after the inserted cart add) with their prior-raised targets and weights."""
    funnel = funnel[funnel["cart_adds"] > 0]
    p = funnel["visit"].map(behaviour).to_numpy()
    target = priors.apply(p, priors.funnel_stage(funnel), ratios)
    count = funnel.groupby(["visit", "variant"])["requests"].transform("size")
    return funnel.assign(target=target, weight=FUNNEL_WEIGHT / count)


def platt(logit: np.ndarray, label: np.ndarray) -> tuple:
    model = LogisticRegression(C=1e6, max_iter=1000).fit(logit[:, None], label)
    return float(model.coef_[0, 0]), float(model.intercept_[0])


def otto_comparison(rows: pd.DataFrame, scores: np.ndarray) -> dict:
    """Intent against cart-add counts on the OTTO sample's visits (`session/k`), each cut
    before its first order: the visit's own cart adds (what the edge counts) and those of
    the session's visits so far, each up to its cut."""
    end = rows.assign(score=scores)[rows["end"] == 1].copy()
    end["session"] = end["visit"].str.split("/").str[0]
    end["number"] = end["visit"].str.split("/").str[1].astype(int)
    end = end.sort_values(["session", "number"])
    session_carts = end.groupby("session")["cart_adds"].cumsum()
    label = end["ordered"].to_numpy()
    report = bootstrap_auc(label, {"intent": end["score"].to_numpy(),
                                   "cart_adds_in_visit": end["cart_adds"].to_numpy(),
                                   "cart_adds_in_session": session_carts.to_numpy()})
    return {"visits": int(len(end)), "sessions": int(end["session"].nunique()),
            "ordering": int(label.sum()), **report}


def manifest_document(csv: Path, rows: int, specs, cards, metrics, golden, prior_document,
                      store_rows=None) -> dict:
    source = {"source": DATA_SOURCE, "file": csv.name, "sha256": data.file_sha256(csv), "rows": rows,
              "attribution": ATTRIBUTION}
    if store_rows is not None:
        source["store_records"] = {"visits": int(store_rows["visit"].nunique()), "rows": int(len(store_rows))}
    return {
        "format": 1, "name": "edgeseg-intent", "version": VERSION, "created": None, "files": {},
        "data": source,
        "model": {"file": "model.onnx", "input": "features", "width": encoding.width(specs),
                  "intent_output": "intent", "segment_output": "segment"},
        "features": [s.to_manifest() for s in specs],
        "segments": [{"id": c["id"], "name": c["name"], "description": c["description"],
                      "card": f"segments/cards.json#{c['index']}"} for c in cards["cards"]],
        "priors": {k: v for k, v in prior_document.items() if k in priors.STAGES},
        "metrics": metrics,
        "golden": golden,
    }


def run() -> None:
    model_dir = paths.MODEL_DIR
    model_dir.mkdir(parents=True, exist_ok=True)  # EDGESEG_MODEL_OUT may name a new folder
    csv, otto = paths.uci_csv(), paths.otto_jsonl()
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(os.environ.get("EDGESEG_REPLAY_DIR") or scratch)
        train_rows = replay.uci_rows(csv, "train", "own", work, funnel=True, prefixes=KEPT_PREFIXES)
        test_own = replay.uci_rows(csv, "test", "own", work)
        test_weekday = replay.uci_rows(csv, "test", "weekday", work)
        otto_rows = replay.otto_rows(otto, work)
        records = paths.records_dir()
        store_rows = replay.record_rows(records, work) if records else None
    if store_rows is not None:
        # The store's own visits train beside the shipped ones, as plain visits (their ids,
        # r1, r2, ..., never meet UCI's row numbers).
        train_rows = pd.concat([train_rows, store_rows], ignore_index=True)
        log(f"{store_rows['visit'].nunique()} visits ({len(store_rows)} rows) from the training records in {records}")
    log(f"replayed {train_rows['visit'].nunique()} training and {test_own['visit'].nunique()} test visits "
        f"of {csv.name}, {otto_rows['visit'].nunique()} OTTO visits")

    plain = visit_weighted(train_rows[train_rows["variant"] == "plain"])
    held = calibration_visits(np.array(sorted(plain["visit"].unique())))
    fit, calibration = plain[~plain["visit"].isin(held)], plain[plain["visit"].isin(held)]
    label, weight = fit["ordered"].to_numpy(), fit["weight"].to_numpy()
    specs = encoding.fit_schema(fit)
    teacher = Teacher(specs)
    soft = teacher.out_of_fold(fit, label, weight, fit["visit"].to_numpy())
    teacher.fit(fit, label, weight)
    behaviour = pd.Series(soft[fit["end"].to_numpy() == 1], index=fit.loc[fit["end"] == 1, "visit"])
    base_rate = float(fit.loc[fit["end"] == 1, "ordered"].mean())
    prior_document = priors.load()
    ratios = priors.odds_ratios(prior_document, base_rate)
    funnel = funnel_targets(train_rows[(train_rows["variant"] != "plain") & train_rows["visit"].isin(behaviour.index)],
                            behaviour, ratios)
    log(f"teacher out-of-fold on training ends {score(fit.loc[fit['end'] == 1, 'ordered'], behaviour)}; "
        f"base rate {base_rate:.4f}; prior odds ratios {ratios}")

    ends = fit[fit["end"] == 1].reset_index(drop=True)
    cards, clustering, scaler = discover(ends, SEGMENT_FIELDS, k_min=SEGMENTS_K[0], k_max=SEGMENTS_K[1], seed=SEED,
                                         outcome="ordered", source=f"{csv.name}, reference-split training visits "
                                                                   "replayed by `edgeseg replay`")
    name_cards(cards)
    log(f"segments (k-means, k={cards['k']}): " + ", ".join(c["id"] for c in cards["cards"]))

    student_rows = pd.concat([fit.assign(target=soft), funnel], ignore_index=True)
    x = encoding.encode_frame(student_rows, specs)
    segment = clustering.assign(scaler.transform(student_rows))
    student = Student(x.shape[1], cards["k"]).fit(x, student_rows["target"].to_numpy(), segment,
                                                  student_rows["weight"].to_numpy(), STUDENT_CONFIG)
    calibration_end = calibration[calibration["end"] == 1]
    scale, shift = platt(student.logit(encoding.encode_frame(calibration_end, specs)),
                         calibration_end["ordered"].to_numpy())
    student.calibrate(scale, shift)
    log(f"student {x.shape[0]} rows; Platt calibration on {len(calibration_end)} held-out training visits: "
        f"scale {scale:.4f}, shift {shift:.4f}")

    onnx_bytes = student_to_onnx(student, encoding.width(specs)).SerializeToString()
    if len(onnx_bytes) > MAX_ONNX_BYTES:
        raise SystemExit(f"model.onnx is {len(onnx_bytes)} bytes, over the {MAX_ONNX_BYTES} byte limit")
    (model_dir / "model.onnx").write_bytes(onnx_bytes)

    def intent(rows):
        return run_onnx(onnx_bytes, encoding.encode_frame(rows, specs))[0][:, 0]

    test_end = test_own[test_own["end"] == 1]
    metrics = {
        "split": "reference: stratified 80/20 on revenue, random_state=42 (scikit-learn train_test_split); "
                 "every visit replayed by `edgeseg replay` (requests plus beacon dwell events)",
        "uci_test_own_dates": by_prefix(test_own, intent(test_own)),
        "uci_test_one_weekday": by_prefix(test_weekday, intent(test_weekday)),
        "uci_test_teacher_end": score(test_end["ordered"], teacher.predict(test_end)),
        "otto_sample": otto_comparison(otto_rows, intent(otto_rows)),
        "prior_odds_ratios": {k: round(v, 4) for k, v in ratios.items()},
        "calibration": {"method": "Platt scaling folded into the intent head",
                        "visits": int(len(calibration_end)), "scale": round(scale, 4), "shift": round(shift, 4)},
        "student": f"MLP {encoding.width(specs)}-{'-'.join(map(str, HIDDEN))}-(1+{cards['k']}), weighted BCE on "
                   f"out-of-fold teacher probabilities and prior-raised funnel targets + segment cross-entropy",
        "teacher": "HistGradientBoostingClassifier on the same inputs, every visit weighted once",
    }
    for name in ("uci_test_own_dates", "uci_test_one_weekday"):
        log(f"{name}: {json.dumps({k: v for k, v in metrics[name].items() if k != 'reliability'})}")
    log(f"otto_sample: {json.dumps(metrics['otto_sample'])}")

    write_json(model_dir / "segments" / "cards.json", cards)
    write_report(model_dir / "segments" / "report.html", cards)
    draft, _ = build_rules_file(cards, version=VERSION, strict=True)
    write_json(model_dir / "segments" / "draft_rules.json", draft)

    frame = data.load_sessions(csv)
    train_frame, _ = data.reference_split(frame)
    estimated = estimate(train_frame)
    write_json(model_dir / "page_stats.json", page_stats_document(estimated, VERSION, "reference-split training rows"))

    test_plain = test_own.reset_index(drop=True)
    winners = run_onnx(onnx_bytes, encoding.encode_frame(test_plain, specs))[1].argmax(1)
    golden = build_golden(test_plain, specs, lambda rows: run_onnx(onnx_bytes, rows), winners)
    check_golden(golden, specs)

    document = manifest_document(csv, int(len(frame)), specs, cards, metrics, golden, prior_document, store_rows)
    document["drift"] = drift_reference(fit, document["features"], clustering.assign(scaler.transform(fit)),
                                        cards["k"], "reference-split training visits replayed by `edgeseg "
                                                    "replay`, rows after their kept request prefixes and at their end")
    path = write_manifest(model_dir, document)
    write_model_card(model_dir / "README.md", document, cards, len(onnx_bytes), prior_document)
    log(f"wrote {path}, model.onnx ({len(onnx_bytes)} bytes), page_stats.json, README.md, segments/")


if __name__ == "__main__":
    try:
        run()
    except FileNotFoundError as error:
        sys.exit(f"error: {error}")
