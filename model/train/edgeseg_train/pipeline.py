"""The whole run: data -> segments -> teacher/student/baseline -> ONNX -> page stats -> manifest + card."""
import json
import os
import sys
from pathlib import Path

import numpy as np

from . import data, encoding, paths
from .baseline import fit_logistic
from .discover.cli import write_json
from .discover.discovery import discover
from .discover.report import write_report
from .discover.rules import build_rules_file
from .drift_reference import drift_reference
from .golden import build_golden, check_golden
from .metrics import score
from .model_card import write_model_card
from .onnx_export import run_onnx, student_to_onnx
from .page_stats import estimate, page_stats_document, reconstruct
from .student import HIDDEN, Student, StudentConfig
from .teacher import Teacher

sys.path.insert(0, str(paths.TRAIN_DIR))
import manifest as manifest_writer  # noqa: E402

VERSION = os.environ.get("EDGESEG_MODEL_VERSION", "2026.11.21-1")
MAX_ONNX_BYTES = 64 * 1024
# Behaviour within the session, not who or when: where effort went (page classes), how deep the
# product browsing was (time), whether pages were left (exit rate; bounce rate is ~0.9 correlated
# with it, so one of the two), and how valuable the pages seen were (page value).
SEGMENT_FIELDS = ["administrative", "informational", "product_related", "product_related_duration",
                  "exit_rates", "page_values"]
STUDENT_CONFIG = StudentConfig(epochs=80, soft_weight=1.0,
                               table_share=float(os.environ.get("EDGESEG_TABLE_SHARE", "0.1")))


def log(message: str) -> None:
    print(f"[pipeline] {message}", flush=True)


def table_augmented(x_real, x_table, share: float, seed: int = 1):
    """Shows a share of rows with the rates/values the edge computes from page_stats.json, so the
    model still ranks sessions when a store has no per-path statistics (UCI's own values are per page)."""
    chosen = np.random.default_rng(seed).random(len(x_real)) < share
    return np.where(chosen[:, None], x_table, x_real)


def train_family(train, test, segments_train, k: int, drop=(), compare_augmentation=False) -> dict:
    """Teacher (with and without UCI codes), logistic baseline and distilled student on one split."""
    result = {"rows": {"train": int(len(train)), "test": int(len(test))}}
    y_test = test[data.TARGET].to_numpy()
    result["teacher_all_fields"] = score(y_test, Teacher(use_codes=True, drop=drop).fit(train).predict(test))
    teacher = Teacher(use_codes=False, drop=drop)
    soft = teacher.out_of_fold(train)
    result["teacher"] = score(y_test, teacher.fit(train).predict(test))
    specs = encoding.fit_schema(train, drop)
    x_train, x_test = encoding.encode_frame(train, specs), encoding.encode_frame(test, specs)
    logistic = fit_logistic(x_train, train[data.TARGET].to_numpy())
    result["logistic"] = score(y_test, logistic.predict_proba(x_test)[:, 1])
    table = estimate(train)
    x_train_table = encoding.encode_frame(reconstruct(train, table), specs)
    x_test_table = encoding.encode_frame(reconstruct(test, table), specs)
    config = STUDENT_CONFIG
    target = config.soft_weight * soft + (1 - config.soft_weight) * train[data.TARGET].to_numpy()

    def fit_student(share):
        inputs = table_augmented(x_train, x_train_table, share)
        return Student(x_train.shape[1], k).fit(inputs, target, segments_train, config)

    student = fit_student(config.table_share)
    result["student"] = score(y_test, student.predict(x_test)[0])
    result["student_with_page_stats_table"] = score(y_test, student.predict(x_test_table)[0])
    if compare_augmentation:
        plain = fit_student(0.0)
        result["student_without_table_augmentation"] = score(y_test, plain.predict(x_test)[0])
        result["student_without_table_augmentation_with_page_stats_table"] = score(y_test, plain.predict(x_test_table)[0])
    return {"metrics": result, "student": student, "specs": specs}


