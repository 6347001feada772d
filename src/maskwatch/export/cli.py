"""`maskwatch export RUN_DIR_OR_KERAS`: the command-line face of `export_run` / `export_model`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def export_command(
    source: Annotated[Path, typer.Argument(help="A training run folder, or a .keras model (with its .keras.json).")],
    formats: Annotated[
        str,
        typer.Option(
            "--formats", "-f", help="Comma list of keras, tflite_float32, tflite_float16, tflite_int8, onnx; or all."
        ),
    ] = "all",
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Output folder (default: <run>/export, or beside the .keras).")
    ] = None,
    name: Annotated[str | None, typer.Option("--name", help="Base file name (default: the run or model name).")] = None,
    data: Annotated[
        Path | None,
        typer.Option("--data", help="Folder of face images for int8 calibration (default: the run's training split)."),
    ] = None,
    labels: Annotated[
        str | None, typer.Option("--labels", help="Comma list of output labels, if the .keras has no sidecar json.")
    ] = None,
    calibration: Annotated[
        int, typer.Option("--calibration", min=1, max=5000, help="Calibration crops for int8.")
    ] = 400,
) -> None:
    """Export a trained classifier to .keras / TFLite (float32, float16, int8) / ONNX, each with its .json.

    Exit code 1 when calibration images could not be read (each named on stderr; the files are written).
    """
    from rich.table import Table

    from maskwatch.export.api import export
    from maskwatch.tables import table_console

    written = export(source, formats, out=out, name=name, data=data, labels=labels, calibration=calibration)

    import json

    table = Table(title="exported")
    for column in ("format", "file", "size", "top-1 agreement", "max |p - p_keras|"):
        table.add_column(column, justify="left" if column in ("format", "file") else "right")
    for fmt, path in written.items():
        sidecar = json.loads(Path(f"{path}.json").read_text(encoding="utf-8"))
        parity = sidecar.get("parity", {})
        agreement = f"{parity['top1_agreement']:.1%} of {parity['samples']}" if "top1_agreement" in parity else "-"
        diff = f"{parity['max_abs_diff']:.2g}" if "max_abs_diff" in parity else "-"
        table.add_row(fmt, str(path), f"{path.stat().st_size / 1024:.0f} KB", agreement, diff)
    table_console().print(table)
    from maskwatch.exit_codes import finish

    finish(len(written), len(written.skipped), "calibration image", done="file(s) written")
