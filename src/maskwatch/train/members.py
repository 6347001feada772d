"""An ensemble run (`model.members: N`): N networks trained alike with seeds train.seed, +1, ...

Why: on a few hundred real validation faces one fine-tuned network's scores move by about 0.02
macro-F1 from one seed or epoch to the next (MODEL_CARD), and averaging the probabilities of a few
such networks removes much of that variance. Each member is a complete run of its own under
`<run>/members/<i>/` (config, history, checkpoints, state), so `--resume` continues the member
that was cut off and skips the finished ones. The data is decoded once for all of them and the
phase-1 feature cache is shared. The run's own `checkpoints/best.keras` is the averaged model
(`maskwatch.models.ensemble`): one input, one softmax, exported like any single classifier.
"""

from __future__ import annotations

import csv
import io
import logging

from maskwatch.atomic import atomic_write_text, staged_path
from maskwatch.runs import RunPaths, RunState
from maskwatch.train.config import Config
from maskwatch.train.network import TrainingData, fit_network

log = logging.getLogger("maskwatch.train")


def member_config(cfg: Config, index: int) -> Config:
    """Member `index`'s config: the run's, with train.seed + index and one network."""
    return cfg.model_copy(
        update={
            "model": cfg.model.model_copy(update={"members": 1}),
            "train": cfg.train.model_copy(update={"seed": cfg.train.seed + index, "tune_decision": False}),
        }
    )


def fit_members(cfg: Config, paths: RunPaths, state, data: TrainingData, extra_callbacks, progress, write_info):
    """Train (or resume) every member, then save their average as the run's best.keras."""
    from maskwatch.models import average_classifiers

    networks, phases = [], {}
    for index in range(cfg.model.members):
        member_cfg = member_config(cfg, index)
        member = RunPaths(paths.root / "members" / str(index))
        member.root.mkdir(parents=True, exist_ok=True)
        atomic_write_text(member.config, member_cfg.to_yaml())
        member_state = RunState.load(member.state) if member.state.is_file() else RunState()
        seed = member_cfg.train.seed
        log.info("member %d of %d (train.seed %d): %s", index + 1, cfg.model.members, seed, member.root)
        cm, member_phases = fit_network(member_cfg, member, member_state, data, extra_callbacks, progress)
        networks.append(cm.model)
        for phase, report in member_phases.items():  # epochs and seconds come from the merged history
            phases.setdefault(phase, report)
    model = average_classifiers(networks)
    paths.checkpoints.mkdir(parents=True, exist_ok=True)
    with staged_path(paths.best) as tmp:
        model.save(tmp)
    write_info(paths.best)
    state.epochs_done = _merge_histories(paths, cfg.model.members)
    state.phase, state.status = "done", "finished"
    state.save(paths.state)
    log.info("ensemble of %d members saved: %s", cfg.model.members, paths.best)
    return model, phases


def _merge_histories(paths: RunPaths, members: int) -> int:
    """Write the run's history.csv (every member's epochs, with a `member` column); returns the epoch count."""
    rows: list[dict] = []
    for index in range(members):
        history = RunPaths(paths.root / "members" / str(index)).history
        if history.is_file():
            with open(history, newline="", encoding="utf-8") as handle:
                rows += [{"member": index, **row} for row in csv.DictReader(handle)]
    fields = list(dict.fromkeys(key for row in rows for key in row)) or ["member"]
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=fields, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    atomic_write_text(paths.history, text.getvalue())
    return len(rows)
