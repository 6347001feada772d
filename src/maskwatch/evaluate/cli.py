"""`maskwatch evaluate RUN_DIR_OR_MODEL`: the command-line face of `evaluate_run` / `evaluate_model`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


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
    from rich.table import Table

    from maskwatch.evaluate.api import evaluate
    from maskwatch.tables import table_console

    result = evaluate(target, data=data, data_type=data_type, split=split, model=model, out=out)
    m = result["metrics"]
    console = table_console()
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
    if result.get("breakdown"):
        from maskwatch.evaluate.breakdown import breakdown_rows

        labels = list(m["per_class"])
        table = Table(title="Real faces by face width (pixels in the source image), and per source")
        for column in ("faces", "n", "accuracy", "macro-F1", *(f"recall {label}" for label in labels)):
            table.add_column(column, justify="left" if column == "faces" else "right")
        for row in breakdown_rows(result["breakdown"], labels):
            table.add_row(*row)
        console.print(table)
    if result.get("scenes"):
        from maskwatch.detect.evaluation import print_report

        print_report(result["scenes"])
    files = result.get("files", {})
    if files:
        console.print(f"report: {files.get('report')}")
    from maskwatch.exit_codes import finish

    finish(int(m["n"]), len(result.get("skipped") or []), "file")
