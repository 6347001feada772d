"""The `maskwatch` command. Each sub-command mirrors a Python function one to one.

Sub-commands live beside the code they drive (`<stage>/cli.py`, listed in `_COMMANDS`) and import heavy
libraries (TensorFlow, OpenCV, FastAPI) only when they run, so `maskwatch --help` stays fast.
"""

from __future__ import annotations

import importlib

import typer

from maskwatch.exit_codes import EXIT_CODES

app = typer.Typer(
    name="maskwatch",
    help="Face-mask detection: find every face and label it with_mask / without_mask / mask_weared_incorrect.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

# Each command and the module beside the code it drives that defines it, as `<command>_command`
# (`evaluate-detection` -> `evaluate_detection_command`), in the order `maskwatch --help` lists
# them. A module that is not installed is skipped, so the CLI works while the pipeline grows.
_COMMANDS = {
    "synthesize": "maskwatch.data.cli",
    "train": "maskwatch.train.cli",
    "evaluate": "maskwatch.evaluate.cli",
    "export": "maskwatch.export.cli",
    "classify": "maskwatch.classify_cli",
    "detect": "maskwatch.detect.cli",
    "evaluate-detection": "maskwatch.detect.cli",
    "serve": "maskwatch.serve.cli",
    "watch": "maskwatch.watch.cli",
    "report": "maskwatch.report.cli",
}

for _command, _name in _COMMANDS.items():
    try:
        _module = importlib.import_module(_name)
    except ModuleNotFoundError as _exc:
        if _exc.name is None or not _name.startswith(_exc.name):
            raise
        continue
    app.command(_command)(getattr(_module, _command.replace("-", "_") + "_command"))

for _info in app.registered_commands:
    _info.epilog = _info.epilog or EXIT_CODES


def _version(value: bool) -> None:
    if value:
        from maskwatch.version import __version__

        typer.echo(f"maskwatch {__version__}")
        raise typer.Exit()


@app.callback(epilog=EXIT_CODES)
def _root(
    verbose: bool = typer.Option(
        False, "--verbose", help="Also show INFO lines of maskwatch, TensorFlow, LiteRT and OpenCV."
    ),
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print the version."),
) -> None:
    """maskwatch: train, evaluate, export, detect and serve face-mask models."""
    from maskwatch.logs import configure

    configure(verbose=verbose)


def main() -> None:
    from maskwatch.errors import MaskwatchError

    try:
        app()
    except MaskwatchError as exc:
        typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
        raise SystemExit(2) from None
    except OSError as exc:
        # A full disk, an unwritable or vanished output folder: one line, not a traceback
        # (--verbose keeps the traceback for a bug report).
        from maskwatch.logs import is_verbose

        if is_verbose():
            raise
        where = f"{exc.filename}: " if getattr(exc, "filename", None) else ""
        typer.secho(f"error: {where}{exc.strerror or exc}", fg=typer.colors.RED, err=True)
        raise SystemExit(2) from None
    except KeyboardInterrupt:
        typer.secho("interrupted", err=True)
        raise SystemExit(130) from None


if __name__ == "__main__":
    main()
