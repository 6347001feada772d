"""CLI glue of the Ray engine: `maskwatch detect SOURCE --engine ray` lands here.

Same function as `maskwatch.detect(source, engine="ray")` (maskwatch.scale.engine.detect_ray);
the exit code tells the truth: 1 when some files could not be used (all others are done and
written), 0 only when every image was processed.
"""

from __future__ import annotations

import typer


def detect_ray_command(source, save_parquet, save_json, save_csv, save_coco, address, quiet, options) -> list[dict]:
    from maskwatch.scale.engine import detect_ray

    results, report = detect_ray(
        source,
        save_parquet,
        save_json=save_json,
        save_csv=save_csv,
        save_coco=save_coco,
        address=address,
        verbose=not quiet,
        **options,
    )
    if report.errors:
        if not quiet:
            from maskwatch.detect.cli import print_results

            print_results(results)
        if quiet:
            for problem in report.errors:
                typer.echo(f"skipped {problem}", err=True)
        typer.secho(f"{len(report.errors)} file(s) could not be used", fg=typer.colors.RED, err=True)
        raise typer.Exit(1)
    return results
