"""Training throughput (images/second) per phase, and what the phase-1 feature cache saves.

    python bench/bench_train.py                      # mobilenet_v2 + efficientnet_lite0, 224 px
    python bench/bench_train.py --size 160 --images 64 --models efficientnet_lite0

For each backbone, on real mask2 faces: one warm-up epoch (graph tracing) then timed epochs of
  frozen       phase 1 the plain way: full forward pass + head training, backbone frozen
  frozen+aug   the same with the augmentation layers in the tf.data pipeline
  finetune     phase 2: top 30 % of the backbone trainable
  extract      the one-off cost of the cache: backbone forward pass over every image
  head         phase 1 on cached features: only the Dropout+Dense head trains
The last column estimates a whole phase 1 of E epochs: plain = E * N / frozen rate;
cached = N / extract rate + E * N / head rate. Random weights (weights=None): speed does not
depend on weight values, and no download is needed. Bounded to a couple of minutes.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("MASKWATCH_SHARED", ROOT.parent / "shared")) / "data"


def load(n: int, size: int):
    from maskwatch.data import load_faces, load_folder_dataset, sample_per_class

    ds = load_folder_dataset(DATA / "mask2", manifest=DATA / "MANIFEST.csv")
    x, y, _ = load_faces(sample_per_class(ds, n // 2, seed=0), (size, size), progress=False)
    return x, y


def timed_fit(model, data, epochs: int, **kwargs) -> float:
    """Seconds per epoch after one warm-up epoch (which traces the graph)."""
    model.fit(data, epochs=1, verbose=0, **kwargs)
    start = time.perf_counter()
    model.fit(data, epochs=epochs, verbose=0, **kwargs)
    return (time.perf_counter() - start) / epochs


def bench_model(name: str, x, y, args) -> list[tuple[str, str, float]]:
    import keras
    import numpy as np

    from maskwatch.models import build_classifier, set_trainable
    from maskwatch.train.config import load_config
    from maskwatch.train.features import compute_features
    from maskwatch.train.fitting import make_dataset

    keras.backend.clear_session()
    n = len(x)
    cfg = load_config({"train": {"batch_size": args.batch}})
    plain = make_dataset(x, y, cfg, augment=False, shuffle=True)
    augmented = make_dataset(x, y, cfg, augment=True, shuffle=True)
    cm = build_classifier(name, num_classes=2, input_size=args.size, weights=None)

    def compile_(model):
        model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy")

    rows = []
    set_trainable(cm, "frozen")
    compile_(cm.model)
    rows.append((name, "frozen", n / timed_fit(cm.model, plain, args.epochs, shuffle=False)))
    rows.append((name, "frozen+aug", n / timed_fit(cm.model, augmented, args.epochs, shuffle=False)))

    compute_features(cm.features, x[: args.batch], args.batch)  # warm-up
    start = time.perf_counter()
    feats = compute_features(cm.features, x, args.batch)
    rows.append((name, "extract", n / (time.perf_counter() - start)))
    compile_(cm.head)
    reps = max(1, 2000 // n)  # the head is so fast that one pass over N vectors is too short to time
    big_x, big_y = np.tile(feats, (reps, 1)), np.tile(y, reps)
    head_seconds = timed_fit(cm.head, big_x, 3, y=big_y, batch_size=args.batch) / reps
    rows.append((name, "head", n / head_seconds))

    set_trainable(cm, "finetune", fine_tune_fraction=0.3)
    compile_(cm.model)
    rows.append((name, "finetune", n / timed_fit(cm.model, plain, args.epochs, shuffle=False)))
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", default="mobilenet_v2,efficientnet_lite0")
    parser.add_argument("--size", type=int, default=224, help="input size in pixels (square)")
    parser.add_argument("--images", type=int, default=96, help="real mask2 faces per timed epoch")
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--epochs", type=int, default=1, help="timed epochs per phase (after a warm-up)")
    parser.add_argument("--phase1-epochs", type=int, default=10, help="E for the phase-1 estimate")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()

    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(args.threads)
    tf.config.threading.set_inter_op_parallelism_threads(min(2, args.threads))
    from maskwatch.models import available_models

    x, y = load(args.images, args.size)
    started = time.perf_counter()
    results = []
    for name in args.models.split(","):
        if name not in available_models():
            print(f"{name}: not in the registry, skipped", file=sys.stderr)
            continue
        results += bench_model(name, x, y, args)

    e, n = args.phase1_epochs, len(x)
    print(
        f"\ntraining throughput, {n} mask2 faces at {args.size}x{args.size}, batch {args.batch}, "
        f"{args.threads} threads, {os.cpu_count()} CPUs\n"
    )
    print("| model | phase | img/s |\n|---|---|---:|")
    for model, phase, rate in results:
        print(f"| {model} | {phase} | {rate:,.1f} |")
    print(f"\nphase 1 of {e} epochs over N images (estimate from the rates above):\n")
    print("| model | plain s/1000 img | cached s/1000 img | speed-up |\n|---|---:|---:|---:|")
    for model in dict.fromkeys(r[0] for r in results):
        rate = {phase: r for m, phase, r in results if m == model}
        plain = e * 1000 / rate["frozen"]
        cached = 1000 / rate["extract"] + e * 1000 / rate["head"]
        print(f"| {model} | {plain:,.0f} | {cached:,.1f} | {plain / cached:.1f}x |")
    print(f"\nbench time {time.perf_counter() - started:.0f}s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
