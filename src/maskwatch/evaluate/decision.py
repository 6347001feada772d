"""Choose (or re-choose) the decision weights of a finished run on its validation split.

Training does this itself (train.tune_decision); this is for runs trained before, or after
changing the search: it reads the run's own val faces (split.csv), scores the best checkpoint
without weights, searches the weights on its real faces (maskwatch.train.decision), writes them into the
checkpoint's sidecar, so every later evaluation and export uses them. The test split is never read.
"""

from __future__ import annotations

import os
from pathlib import Path

from maskwatch.classifier import read_model_info, write_model_info


def tune_run(run_dir: str | os.PathLike, min_recall: dict[str, float] | None = None) -> dict:
    """{"decision_weights", "before", "after"} (validation macro-F1) for a run's best checkpoint.

    min_recall: recall floors per class (train.decision_min_recall); default: the run's own config.
    """
    import dataclasses

    from maskwatch.data import load_faces
    from maskwatch.evaluate.evaluator import load_predictor, predict_in_batches
    from maskwatch.evaluate.runs import run_split
    from maskwatch.runs import RunPaths, best_checkpoint
    from maskwatch.train.config import load_config
    from maskwatch.train.decision import real_rows, tune_decision_weights

    checkpoint = best_checkpoint(Path(run_dir))
    predictor = load_predictor(checkpoint)
    predictor.weights = None  # search from the network's own probabilities
    val = run_split(run_dir, "val", labels=list(predictor.labels))
    x, y, skipped = load_faces(val, predictor.input_size, progress=False)
    real = real_rows(val, skipped)
    probs = predict_in_batches(predictor, x)
    if min_recall is None and RunPaths(Path(run_dir)).config.is_file():
        min_recall = load_config(RunPaths(Path(run_dir)).config).train.decision_min_recall
    weights, scores = tune_decision_weights(probs[real], y[real], predictor.labels, min_recall=min_recall)
    info = read_model_info(checkpoint)
    write_model_info(checkpoint, dataclasses.replace(info, extra={**info.extra, "decision_weights": weights}))
    return {"decision_weights": weights, **scores}
