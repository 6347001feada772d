"""Train a mask classifier, keras-io style: data -> model -> phase 1 -> phase 2 -> summary.

    result = maskwatch.train.train("configs/default.yaml", epochs=3, name="try1")
    result.best_model   # runs/try1/checkpoints/best.keras (+ best.keras.json: labels, input size)

Two phases, as in transfer learning: phase 1 freezes the pretrained backbone and trains only the
new head at a high learning rate; phase 2 unfreezes the top of the backbone and fine-tunes at a
low learning rate, starting from phase 1's best weights. When phase 1 runs without augmentation
the backbone's output is fixed, so its features are computed once (cached in the run folder)
and only the head is fitted on them, which makes phase 1 many times faster.

Everything a run produces lives in `runs/<name>/`: config.yaml (the resolved config),
train.log, history.csv (one row per epoch, both phases), split.csv (which file went where),
checkpoints/{best,last}.keras + state.json (for `--resume`), cache/ (features), summary.json.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from maskwatch.errors import MaskwatchError
from maskwatch.runs import RunPaths, run_lock, write_split, write_summary
from maskwatch.train.config import Config, ConfigSource
from maskwatch.train.fitting import configure_tensorflow, predict_probabilities, validation_metrics
from maskwatch.train.members import fit_members
from maskwatch.train.network import TrainingData, fit_network, input_size_of
from maskwatch.train.rundir import OPTION_KEYS, merge_overrides, prepare_run, run_logging
from maskwatch.train.summary import build_summary, model_info_writer, phase_report, print_summary

log = logging.getLogger("maskwatch.train")


@dataclass
class RunResult:
    """What a finished run produced (everything is also in `run_dir/summary.json`)."""

    run_dir: Path
    best_model: Path | None
    last_model: Path | None
    labels: list[str]
    input_size: tuple[int, int]
    best_epoch: int | None
    best_val_loss: float | None
    val_metrics: dict
    summary: dict = field(repr=False)
    evaluate: bool = False  # run.evaluate: the caller (`maskwatch train`) evaluates the run next

    @property
    def history(self) -> Path:
        return self.run_dir / "history.csv"


# ---------------------------------------------------------------------------------------------
# The public entry point
# ---------------------------------------------------------------------------------------------


def train(
    config: ConfigSource = None,
    *,
    name: str | None = None,
    resume: bool = False,
    overrides: Mapping[str, Any] | Iterable[str] | None = None,
    callbacks: list | None = None,
    progress: bool = True,
    **options: Any,
) -> RunResult:
    """Train a classifier from a config (YAML path, dict or Config); the Python twin of `maskwatch train`.

    name: run folder under `run.root` (default: a timestamp). resume: continue the run `name`
    (or the run folder given as `config`) from its last checkpoint. overrides: dotted keys,
    `{"train.epochs": 3}` or `["train.epochs=3"]` (CLI `--set`). options: the typed CLI options
    (epochs, lr, batch_size, finetune_epochs, finetune_lr, model, input_size, weights, root,
    evaluate, augment, sample_per_class, seed) or any key written `section__key`
    (`finetune__fraction=0.5`). callbacks: extra Keras callbacks for every phase.
    Training only trains: evaluation is the next stage, which `maskwatch train` runs when
    `run.evaluate` is on (`result.evaluate`); in Python call
    `maskwatch.evaluate.evaluate_finished_run(result.run_dir)`.
    """
    merged = merge_overrides(overrides, options)
    cfg, paths, state = prepare_run(config, name, resume, merged)
    with run_lock(paths), run_logging(paths.log):
        try:
            return _train(cfg, paths, state, callbacks or [], progress)
        except KeyboardInterrupt:
            state.status = "interrupted"
            if paths.checkpoints.is_dir():
                state.save(paths.state)
            log.warning(
                "interrupted after %d epoch(s); continue with: maskwatch train --resume --name %s --root %s",
                state.epochs_done,
                paths.root.name,
                paths.root.parent,
            )
            raise


#: The typed options `train(**options)` maps to config keys (for the CLI mirror test, as settings.options_of).
train.__options__ = frozenset(OPTION_KEYS)  # type: ignore[attr-defined]


def _train(cfg: Config, paths: RunPaths, state, extra_callbacks: list, progress: bool) -> RunResult:
    from maskwatch.data import class_weights, load_faces, load_sources, oversample, split_dataset
    from maskwatch.train.decision import real_rows

    started = time.perf_counter()
    configure_tensorflow(cfg.train)
    log.info("run folder %s (%s)", paths.root, "resuming" if state.epochs_done or state.phase != "frozen" else "new")

    # 1. Data: read every source, cap classes if asked, split by group (never by file).
    from maskwatch.train.faces import pipeline_face_finder

    photos = any(src.type == "photos" for src in cfg.data.sources)
    dataset = load_sources(cfg.data, find_faces=pipeline_face_finder() if photos else None)
    splits = split_dataset(dataset, cfg.data)
    labels = list(dataset.labels)
    write_split(paths.split, splits)
    for split_name, ds in splits.items():
        log.info("%-5s %s", split_name, ds.summary())

    # 2. Pixels: decode, crop and resize once; a bad file is skipped and counted, never fatal.
    input_size = input_size_of(cfg)
    train_split = splits["train"]
    if cfg.data.detector_framing:  # a second crop per scene face, framed as the pipeline frames it
        from maskwatch.data.framing import add_detector_framing

        scenes = {Path(src.path).name for src in cfg.data.sources if src.type in ("voc", "yolo")}
        train_split = add_detector_framing(train_split, pipeline_face_finder(upscale=2.0), scenes)
    if cfg.data.oversample:
        train_split = oversample(train_split, seed=cfg.data.seed)
    x_train, y_train, skipped_train = load_faces(train_split, input_size, progress=progress)
    x_val, y_val, skipped_val = load_faces(splits["val"], input_size, progress=progress)
    if len(y_train) == 0 or len(y_val) == 0:
        raise MaskwatchError(f"no usable faces in the {'train' if len(y_train) == 0 else 'val'} split")
    weights = None
    if cfg.data.class_weights and not cfg.data.oversample:
        weights = class_weights(splits["train"])
        log.info("class weights %s", {labels[i]: round(w, 3) for i, w in weights.items()})
    data = TrainingData(train_split, x_train, y_train, x_val, y_val, weights, labels, paths.cache)
    write_info = model_info_writer(cfg, labels, input_size)

    # 3. The network(s): phase 1 (backbone frozen) then phase 2 (fine-tuning), see train/network.py.
    if cfg.model.members == 1:
        cm, session_phases = fit_network(cfg, paths, state, data, extra_callbacks, progress)
        model = cm.model
    else:  # an ensemble: each member a network of its own, their probabilities averaged in one model
        model, session_phases = fit_members(cfg, paths, state, data, extra_callbacks, progress, write_info)

    # 4. The best model on the validation split, its decision weights, the summary.
    val_probs = predict_probabilities(model, x_val, cfg.train.batch_size)
    val_metrics = validation_metrics(val_probs, y_val, labels)
    if cfg.train.tune_decision and paths.best.is_file():  # per-class weights for macro-F1, on validation only
        from maskwatch.train.decision import tune_decision_weights

        real = real_rows(splits["val"], skipped_val)
        weights, scores = tune_decision_weights(
            val_probs[real], y_val[real], labels, min_recall=cfg.train.decision_min_recall
        )
        write_info(paths.best, decision_weights=weights)
        val_metrics["decision_weights"], val_metrics["macro_f1_with_weights"] = weights, scores["after"]
        log.info("decision weights %s: validation macro-F1 %.4f -> %.4f", weights, scores["before"], scores["after"])
    skipped = list(dataset.skipped) + list(skipped_train) + list(skipped_val)
    phases = phase_report(paths.history, session_phases)
    summary = build_summary(cfg, paths, state, splits, labels, input_size, skipped, val_metrics, phases, started)
    write_summary(paths.root, summary)
    print_summary(summary)
    return RunResult(
        run_dir=paths.root,
        best_model=paths.best if paths.best.is_file() else None,
        last_model=paths.last if paths.last.is_file() else None,
        labels=labels,
        input_size=input_size,
        best_epoch=state.best_epoch,
        best_val_loss=state.best_val_loss,
        val_metrics=val_metrics,
        summary=summary,
        evaluate=cfg.run.evaluate,
    )
