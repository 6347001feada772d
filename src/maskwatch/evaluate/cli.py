"""`maskwatch evaluate RUN_DIR_OR_MODEL`: the command-line face of `evaluate_run` / `evaluate_model`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def register(app: typer.Typer) -> None:
    app.command("evaluate")(evaluate_command)


def load_eval_dataset(data: Path, labels: list[str], data_type: str = "auto"):
    """A FaceDataset from a folder of class folders or a VOC folder (annotations/ + images/)."""
    from maskwatch.data import load_folder_dataset, load_voc_dataset

    if data_type == "auto":
        voc = any((data / sub).is_dir() for sub in ("annotations", "Annotations"))
        data_type = "voc" if voc else "folder"
    if data_type == "voc":
        return load_voc_dataset(data, labels=labels)
    return load_folder_dataset(data, labels=labels, group_by="stem")


def evaluate_command(
    target: Annotated[Path, typer.Argument(help="A training run folder, or a model file (.keras/.tflite/.onnx).")],
    data: Annotated[
        Path | None,
        typer.Option(
            "--data", help="Labelled faces: a folder of class folders or a VOC folder (default: the run's split)."
        ),
    ] = None,
    data_type: Annotated[str, typer.Option("--data-type", help="auto, folder or voc.")] = "auto",
    split: Annotated[str, typer.Option("--split", help="Split of the run to evaluate: test or val.")] = "test",
    model: Annotated[
        Path | None, typer.Option("--model", "-m", help="With a run folder: evaluate this file instead.")
    ] = None,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Report folder (default: the run folder).")] = None,
) -> None:
    """Accuracy, per-class precision/recall/F1, confusion matrix and log loss; writes report.md."""
    from rich.console import Console
    from rich.table import Table

    from maskwatch.errors import ConfigError
    from maskwatch.evaluate.evaluator import evaluate_model, evaluate_run, load_predictor
    from maskwatch.runs import best_checkpoint, is_run_dir

    if data_type not in ("auto", "folder", "voc"):
        raise ConfigError(f"--data-type {data_type!r}: use auto, folder or voc")
    if split not in ("train", "val", "test"):
        raise ConfigError(f"--split {split!r}: use test, val or train")
    run = is_run_dir(target)
    if run and data is None:
        result = evaluate_run(target, split, model=model, out_dir=out)
    else:
        if data is None:
            raise ConfigError(f"{target}: a model file needs --data (a folder of class folders or a VOC folder)")
        model_path = (model or best_checkpoint(target)) if run else target
        predictor = load_predictor(model_path)
        dataset = load_eval_dataset(data, list(predictor.labels), data_type)
        default_out = (target if run else Path.cwd()) / f"eval_{Path(model_path).stem}_{data.name}"
        result = evaluate_model(predictor, dataset, out or default_out, title=f"{Path(model_path).name} on {data}")

    m = result["metrics"]
    console = Console()
    table = Table(title=f"{result['title']} ({m['n']} faces)")
    for column in ("class", "precision", "recall", "F1", "support"):
        table.add_column(column, justify="left" if column == "class" else "right")
    for label, c in m["per_class"].items():
        table.add_row(label, f"{c['precision']:.3f}", f"{c['recall']:.3f}", f"{c['f1']:.3f}", str(c["support"]))
    console.print(table)
    console.print(
        f"accuracy {m['accuracy']:.4f}   macro-F1 {m['macro_f1']:.4f}   log loss {m['log_loss']:.4f}"
        + (f"   ({len(result['skipped'])} files skipped)" if result.get("skipped") else "")
    )
    files = result.get("files", {})
    if files:
        console.print(f"report: {files.get('report')}")