def run() -> None:
    model_dir = paths.MODEL_DIR
    csv = paths.uci_csv()
    frame = data.load_sessions(csv)
    train, test = data.reference_split(frame)
    log(f"{len(frame)} sessions from {csv}; reference split {len(train)}/{len(test)}")

    cards, clustering, scaler = discover(train,
                                         SEGMENT_FIELDS, seed=0, outcome=data.TARGET,
                                         source=f"{csv.name} (reference-split training rows)")
    segment_of = clustering.assign(scaler.transform(frame))
    frame = frame.assign(segment=segment_of)
    train, test = frame.loc[train.index], frame.loc[test.index]
    write_json(model_dir / "segments" / "cards.json", cards)
    write_report(model_dir / "segments" / "report.html", cards)
    draft, warnings = build_rules_file(cards, version=VERSION, strict=True)
    write_json(model_dir / "segments" / "draft_rules.json", draft)
    log(f"segments (k-means, k={cards['k']}): " + ", ".join(c["id"] for c in cards["cards"]))

    reference = train_family(train, test, train["segment"].to_numpy(), cards["k"], compare_augmentation=True)
    no_page_values = train_family(train, test, train["segment"].to_numpy(), cards["k"], drop=("page_values",))
    early, late = data.temporal_split(frame)
    temporal = train_family(early, late, early["segment"].to_numpy(), cards["k"])
    for name, family in (("reference", reference), ("without page_values", no_page_values), ("temporal", temporal)):
        log(f"{name}: " + json.dumps({k: v for k, v in family["metrics"].items() if k != "rows"}))

    student, specs = reference["student"], reference["specs"]
    onnx_model = student_to_onnx(student, encoding.width(specs))
    onnx_bytes = onnx_model.SerializeToString()
    if len(onnx_bytes) > MAX_ONNX_BYTES:
        raise SystemExit(f"model.onnx is {len(onnx_bytes)} bytes, over the {MAX_ONNX_BYTES} byte limit")
    (model_dir / "model.onnx").write_bytes(onnx_bytes)
    x_test = encoding.encode_frame(test, specs)
    ort_intent, ort_segment = run_onnx(onnx_bytes, x_test)
    numpy_intent, _ = student.predict(x_test)
    gap = float(np.abs(ort_intent[:, 0] - numpy_intent).max())
    if gap > 1e-4:
        raise SystemExit(f"onnxruntime and numpy student disagree by {gap}")
    test_y = test[data.TARGET].to_numpy()
    onnx_metrics = score(test_y, ort_intent[:, 0])
    segment_agreement = round(float((ort_segment.argmax(1) == test["segment"].to_numpy()).mean()), 4)
    log(f"model.onnx {len(onnx_bytes)} bytes; onnxruntime on test rows {onnx_metrics}, "
        f"segment agreement with k-means {segment_agreement}")

    estimated = estimate(train)
    stats = page_stats_document(estimated, VERSION, "reference-split training rows")
    write_json(model_dir / "page_stats.json", stats)
    table_segment = run_onnx(onnx_bytes, encoding.encode_frame(reconstruct(test, estimated), specs))[1]
    table_agreement = round(float((table_segment.argmax(1) == test["segment"].to_numpy()).mean()), 4)
    log(f"page stats r2 {estimated['r2']}; segment agreement with table values {table_agreement}")

    golden = build_golden(test, specs, lambda x: run_onnx(onnx_bytes, x), ort_segment.argmax(1))
    check_golden(golden, specs)

    metrics = {
        "split": "reference: stratified 80/20 on revenue, random_state=42 (scikit-learn train_test_split)",
        "reference": {**reference["metrics"], "student_onnxruntime": onnx_metrics,
                      "student_segment_agreement": segment_agreement,
                      "student_segment_agreement_with_page_stats_table": table_agreement},
        "without_page_values": no_page_values["metrics"],
        "temporal": {"split": "train Feb..Oct, test Nov+Dec", **temporal["metrics"]},
        "table_share": STUDENT_CONFIG.table_share,
        "models": {
            "teacher": "HistGradientBoostingClassifier on the student's fields (distillation source)",
            "teacher_all_fields": "same, plus UCI's anonymised operating_systems/browser/region/traffic_type",
            "logistic": "LogisticRegression on the student's encoded input",
            "student": "MLP %d-%s-(1+%d), BCE on out-of-fold teacher probabilities + segment cross-entropy; "
                       "%g of training rows shown with page_stats.json rates/values"
                       % (encoding.width(specs), "-".join(map(str, HIDDEN)), cards["k"], STUDENT_CONFIG.table_share),
            "student_with_page_stats_table": "the student on test rows whose bounce_rates/exit_rates/page_values "
                                             "are replaced by what page_stats.json gives (the edge without per-path stats)",
        },
    }
    document = {
        "format": 1, "name": "edgeseg-intent", "version": VERSION, "created": None, "files": {},
        "data": {"source": "UCI Online Shoppers Purchasing Intention (CC BY 4.0)", "file": csv.name,
                 "sha256": data.file_sha256(csv), "rows": int(len(frame)),
                 "attribution": "Sakar, C.O., Polat, S.O., Katircioglu, M. et al. Real-time prediction of online "
                                "shoppers' purchasing intention using multilayer perceptron and LSTM recurrent "
                                "neural networks. Neural Computing and Applications 31, 6893-6908 (2019). UCI "
                                "Machine Learning Repository, dataset 468, CC BY 4.0."},
        "model": {"file": "model.onnx", "input": "features", "width": encoding.width(specs),
                  "intent_output": "intent", "segment_output": "segment"},
        "features": [s.to_manifest() for s in specs],
        "segments": [{"id": c["id"], "name": c["name"], "description": c["description"],
                      "card": f"segments/cards.json#{c['index']}"} for c in cards["cards"]],
        "metrics": metrics,
        "golden": golden,
    }
    document["drift"] = drift_reference(train, document["features"], train["segment"].to_numpy(), cards["k"],
                                        "reference-split training rows")
    path = manifest_writer.write_manifest(model_dir, document)
    write_model_card(model_dir / "README.md", document, cards, estimated, len(onnx_bytes),
                     float(frame[data.TARGET].mean()))
    log(f"wrote {path}, model.onnx, page_stats.json, README.md, segments/")


if __name__ == "__main__":
    try:
        run()
    except FileNotFoundError as error:
        sys.exit(f"error: {error}")
