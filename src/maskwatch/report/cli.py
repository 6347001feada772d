"""`maskwatch report RESULTS` (mirrors maskwatch.report.report one to one)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def report_command(
    results: Annotated[Path, typer.Argument(help="Results file of `maskwatch detect --save-json` (images or video).")],
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="HTML file to write (default: RESULTS with .html).")
    ] = None,
    video: Annotated[
        Path | None, typer.Option("--video", help="The video file, for frame thumbnails (default: as recorded).")
    ] = None,
    worst: Annotated[int, typer.Option("--worst", min=0, max=100, help="Thumbnails of the N worst images/frames.")] = 8,
) -> None:
    """Turn a results file into one self-contained HTML page: counts, a chart, the worst frames.

    Exit code 1 when unreadable lines of RESULTS were skipped (a killed run's cut last line).
    """
    from maskwatch.exit_codes import finish
    from maskwatch.report import load_results, report

    loaded = load_results(results)
    typer.echo(str(report(loaded, output=output, video=video, worst=worst)))
    if loaded.bad_lines:
        typer.echo(f"{results}: {loaded.bad_lines} unreadable line(s) skipped", err=True)
    finish(len(loaded.entries), loaded.bad_lines, "results line")
