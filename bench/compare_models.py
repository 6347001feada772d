"""Backbone and rare-class comparison on ONE held-out test split; prints the MODEL_CARD tables.

    python bench/compare_models.py                      # train missing variants, then evaluate all
    python bench/compare_models.py --only evaluate      # evaluate finished runs only
    python bench/compare_models.py --variants simple_cnn_96,no_synthetic

Every variant is `configs/default.yaml` plus a few overrides, trained with `maskwatch.train`
into `runs/compare/<variant>/`. The reference is the shipped model's run (`runs/default`):
every model is scored on *that* run's test split (read from its split.csv), and the script
refuses to score a model whose train or validation split shares a group with it, so all rows
compare the same faces and none of them was seen in training. The test split is scored three
ways: all faces, real faces only (mask2 + voc3) and synthetic incorrect faces only, because
a synthetic face in the test split says little about real incorrectly worn masks.

From-scratch backbones (`model.weights: null`) need nothing special here: the trainer trains
them whole, BatchNorm included, with momentum 0.9 (`maskwatch.models.set_trainable`).
The no_synthetic variants change one trainer behaviour for the duration of their run: the split
is computed with the synthetic faces (so the test split is the reference one), then they are
removed from train and validation.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import json
import logging
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

SYNTHETIC_SOURCE = "synthetic_incorrect"
INCORRECT = "mask_weared_incorrect"

# name: (description, overrides, patch)
VARIANTS: dict[str, tuple[str, dict, str | None]] = {
    "efficientnet_lite0_160": (
        "EfficientNet-Lite0, ImageNet, 160 px (default recipe)",
        {"model.input_size": 160},
        None,
    ),
    "mobilenet_v2_scratch_160_bn": (
        "MobileNetV2 from scratch, 160 px, 12 epochs all layers, BatchNorm momentum 0.9",
        {
            "model.name": "mobilenet_v2",
            "model.weights": None,
            "model.input_size": 160,
            "train.epochs": 12,
            "train.augment": True,
            "train.early_stopping": 0,
            "finetune.epochs": 0,
        },
        None,
    ),
    "simple_cnn_96": (
        "small CNN from scratch, 96 px, 12 epochs",
        {
            "model.name": "simple_cnn",
            "model.weights": None,
            "model.input_size": 96,
            "train.epochs": 12,
            "train.augment": True,
            "train.early_stopping": 5,
            "finetune.epochs": 0,
        },
        None,
    ),
    "no_synthetic": (
        "EfficientNet-Lite0 224, class weights, NO synthetic faces",
        {},
        "drop_synthetic",
    ),
    "no_synthetic_no_weights": (
        "EfficientNet-Lite0 224, no class weights, no synthetic faces (phase 1 only)",
        {"data.class_weights": False, "finetune.epochs": 0},
        "drop_synthetic",
    ),
    "synthetic_no_weights": (
        "EfficientNet-Lite0 224, synthetic faces, no class weights (phase 1 only)",
        {"data.class_weights": False, "finetune.epochs": 0},
        None,
    ),
    "no_synthetic_phase1": (
        "EfficientNet-Lite0 224, class weights, no synthetic faces (phase 1 only)",
        {"finetune.epochs": 0},
        "drop_synthetic",
    ),
    "default_phase1": (
        "EfficientNet-Lite0 224, synthetic + class weights (phase 1 only)",
        {"finetune.epochs": 0},
        None,
    ),
}


@contextlib.contextmanager
def patched(patch: str | None):
    """Temporarily change one trainer behaviour (see the module docstring)."""
    if patch is None:
        yield
        return
    import maskwatch.data as trainer  # the trainer looks split_dataset up here at run time

    if patch == "drop_synthetic":
        original_split = trainer.split_dataset

        def split_without_synthetic(dataset, data_cfg):
            splits = original_split(dataset, data_cfg)
            for name in ("train", "val"):
                ds = splits[name]
                keep = [i for i, s in enumerate(ds.samples) if s.source != SYNTHETIC_SOURCE]
                splits[name] = ds.subset(keep)
            return splits

        trainer.split_dataset = split_without_synthetic
        try:
            yield
        finally:
            trainer.split_dataset = original_split
    else:
        raise ValueError(f"unknown patch {patch!r}")


def train_variant(name: str, config: Path, root: Path) -> Path:
    from maskwatch.train import train

    run_dir = root / name
    if (run_dir / "summary.json").is_file():
        print(f"[{name}] already trained: {run_dir}", flush=True)
        return run_dir
    description, overrides, patch = VARIANTS[name]
    overrides = {**overrides, "run.root": str(root), "run.evaluate": False}
    resume = (run_dir / "config.yaml").is_file()
    print(f"[{name}] training ({description}){' - resuming' if resume else ''}", flush=True)
    t0 = time.perf_counter()
    with patched(patch):
        if resume:
            train(str(run_dir), name=name, resume=True, progress=False)
        else:
            train(str(config), name=name, overrides=overrides, progress=False)
    print(f"[{name}] done in {(time.perf_counter() - t0) / 60:.1f} min", flush=True)
    return run_dir


def split_groups(run_dir: Path) -> dict[str, set[str]]:
    groups: dict[str, set[str]] = {"train": set(), "val": set(), "test": set()}
    with open(run_dir / "split.csv", newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            groups[row["split"]].add(row["group"])
    return groups


def evaluate(run_dir: Path, reference: Path, model: Path | None = None) -> dict:
    """Scores of `run_dir`'s best model (or `model`) on the reference test split: all / real / synthetic."""
    from maskwatch.evaluate import evaluate_model, load_predictor
    from maskwatch.evaluate.runs import run_split
    from maskwatch.runs import best_checkpoint

    ref_test = split_groups(reference)["test"]
    seen = split_groups(run_dir)
    leaked = ref_test & (seen["train"] | seen["val"])
    if leaked:
        raise SystemExit(
            f"{run_dir}: {len(leaked)} test groups of {reference} were trained on, e.g. {sorted(leaked)[:3]}"
        )
    predictor = load_predictor(model or best_checkpoint(run_dir))
    test = run_split(reference, "test", labels=list(predictor.labels))
    parts = {
        "all": list(range(len(test))),
        "real": [i for i, s in enumerate(test.samples) if s.source != SYNTHETIC_SOURCE],
        "synthetic": [i for i, s in enumerate(test.samples) if s.source == SYNTHETIC_SOURCE],
    }
    out = {}
    for part, idx in parts.items():
        if idx:
            out[part] = evaluate_model(predictor, test.subset(idx), None, plots=False)["metrics"]
    out["real_incorrect_p"] = real_incorrect_probabilities(predictor, reference)
    return out


