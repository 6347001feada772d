"""Horizontal-flip test-time averaging: what it buys on real validation faces, and what it costs.

    python bench/flip_tta.py runs/default --model runs/default/export/default_float16.tflite

Scores the model on the run's VALIDATION faces (never the test split) twice: plain, and with
the probabilities averaged over each face and its mirror image; prints real-face accuracy,
macro-F1, without_mask recall < 24 px and incorrect recall/precision for both, and the time per
face of each (one batch of 16 faces, best of 5 rounds, 2 threads).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parent))

from tables import print_table  # noqa: E402


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path)
    parser.add_argument("--model", type=Path, required=True)
    args = parser.parse_args(argv)

    from maskwatch.classifier import Classifier
    from maskwatch.data import load_faces, loaded_indices
    from maskwatch.evaluate.breakdown import breakdown
    from maskwatch.evaluate.runs import run_split

    clf = Classifier.load(args.model, threads=2)
    val = run_split(args.run, "val", labels=clf.labels)
    x, y, skipped = load_faces(val, clf.input_size, progress=False)
    samples = [val.samples[i] for i in loaded_indices(val, skipped)]
    batch = x.astype(np.float32)
    plain = np.concatenate([clf.predict_batch(batch[i : i + 64]) for i in range(0, len(batch), 64)])
    mirrored = np.concatenate([clf.predict_batch(batch[i : i + 64, :, ::-1]) for i in range(0, len(batch), 64)])
    probe = batch[:16]

    def best_ms(fn) -> float:
        times = []
        for _ in range(5):
            start = time.perf_counter()
            fn()
            times.append(time.perf_counter() - start)
        return 1000 * min(times) / len(probe)

    cost = {
        "plain": best_ms(lambda: clf.predict_batch(probe)),
        "flip TTA": best_ms(lambda: clf.predict_batch(np.concatenate([probe, probe[:, :, ::-1]]))),
    }
    rows = []
    for name, probs in (("plain", plain), ("flip TTA", (plain + mirrored) / 2)):
        b = breakdown(y, probs, samples, clf.labels)
        real, small = b["real"], b["real_by_width"].get("<24")
        inc = real["per_class"]["mask_weared_incorrect"]
        small_without = small["per_class"]["without_mask"]["recall"] if small else float("nan")
        rows.append([
            name, real["n"], f"{real['accuracy']:.3f}", f"{real['macro_f1']:.3f}", f"{small_without:.3f}",
            f"{inc['recall']:.3f} / {inc['precision']:.3f}", f"{cost[name]:.2f}",
        ])  # fmt: skip
    print_table(
        f"{args.model.name} on {args.run.name} validation split",
        ["classifier", "real val faces", "accuracy", "macro-F1", "without recall < 24 px", "incorrect rec./prec.",
         "ms / face (batch 16)"],
        rows,
    )  # fmt: skip


if __name__ == "__main__":
    main()
