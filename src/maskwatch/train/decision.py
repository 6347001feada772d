"""Per-class decision weights chosen on the validation split for macro-F1.

A network trained on few incorrectly worn masks and mostly large faces is too shy of the rare
classes; its argmax is not the decision that maximises macro-F1. One positive weight per class
(the first class fixed at 1) multiplies the probabilities before the argmax, and the weights are
found by exhaustive search over a log-spaced grid on the *real* faces of the *validation* split —
never the test split, and not the pasted-on masks, whose easy with/without faces would otherwise
set the boundaries. A gain below MIN_GAIN is treated as noise and the weights stay 1.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np

#: Candidate weights per class (the first class stays 1): e^-1.5 .. e^2.5 in steps of 0.25.
GRID = np.exp(np.arange(-1.5, 2.51, 0.25))
#: Macro-F1 within this of the best counts as equal (about one face of a rare class): the
#: smallest such correction is kept, since a larger one only fits the validation faces better.
TOLERANCE = 0.003
#: Fewest real validation faces to tune on; below that, every validation face is used.
MIN_REAL = 50
#: Smallest macro-F1 gain on validation worth moving away from plain argmax.
MIN_GAIN = 0.005


def macro_f1(y: np.ndarray, pred: np.ndarray, n_classes: int) -> float:
    """Macro-F1 over the classes present in y (fast, numpy only: the search calls it thousands of times)."""
    scores = []
    for c in range(n_classes):
        true, predicted = y == c, pred == c
        if not true.any():
            continue
        tp = float(np.sum(true & predicted))
        denominator = true.sum() + predicted.sum()
        scores.append(2 * tp / denominator if denominator else 0.0)
    return float(np.mean(scores)) if scores else 0.0


def tune_decision_weights(
    probs: np.ndarray, y: np.ndarray, labels: Sequence[str], grid: np.ndarray = GRID
) -> tuple[dict[str, float], dict[str, float]]:
    """({label: weight}, {"before": macro-F1, "after": macro-F1}) on validation probabilities."""
    probs, y = np.asarray(probs, dtype=np.float64), np.asarray(y, dtype=np.int64)
    n = len(labels)
    before = macro_f1(y, probs.argmax(axis=1), n)
    best, best_score, best_size = np.ones(n), before, 0.0
    for combo in itertools.product(grid, repeat=n - 1):
        weights = np.array([1.0, *combo])
        score = macro_f1(y, (probs * weights).argmax(axis=1), n)
        size = float(np.abs(np.log(weights)).sum())
        if score > best_score + 1e-9 or (abs(score - best_score) <= 1e-9 and size < best_size):
            best, best_score, best_size = weights, score, size
    if best_score < before + MIN_GAIN:
        best, best_score = np.ones(n), before
    else:  # the score is flat near its top: take the smallest correction within TOLERANCE of the best
        smallest = None
        for combo in itertools.product(grid, repeat=n - 1):
            weights = np.array([1.0, *combo])
            score = macro_f1(y, (probs * weights).argmax(axis=1), n)
            size = float(np.abs(np.log(weights)).sum())
            if score >= best_score - TOLERANCE and (smallest is None or size < smallest[0]):
                smallest = (size, weights, score)
        _, best, best_score = smallest
    return {label: round(float(w), 4) for label, w in zip(labels, best, strict=True)}, {
        "before": round(before, 4),
        "after": round(best_score, 4),
    }


def real_rows(dataset, skipped) -> np.ndarray:
    """Boolean mask over the rows load_faces returned for `dataset`: True for real faces.

    All True when fewer than MIN_REAL real faces are there (a dataset without real photos).
    """
    from maskwatch.data import loaded_indices

    real = np.array([dataset.samples[i].real for i in loaded_indices(dataset, skipped)], dtype=bool)
    return real if real.sum() >= MIN_REAL else np.ones(len(real), dtype=bool)