def real_incorrect_probabilities(predictor, reference: Path) -> list[float]:
    """p(mask_weared_incorrect) for every REAL incorrectly worn face of the reference's val and test splits.

    With 3 such faces per split, a recall is a coin toss; the probabilities show whether a model
    is at least moving towards the class. Val faces were not trained on (they chose the checkpoint).
    """
    from maskwatch.data import combine, load_faces
    from maskwatch.evaluate.evaluator import predict_in_batches
    from maskwatch.evaluate.runs import run_split

    labels = list(predictor.labels)
    faces = combine(*(run_split(reference, split, labels=labels) for split in ("val", "test")))
    keep = [i for i, s in enumerate(faces.samples) if s.label == INCORRECT and s.source != SYNTHETIC_SOURCE]
    x, _, _ = load_faces(faces.subset(keep), predictor.input_size, progress=False)
    return [float(p) for p in predict_in_batches(predictor, x)[:, labels.index(INCORRECT)]]


def per_class(metrics: dict, label: str, key: str) -> float:
    return metrics["per_class"][label][key]


def table(results: dict[str, dict], descriptions: dict[str, str]) -> str:
    lines = [
        "| model | real test acc | recall with | recall without | real faces called incorrect "
        "| real incorrect hits (test) | p(incorrect) on the real incorrect of val+test "
        "| recall incorrect (synthetic) | train time |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, res in results.items():
        real, synth = res["scores"]["real"], res["scores"].get("synthetic")
        n_incorrect = real["per_class"][INCORRECT]["support"]
        hits = round(per_class(real, INCORRECT, "recall") * n_incorrect)
        synth_txt = f"{per_class(synth, INCORRECT, 'recall'):.3f}" if synth else "-"
        matrix = real["confusion_matrix"]
        false_alarms = sum(row[2] for row in matrix[:2])
        n_other = sum(sum(row) for row in matrix[:2])
        probs = res["scores"]["real_incorrect_p"]
        hits_vt = sum(p > 0.5 for p in probs)
        p_txt = f"mean {sum(probs) / len(probs):.2f}, > 0.5 for {hits_vt}/{len(probs)}" if probs else "-"
        lines.append(
            f"| {descriptions.get(name, name)} | {real['accuracy']:.3f} "
            f"| {per_class(real, 'with_mask', 'recall'):.3f} | {per_class(real, 'without_mask', 'recall'):.3f} "
            f"| {false_alarms}/{n_other} | {hits}/{n_incorrect} | {p_txt} | {synth_txt} "
            f"| {res.get('minutes', float('nan')):.0f} min |"
        )
    return "\n".join(lines)


def run_minutes(run_dir: Path) -> float:
    """Wall time of the run's last session (data loading, features, epochs), in minutes."""
    summary = json.loads((run_dir / "summary.json").read_text())
    seconds = summary.get("session_seconds") or summary.get("train_seconds")
    return seconds / 60 if seconds else float("nan")


def write_test_list(reference: Path, data_root: Path, out: Path, per_class: int = 60, seed: int = 0) -> None:
    """The reference run's REAL test faces for tests/test_default_model.py: every voc3 face (real
    scenes, few) plus `per_class` mask2 files per class. Thresholds are added by hand after measuring.
    """
    import numpy as np

    from maskwatch.evaluate.runs import run_split

    test = run_split(reference, "test", labels=["with_mask", "without_mask", INCORRECT])
    rng = np.random.default_rng(seed)
    chosen = [s for s in test.samples if s.source == "voc3"]
    for label in test.labels:
        mask2 = [s for s in test.samples if s.label == label and s.source == "mask2"]
        chosen += [mask2[i] for i in sorted(rng.permutation(len(mask2))[:per_class])]
    faces = [
        {
            "file": Path(s.path).resolve().relative_to(data_root.resolve()).as_posix(),
            "label": s.label,
            "group": s.group,
            "box": None if s.box is None else [round(v, 2) for v in s.box],
        }
        for s in chosen
    ]
    spec = {"reference_run": reference.name, "margin": 0.1, "faces": faces}
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(spec, indent=1) + "\n")
    print(f"{len(faces)} faces -> {out}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--config", default="configs/default.yaml")
    parser.add_argument("--reference", default="runs/default", help="run whose test split everything is scored on")
    parser.add_argument("--root", default="runs/compare")
    parser.add_argument(
        "--variants", default="efficientnet_lite0_160,mobilenet_v2_scratch_160_bn,simple_cnn_96,no_synthetic"
    )
    parser.add_argument("--only", choices=("train", "evaluate"), help="skip the other step")
    parser.add_argument("--extra-runs", default="", help="more finished runs to score: LABEL=RUN_DIR;...")
    parser.add_argument("--json", default="runs/compare/results.json")
    parser.add_argument("--write-test-list", metavar="JSON", help="write the reference's real test faces; exit")
    parser.add_argument("--data-root", default="../shared/data", help="with --write-test-list: paths relative to it")
    args = parser.parse_args(argv)
    if args.write_test_list:
        write_test_list(Path(args.reference), Path(args.data_root), Path(args.write_test_list))
        return
    logging.basicConfig(level=logging.WARNING)
    root, reference = Path(args.root), Path(args.reference)
    names = [v.strip() for v in args.variants.split(",") if v.strip()]
    unknown = [n for n in names if n not in VARIANTS]
    if unknown:
        raise SystemExit(f"unknown variant(s) {unknown}; known: {', '.join(VARIANTS)}")
    if args.only != "evaluate":
        for name in names:
            train_variant(name, Path(args.config), root)
    if args.only == "train":
        return
    results: dict[str, dict] = {}
    descriptions = {"reference": f"EfficientNet-Lite0, ImageNet, 224 px (shipped: {reference.name})"}
    extra = [item.split("=", 1) for item in args.extra_runs.split(";") if item.strip()]
    for label, run_dir in extra:
        descriptions[run_dir] = label
    runs = [("reference", reference)] + [(run_dir, Path(run_dir)) for _, run_dir in extra]
    for name, run_dir in runs + [(n, root / n) for n in names]:
        if not (run_dir / "summary.json").is_file():
            print(f"[{name}] not trained yet, skipped", file=sys.stderr)
            continue
        descriptions.setdefault(name, VARIANTS[name][0] if name in VARIANTS else name)
        results[name] = {"run": str(run_dir), "scores": evaluate(run_dir, reference), "minutes": run_minutes(run_dir)}
        print(f"[{name}] evaluated", file=sys.stderr, flush=True)
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(results, indent=2, default=str) + "\n")
    print(table(results, descriptions))


if __name__ == "__main__":
    main()
