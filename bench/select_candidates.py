"""Score candidate models on the real validation faces the way the shipped model was chosen.

    python bench/select_candidates.py runs/G100 runs/ens2/members/1 runs/G100+runs/D60

Each argument is a run folder (its checkpoints/best.keras), or several joined by "+" (a probability
ensemble: their softmax outputs averaged). All candidates must share one split (the first run's
split.csv, or --split-from). Printed per candidate, on the REAL validation faces only:

- OOF macro-F1: per-class decision weights searched on 4/5 of the validation groups and applied to
  the fifth (5-fold GroupKFold by MANIFEST group), so the weights never score the faces they were
  chosen on. This is the figure the choice is made on (MODEL_CARD, "Third round").
- plain macro-F1 (argmax, no weights), log-loss and Brier score: recorded beside it; the last two are
  proper scores with less variance than macro-F1 on a few hundred faces.
"""

from __future__ import annotations

import argparse
import csv
import os
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def real_validation(split_csv: Path) -> tuple[np.ndarray, np.ndarray]:
    """Mask of the real faces among the validation rows, and their groups."""
    with open(split_csv, newline="", encoding="utf-8") as handle:
        rows = [r for r in csv.DictReader(handle) if r["split"] == "val"]
    real = np.array([r.get("real", "true") != "false" for r in rows])
    return real, np.array([r["group"] for r, keep in zip(rows, real, strict=True) if keep])


def oof_predictions(probs: np.ndarray, y: np.ndarray, groups: np.ndarray, labels: list[str]) -> np.ndarray:
    from sklearn.model_selection import GroupKFold

    from maskwatch.train.decision import tune_decision_weights

    predicted = np.zeros(len(y), dtype=int)
    for fit, held in GroupKFold(5).split(probs, y, groups):
        weights, _ = tune_decision_weights(probs[fit], y[fit], labels)
        predicted[held] = (probs[held] * np.array([weights[k] for k in labels])).argmax(1)
    return predicted


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("candidates", nargs="+", help="RUN or RUN+RUN+... (probability ensemble)")
    parser.add_argument("--split-from", type=Path, help="run folder whose split.csv to use (default: the first)")
    args = parser.parse_args()

    import keras

    from maskwatch.data import load_faces
    from maskwatch.evaluate.runs import run_split
    from maskwatch.train.decision import macro_f1

    first = Path(args.candidates[0].split("+")[0])
    split_run = args.split_from or first
    labels = ["with_mask", "without_mask", "mask_weared_incorrect"]
    faces = run_split(split_run, "val", labels=labels)
    real, groups = real_validation(split_run / "split.csv")
    cache: dict[str, np.ndarray] = {}
    x = y = None
    print(f"{'candidate':<44}{'OOF F1':>8}{'OOF with':>9}{'OOF inc r/p':>13}{'plain F1':>9}{'log-loss':>9}{'Brier':>7}")
    for spec in args.candidates:
        parts = spec.split("+")
        for run in parts:
            if run not in cache:
                model = keras.saving.load_model(Path(run) / "checkpoints" / "best.keras", compile=False)
                if x is None:
                    x, y, skipped = load_faces(faces, tuple(model.input_shape[1:3]), progress=False)
                    if skipped or len(y) != len(real):
                        raise SystemExit(f"{split_run}: {len(skipped)} validation faces unreadable; cannot score")
                    x, y = x.astype(np.float32), y[real]
                cache[run] = model.predict(x, batch_size=64, verbose=0)[real]
        probs = np.mean([cache[run] for run in parts], axis=0)
        oof = oof_predictions(probs, y, groups, labels)
        recall = [float(np.mean(oof[y == c] == c)) for c in range(3)]
        precision = float(np.mean(y[oof == 2] == 2)) if (oof == 2).any() else 0.0
        clipped = np.clip(probs[np.arange(len(y)), y], 1e-7, 1.0)
        brier = float(((probs - np.eye(3)[y]) ** 2).sum(1).mean())
        print(
            f"{spec[-44:]:<44}{macro_f1(y, oof, 3):>8.4f}{recall[0]:>9.3f}{recall[2]:>7.3f}/{precision:.3f}"
            f"{macro_f1(y, probs.argmax(1), 3):>9.4f}{float(-np.log(clipped).mean()):>9.4f}{brier:>7.4f}"
        )


if __name__ == "__main__":
    main()
