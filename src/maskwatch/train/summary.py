"""The end of a run: model metadata beside checkpoints, summary.json and the one-screen table.

The summary is what a person reads first: how much data went where (and how many files were
skipped), which epoch was best, validation metrics, time per phase and where the files are.
"""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import logging
import time
from collections.abc import Mapping
from pathlib import Path

from maskwatch.train.config import Config

log = logging.getLogger("maskwatch.train")


def model_info_writer(cfg: Config, labels: list[str], input_size: tuple[int, int]):
    """Write `<checkpoint>.json` beside each checkpoint, so `Classifier.load(best.keras)` knows the labels."""
    from maskwatch.classifier import ModelInfo, write_model_info

    margins = {src.margin for src in cfg.data.sources if src.type in ("voc", "yolo", "photos")}
    info = ModelInfo(
        labels=list(labels),
        input_size=input_size,
        backbone=cfg.model.name,
        crop_margin=margins.pop() if len(margins) == 1 else 0.1,
        extra={
            "run": cfg.run.name,
            **({"members": cfg.model.members} if cfg.model.members > 1 else {}),
            **({"small_faces": cfg.train.small_faces.model_dump()} if cfg.train.small_faces else {}),
        },
    )

    def write(model_path: Path, decision_weights: dict[str, float] | None = None) -> None:
        extra = {**info.extra, "decision_weights": decision_weights} if decision_weights else info.extra
        write_model_info(model_path, dataclasses.replace(info, extra=extra))

    return write


def build_summary(cfg, paths, state, splits, labels, input_size, skipped, val_metrics, phases, started) -> dict:
    by_kind: dict[str, int] = {}
    for s in skipped:
        kind = getattr(s, "kind", "other")
        by_kind[kind] = by_kind.get(kind, 0) + 1
    return {
        "name": paths.root.name,
        "run_dir": str(paths.root),
        "status": state.status,
        "model": cfg.model.name,
        "labels": labels,
        "input_size": list(input_size),
        "data": {
            "counts": {name: ds.counts() for name, ds in splits.items()},
            "skipped": {
                "count": len(skipped),
                "by_kind": by_kind,
                "files": [{"path": s.path, "kind": s.kind, "reason": s.reason} for s in skipped],
            },
        },
        "epochs_done": state.epochs_done,
        "best_epoch": state.best_epoch,
        "best_val_loss": state.best_val_loss,
        "val_metrics": val_metrics,
        "phases": phases,
        "train_seconds": round(sum(p["seconds"] for p in phases.values()), 1),
        "session_seconds": round(time.perf_counter() - started, 1),
        "files": {
            "best": str(paths.best) if paths.best.is_file() else None,
            "last": str(paths.last) if paths.last.is_file() else None,
            "history": str(paths.history),
            "config": str(paths.config),
            "log": str(paths.log),
            "split": str(paths.split),
        },
    }


def phase_report(path: Path, session: Mapping[str, dict]) -> dict[str, dict]:
    """Epochs and epoch seconds per phase over all sessions of the run (from history.csv)."""
    report: dict[str, dict] = {}
    if path.is_file():
        with open(path, newline="", encoding="utf-8") as handle:
            for row in csv.DictReader(handle):
                phase = report.setdefault(row.get("phase") or "?", {"epochs": 0, "seconds": 0.0})
                phase["epochs"] += 1
                with contextlib.suppress(TypeError, ValueError):
                    phase["seconds"] = round(phase["seconds"] + float(row["seconds"]), 2)
    for phase, info in session.items():
        report.setdefault(phase, {"epochs": 0, "seconds": 0.0}).update(info)
    return report


def print_summary(summary: dict) -> None:
    """One screen: data counts, best epoch, validation metrics, time, where the files are."""
    from rich.table import Table

    from maskwatch.tables import table_console

    table = Table(title=f"maskwatch run {summary['name']}", show_header=False, title_justify="left")
    table.add_column(style="bold")
    table.add_column()
    labels = summary["labels"]
    table.add_row("model", f"{summary['model']} {summary['input_size'][0]}x{summary['input_size'][1]}, labels {labels}")
    for split_name, counts in summary["data"]["counts"].items():
        per_label = ", ".join(f"{k} {v:,}" for k, v in counts.items())
        table.add_row(f"{split_name} faces", f"{sum(counts.values()):,} ({per_label})")
    skipped = summary["data"]["skipped"]
    kinds = ", ".join(f"{k} {v}" for k, v in skipped["by_kind"].items())
    table.add_row("skipped", f"{skipped['count']:,}" + (f" ({kinds})" if kinds else ""))
    best = summary["best_epoch"]
    loss = summary["best_val_loss"]
    table.add_row("best epoch", f"{best} of {summary['epochs_done']}, val_loss {loss:.4f}" if best else "none")
    vm = summary["val_metrics"]
    table.add_row("val accuracy", f"{vm['accuracy']:.4f}   macro F1 {vm['macro_f1']:.4f}")
    table.add_row("val recall", ", ".join(f"{k} {v['recall']:.3f}" for k, v in vm["per_class"].items()))
    for phase, info in summary["phases"].items():
        extra = f", features {info['feature_cache']}" if info.get("feature_cache", "off") != "off" else ""
        table.add_row(f"phase {phase}", f"{info['epochs']} epochs, {info['seconds']:.0f}s{extra}")
    table.add_row(
        "time", f"{summary['session_seconds']:.0f}s this session, {summary['train_seconds'] or 0:.0f}s in epochs"
    )
    table.add_row("best model", str(summary["files"]["best"]))
    table.add_row("run folder", summary["run_dir"])
    table_console(stderr=True).print(table)
