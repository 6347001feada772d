"""`maskwatch classify SOURCE`: the command-line face of `maskwatch.classify` (same arguments)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

#: Rows printed in the terminal table; --save-json always has every result.
MAX_ROWS = 100


def classify_command(
    source: Annotated[Path, typer.Argument(help="An image, a folder of images, or a folder of class folders.")],
    model: Annotated[
        Path | None, typer.Option("--model", "-m", help="Model file (.tflite/.onnx/.keras + sidecar json).")
    ] = None,
    save_json: Annotated[Path | None, typer.Option("--save-json", help="Write all results to this JSON file.")] = None,
    batch_size: Annotated[int, typer.Option("--batch-size", min=1, max=1024, help="Faces per classifier call.")] = 32,
    max_rows: Annotated[int, typer.Option("--max-rows", min=0, help="Rows shown in the table (0 = none).")] = MAX_ROWS,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="No table or summary (skipped files still named).")
    ] = False,
) -> None:
    """Label face crops with the mask classifier; labelled class folders also get accuracy."""

    from rich.table import Table

    from maskwatch.classify import classify_source, save_results, summarize
    from maskwatch.tables import table_console

    if quiet:
        from maskwatch.logs import quiet as quiet_logs

        quiet_logs()
    console = table_console()
    run = classify_source(source, model, batch_size=batch_size)
    root = source if source.is_dir() else source.parent

    # Per-label probability columns only when the terminal has room (they are always in the JSON).
    show_probs = console.width >= 60 + 16 * len(run.labels)
    table = Table(title=f"{len(run.results)} image(s) classified", show_lines=False)
    table.add_column("file", overflow="fold")
    if run.labelled:
        table.add_column("true", no_wrap=True)
    table.add_column("label", no_wrap=True)
    table.add_column("confidence", justify="right", no_wrap=True)
    for label in run.labels if show_probs else []:
        table.add_column(f"p({label})", justify="right")
    for record in run.results[:max_rows]:
        path = Path(record["source"])
        name = str(path.relative_to(root)) if path.is_relative_to(root) else str(path)
        wrong = run.labelled and record.get("true_label") not in (None, record["label"])
        label = f"[red]{record['label']}[/red]" if wrong else record["label"]
        cells = [name] + ([record.get("true_label") or "-"] if run.labelled else [])
        cells += [label, f"{record['confidence']:.3f}"]
        cells += [f"{record['probabilities'][lab]:.3f}" for lab in run.labels] if show_probs else []
        table.add_row(*cells)
    if quiet:
        max_rows = 0
    if max_rows:
        console.print(table)
        if len(run.results) > max_rows:
            console.print(f"... {len(run.results) - max_rows} more rows (all of them with --save-json)")

    counts = {label: sum(r["label"] == label for r in run.results) for label in run.labels}
    if not quiet:
        console.print("predicted: " + ", ".join(f"{label} {n}" for label, n in counts.items()))

    metrics = summarize(run.results, run.labels) if run.labelled and not quiet else None
    if metrics:
        console.print(f"accuracy on labelled folders: {metrics['accuracy']:.3f} ({metrics['n']} images)")
        if "per_class" in metrics:
            per_class = Table(title="per class")
            for column in ("class", "precision", "recall", "F1", "support"):
                per_class.add_column(column, justify="left" if column == "class" else "right")
            for label, c in metrics["per_class"].items():
                scores = (f"{c[key]:.3f}" for key in ("precision", "recall", "f1"))
                per_class.add_row(label, *scores, str(c["support"]))
            console.print(per_class)
            console.print(f"macro-F1: {metrics['macro_f1']:.3f}")

    if save_json is not None:
        save_results(run.results, save_json)
        if not quiet:
            console.print(f"results written to {save_json}")
    from maskwatch.exit_codes import finish

    finish(len(run.results), len(run.skipped), "file")
