"""What each training-data step does to the real-face figures by size, on the VALIDATION split.

    python bench/ablate_data.py runs/default            # a finished run of configs/default.yaml

Phase 1 of a run trains only the classifier head on frozen-backbone features, and the run keeps
those features in `cache/` for the annotated crops, the detector-framed crops (appended after
the annotated ones) and the degraded copies. So each step can be switched off by leaving its
rows out and refitting the head (seconds, same recipe as phase 1: Adam 1e-3, batch 32, early
stopping on val_loss), instead of a training run per step. Figures are on the run's validation
faces (never the test split): accuracy and macro-F1 of real faces, without_mask recall by face
width, and real mask_weared_incorrect recall / precision.
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parent))

from tables import print_table  # noqa: E402


def split_rows(run: Path, split: str) -> list[dict]:
    with open(run / "split.csv", newline="", encoding="utf-8") as handle:
        return [row for row in csv.DictReader(handle) if row["split"] == split]


def _without_recall(b: dict, bucket: str) -> str:
    m = b["real_by_width"].get(bucket)
    return f"{m['per_class']['without_mask']['recall']:.3f}" if m and m["per_class"]["without_mask"]["support"] else "-"


def _sample(row: dict):
    from maskwatch.data import FaceSample

    box = tuple(float(v) for v in row["box"].split()) if row["box"] else None
    real = row.get("real", "true") != "false"
    return FaceSample(row["path"], row["label"], row["group"], box, row["source"], float(row["margin"] or 0.1), real)


def fit_head(cfg, f_train, y_train, f_val, y_val, class_weight, seed: int):
    import keras

    from maskwatch.models import build_classifier

    keras.utils.set_random_seed(seed)
    cm = build_classifier(cfg.model.name, num_classes=3, input_size=cfg.model.input_size, weights=None)
    head = cm.head
    head.compile(optimizer=keras.optimizers.Adam(cfg.train.lr), loss="sparse_categorical_crossentropy")
    head.fit(
        f_train, y_train, batch_size=cfg.train.batch_size, epochs=cfg.train.epochs, shuffle=True,
        validation_data=(f_val, y_val), class_weight=class_weight, verbose=0,
        callbacks=[
            keras.callbacks.EarlyStopping(patience=cfg.train.early_stopping, restore_best_weights=True),
            keras.callbacks.ReduceLROnPlateau(factor=cfg.train.reduce_lr_factor, patience=cfg.train.reduce_lr_patience),
        ],
    )  # fmt: skip
    return np.asarray(head.predict(f_val, batch_size=256, verbose=0))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path)
    parser.add_argument(
        "--synthetic", type=Path, help="also try adding these synthetic faces (a folder source with MANIFEST.csv)"
    )
    args = parser.parse_args(argv)

    from maskwatch.evaluate.breakdown import breakdown
    from maskwatch.train.config import load_config
    from maskwatch.train.decision import tune_decision_weights

    run = args.run
    cfg = load_config(run / "config.yaml")
    labels = list(cfg.data.labels)
    cache = run / "cache"
    f_all = np.load(next(cache.glob("train-[0-9a-f]*.npy")))
    copies = sorted(cache.glob("train-degraded-*.npy"))
    f_copies = np.load(copies[0]) if copies else None
    f_val = np.load(next(cache.glob("val-*.npy")))
    train_rows, val_rows = split_rows(run, "train"), split_rows(run, "val")
    index = {label: i for i, label in enumerate(labels)}
    y_annotated = np.array([index[r["label"]] for r in train_rows])
    n = len(train_rows)
    y_val = np.array([index[r["label"]] for r in val_rows])
    val_samples = [_sample(r) for r in val_rows]
    y_all = y_annotated
    stored = cache / "train_labels.npy"  # labels of every cached train row, when the run kept them
    if stored.is_file():
        y_all = np.load(stored)
    elif len(f_all) > n:  # the detector-framed rows: the same deterministic matching as the trainer's
        from maskwatch.data import FaceDataset
        from maskwatch.data.framing import add_detector_framing
        from maskwatch.train.faces import pipeline_face_finder

        scenes = {Path(src.path).name for src in cfg.data.sources if src.type in ("voc", "yolo")}
        train = FaceDataset([_sample(r) for r in train_rows], labels)
        framed = add_detector_framing(train, pipeline_face_finder(upscale=2.0), scenes)
        if len(framed) != len(f_all):
            raise SystemExit(f"{run}: {len(f_all)} cached train rows but {len(framed)} samples after framing")
        y_all = framed.label_indices()
    counts = np.bincount(y_annotated, minlength=3)
    class_weight = {i: float(len(y_annotated) / (3 * max(c, 1))) for i, c in enumerate(counts)}

    variants = [("annotated crops only", f_all[:n], y_all[:n])]
    if len(f_all) > n:
        variants.append(("+ detector-framed crops", f_all, y_all))
    if f_copies is not None:
        variants.append(
            ("+ degraded copies (all steps)", np.concatenate([f_all, f_copies]), np.concatenate([y_all, y_all]))
        )

    if args.synthetic is not None:  # synthetic faces of train groups only, features from the same frozen backbone
        from maskwatch.data import FaceDataset, load_faces, load_folder_dataset
        from maskwatch.models import build_classifier

        train_groups = {r["group"] for r in train_rows}
        made = load_folder_dataset(args.synthetic, manifest=args.synthetic / "MANIFEST.csv", labels=labels)
        kept = FaceDataset([s for s in made.samples if s.group in train_groups], labels)
        cm = build_classifier(cfg.model.name, num_classes=3, input_size=cfg.model.input_size, weights="imagenet")
        x_syn, y_syn, _ = load_faces(kept, tuple(cm.input_size), progress=False)
        f_syn = np.asarray(cm.features.predict(x_syn.astype(np.float32), batch_size=32, verbose=0))
        base_features, base_targets = variants[-1][1], variants[-1][2]
        variants.append(
            (f"+ {len(y_syn)} synthetic incorrect faces", np.concatenate([base_features, f_syn]),
             np.concatenate([base_targets, y_syn]))
        )  # fmt: skip

    rows = []
    for name, features, targets in variants:
        probs = fit_head(cfg, features, targets, f_val, y_val, class_weight, cfg.train.seed)
        for tuned in (False, True):
            p = probs
            label = name
            if tuned:
                weights, _ = tune_decision_weights(probs, y_val, labels)
                p = probs * np.array([weights[k] for k in labels])
                label = f"{name}, decision weights (val)"
            b = breakdown(y_val, p, val_samples, labels)
            real = b["real"]
            inc = real["per_class"]["mask_weared_incorrect"]
            rows.append([
                label, len(targets), f"{real['accuracy']:.3f}", f"{real['macro_f1']:.3f}",
                f"{real['per_class']['with_mask']['recall']:.3f}",
                _without_recall(b, "<24"),
                *(_without_recall(b, k) for k in ("24-40", "40-64", ">=64")),
                f"{inc['recall']:.3f} / {inc['precision']:.3f}",
            ])  # fmt: skip
    print_table(
        f"{run.name}: validation split, real faces ({int(np.sum([s.real for s in val_samples]))})",
        ["training data (phase 1, head on frozen features)", "train faces", "real acc", "real macro-F1",
         "with recall", "without rec. <24", "24-40", "40-64", ">=64", "incorrect rec. / prec."],
        rows,
    )  # fmt: skip


if __name__ == "__main__":
    main()
