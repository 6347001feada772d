"""`maskwatch watch cameras.yaml` (mirrors maskwatch.watch.watch one to one)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from maskwatch.detect.cli import AddressOpt


def watch_command(
    config: Annotated[Path, typer.Argument(help="cameras.yaml: the streams, their options, the event sink.")],
    engine: Annotated[
        str, typer.Option("--engine", help="local (threads of this process) or ray (one Ray actor per stream).")
    ] = "local",
    address: AddressOpt = None,
    duration: Annotated[
        float | None, typer.Option("--duration", min=0.1, help="Stop after this many seconds (default: until Ctrl-C).")
    ] = None,
    save_json: Annotated[Path | None, typer.Option("--save-json", help="Write the final report as JSON.")] = None,
    verbose: Annotated[bool, typer.Option("--verbose/--quiet", " /-q", help="The per-camera report on stderr.")] = True,
) -> None:
    """Watch every camera of CONFIG at once; events go to its sink (JSON Lines files, a webhook).

    Exit code 1 when a stream failed (the others ran on; its error is on stderr), 2 when all failed.
    """
    from maskwatch.exit_codes import finish
    from maskwatch.watch.runner import watch

    report = watch(config, engine=engine, address=address, duration=duration, save_json=save_json, verbose=verbose)
    failed = {name: camera["error"] for name, camera in report["cameras"].items() if camera["error"]}
    if not verbose:  # -q hides the report, never the errors
        for name, error in failed.items():
            typer.echo(f"{name}: {error}", err=True)
    finish(len(report["cameras"]) - len(failed), len(failed), "stream", "failed")
