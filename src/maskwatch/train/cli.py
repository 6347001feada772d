"""`maskwatch train`: the command-line twin of `maskwatch.train.train` (same options, same result)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from maskwatch.settings import option
from maskwatch.train.config import Config
from maskwatch.train.rundir import OPTION_KEYS


def _key(name: str) -> dict:
    """A typed option's help and range from the config key it sets (OPTION_KEYS), so `--epochs 0`
    is refused by the command line exactly as `train.epochs: 0` in the YAML would be."""
    section, field = OPTION_KEYS[name].split(".")
    out = option(Config.model_fields[section].annotation, field)
    return {**out, "help": f"{out.get('help', '')} ({OPTION_KEYS[name]})"}


def train_command(
    config: Annotated[Path | None, typer.Option("--config", "-c", help="YAML config; with --resume optional")] = None,
    name: Annotated[str | None, typer.Option("--name", "-n", help="run folder under run.root (default: time)")] = None,
    resume: Annotated[bool, typer.Option("--resume", help="continue run NAME from its last checkpoint")] = False,
    overrides: Annotated[
        list[str] | None,
        typer.Option("--set", "-s", metavar="KEY=VALUE", help="any config key, e.g. train.epochs=3 (see --keys)"),
    ] = None,
    epochs: Annotated[int | None, typer.Option(**_key("epochs"))] = None,
    finetune_epochs: Annotated[int | None, typer.Option(**_key("finetune_epochs"))] = None,
    batch_size: Annotated[int | None, typer.Option(**_key("batch_size"))] = None,
    lr: Annotated[float | None, typer.Option(**_key("lr"))] = None,
    finetune_lr: Annotated[float | None, typer.Option(**_key("finetune_lr"))] = None,
    model: Annotated[str | None, typer.Option(**_key("model"))] = None,
    input_size: Annotated[int | None, typer.Option(**_key("input_size"))] = None,
    sample_per_class: Annotated[int | None, typer.Option(**_key("sample_per_class"))] = None,
    root: Annotated[Path | None, typer.Option(**_key("root"))] = None,
    evaluate: Annotated[bool | None, typer.Option("--evaluate/--no-evaluate", **_key("evaluate"))] = None,
    progress: Annotated[bool, typer.Option("--progress/--no-progress", help="progress bars")] = True,
    keys: Annotated[bool, typer.Option("--keys", help="list every config key, default and range; exit")] = False,
) -> None:
    """Train a mask classifier (phase 1: frozen backbone, phase 2: fine-tuning) into runs/NAME/.

    Exit code 1 when some training images, boxes, links or files were skipped (each is named in
    train.log and listed in summary.json; faces below min_face are a filter, not a skip).
    """
    if keys:
        _print_keys()
        return
    if config is None and not resume:
        raise typer.BadParameter("give --config FILE (or --resume --name NAME)", param_hint="--config")
    import os

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from maskwatch.train.trainer import train

    try:
        result = train(
            config,
            name=name,
            resume=resume,
            overrides=overrides or None,
            progress=progress,
            epochs=epochs,
            finetune_epochs=finetune_epochs,
            batch_size=batch_size,
            lr=lr,
            finetune_lr=finetune_lr,
            model=model,
            input_size=input_size,
            sample_per_class=sample_per_class,
            root=str(root) if root is not None else None,
            evaluate=evaluate,
        )
    except KeyboardInterrupt:
        typer.secho("interrupted: the last finished epoch is saved; continue with --resume", fg="yellow", err=True)
        raise typer.Exit(130) from None
    if result.evaluate and result.best_model is not None:
        from maskwatch.evaluate import evaluate_finished_run

        evaluate_finished_run(result.run_dir)
    typer.echo(str(result.best_model or result.run_dir))
    from maskwatch.exit_codes import finish

    used, skipped = training_inputs(result.summary)
    finish(used, skipped, "training input", done="faces used")


#: Skip kinds that are the config's own filters (faces under `min_face`), not bad input.
FILTERED_KINDS = frozenset({"small_face"})


def training_inputs(summary: dict) -> tuple[int, int]:
    """(faces used, inputs skipped) of a run's summary, for the exit code: 1 when any image, box,
    link or file was skipped for a problem (each is named in train.log and summary.json)."""
    data = summary["data"]
    used = sum(sum(counts.values()) for counts in data["counts"].values())
    skipped = sum(1 for item in data["skipped"]["files"] if item["kind"] not in FILTERED_KINDS)
    return used, skipped


def _print_keys() -> None:
    from rich.table import Table

    from maskwatch.tables import table_console
    from maskwatch.train.config import describe_keys

    table = Table("key", "default", "meaning [allowed]")
    for key, default, note in describe_keys():
        table.add_row(key, default, note)
    table_console().print(table)
