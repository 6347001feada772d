"""Per-class decision weights chosen on the validation split for macro-F1.

A network trained on few incorrectly worn masks and mostly large faces is too shy of the rare
classes; its argmax is not the decision that maximises macro-F1. One positive weight per class
(the first class fixed at 1) multiplies the probabilities before the argmax, and the weights are
found by exhaustive search over a log-spaced grid on the *real* faces of the *validation* split —
never the test split, and not the pasted-on masks, whose easy with/without faces would otherwise
set the boundaries. A gain below MIN_GAIN is treated as noise and the weights stay 1.

Macro-F1 alone happily trades a point of the common class for a rare one: weights that make
"without_mask" nine times likelier cost ~1 % of the masked faces. When that recall matters (a door
camera that flags one masked visitor in thirty as unmasked is switched off), `min_recall` sets a
floor per class on the validation faces: only weights that keep every floor compete (train
option `decision_min_recall`). When not even the plain argmax keeps a floor, the weights that come
closest to it win.
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


def recall_shortfall(y: np.ndarray, pred: np.ndarray, floors: dict[int, float]) -> float:
    """How far the recalls of the floored classes fall below their floors, summed (0 = all kept)."""
    short = 0.0
    for c, floor in floors.items():
        true = y == c
        if true.any():
            short += max(0.0, floor - float(np.mean(pred[true] == c)))
    return short


def tune_decision_weights(
    probs: np.ndarray,
    y: np.ndarray,
    labels: Sequence[str],
    grid: np.ndarray = GRID,
    min_recall: dict[str, float] | None = None,
) -> tuple[dict[str, float], dict[str, float]]:
    """({label: weight}, {"before": macro-F1, "after": macro-F1}) on validation probabilities.

    min_recall: {label: lowest validation recall the weights may leave that class} (see above).
    """
    probs, y = np.asarray(probs, dtype=np.float64), np.asarray(y, dtype=np.int64)
    n = len(labels)
    unknown = set(min_recall or {}) - set(labels)
    if unknown:
        raise ValueError(f"decision_min_recall: unknown labels {sorted(unknown)} (labels: {list(labels)})")
    floors = {list(labels).index(k): float(v) for k, v in (min_recall or {}).items()}
    candidates = [np.ones(n)] + [np.array([1.0, *c]) for c in itertools.product(grid, repeat=n - 1)]
    scored = []  # (shortfall below the floors, -macro-F1, size of the correction, weights)
    for weights in candidates:
        pred = (probs * weights).argmax(axis=1)
        size = float(np.abs(np.log(weights)).sum())
        scored.append((recall_shortfall(y, pred, floors), -macro_f1(y, pred, n), size, weights))
    least_short = min(s[0] for s in scored)
    allowed = [s for s in scored if s[0] <= least_short + 1e-9]  # every floor kept, or as close as any
    plain = scored[0]
    before = -plain[1]
    best_score = max(-s[1] for s in allowed)
    if plain in allowed and best_score < before + MIN_GAIN:
        best, best_score = np.ones(n), before
    else:  # the score is flat near its top: take the smallest correction within TOLERANCE of the best
        near = [s for s in allowed if -s[1] >= best_score - TOLERANCE]
        _, negative_score, _, best = min(near, key=lambda s: s[2])
        best_score = -negative_score
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
