"""`maskwatch synthesize DATA_ROOT OUT_DIR`: the command-line twin of
`maskwatch.data.synthetic.make_incorrect_dataset` (same arguments)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def synthesize_command(
    data_root: Annotated[Path, typer.Argument(help="Folder with MANIFEST.csv and mask2/ (e.g. ../shared/data).")],
    out_dir: Annotated[Path, typer.Argument(help="Output dataset folder (e.g. runs/synthetic_incorrect).")],
    manifest: Annotated[Path | None, typer.Option(help="Manifest (default: DATA_ROOT/MANIFEST.csv).")] = None,
    variants: Annotated[int, typer.Option(min=1, max=16, help="Images per pair (different shifts).")] = 2,
    seed: Annotated[int, typer.Option(help="Seed of the shifts and colours.")] = 0,
    face_weights: Annotated[
        str | None, typer.Option(help="YuNet .onnx for nose landmarks; auto = where detection finds it; none = off.")
    ] = "auto",
    limit: Annotated[int | None, typer.Option(min=1, help="Use only the first N pairs.")] = None,
    recolour: Annotated[bool, typer.Option("--recolour/--no-recolour", help="Vary the mask colours.")] = True,
    sheet: Annotated[Path | None, typer.Option(help="Also write a contact sheet PNG of the result here.")] = None,
) -> None:
    """Make synthetic mask_weared_incorrect faces from paired with/without-mask photos."""
    import logging

    from maskwatch.data.synthetic import INCORRECT, make_incorrect_dataset

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    made = make_incorrect_dataset(
        data_root,
        out_dir,
        manifest=manifest,
        variants=variants,
        seed=seed,
        face_weights=None if face_weights in (None, "none") else face_weights,
        limit=limit,
        recolour=recolour,
        sheet=sheet,
    )
    typer.echo(f"{len(made)} images in {out_dir / INCORRECT} (manifest {out_dir / 'MANIFEST.csv'})")
