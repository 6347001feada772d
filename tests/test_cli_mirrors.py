"""The CLI mirrors the Python API by construction: every option of every command is a parameter of the
Python function the command stands for, under the same name (`maskwatch detect SOURCE --conf 0.5` is
`maskwatch.detect(SOURCE, conf=0.5)`).

The few options that only make sense in a terminal are listed below with the reason; nothing else
may differ.
"""

from __future__ import annotations

import importlib
import inspect

import pytest
import typer.main

from maskwatch.cli import app

#: command -> the Python function it mirrors ("module:function").
MIRRORS = {
    "synthesize": "maskwatch.data.synthetic:make_incorrect_dataset",
    "train": "maskwatch.train.trainer:train",
    "evaluate": "maskwatch.evaluate.api:evaluate",
    "export": "maskwatch.export.api:export",
    "classify": "maskwatch.classify:classify",
    "detect": "maskwatch.detect.api:detect",
    "evaluate-detection": "maskwatch.detect.evaluation:evaluate_detection",
    "serve": "maskwatch.serve.run:serve",
    "watch": "maskwatch.watch.runner:watch",
    "report": "maskwatch.report:report",
}
#: Terminal-only options: (command, option) -> why the Python function has no such parameter.
TERMINAL_ONLY = {
    ("train", "keys"): "prints the table of config keys and exits (Python: maskwatch.train.config.describe_keys)",
    ("classify", "max_rows"): "rows of the terminal table (Python gets every result)",
    ("classify", "quiet"): "hides the terminal table and summary (the Python call prints nothing)",
    ("detect", "source_option"): "--source, the same SOURCE given as an option (ultralytics' source=)",
}


def _commands():
    return typer.main.get_command(app).commands


def _accepted(function) -> set[str]:
    """Parameter names of `function`; a **options catch-all counts only for the keys it documents
    (`function.__options__`: the fields of its settings models, `maskwatch.settings.options_of`, or
    train's typed options), and under its own name for a `--set KEY=VALUE` option that fills it
    (`maskwatch detect --set classify_every=2` is `detect(..., **video_options)`)."""
    return set(inspect.signature(function).parameters) | set(getattr(function, "__options__", ()))


def test_every_command_has_a_python_twin():
    assert set(_commands()) == set(MIRRORS)


@pytest.mark.parametrize("command", sorted(MIRRORS))
def test_every_option_is_a_parameter_of_the_twin(command):
    module, name = MIRRORS[command].split(":")
    function = getattr(importlib.import_module(module), name)
    accepted = _accepted(function)
    options = [p.name for p in _commands()[command].params]
    missing = [o for o in options if o not in accepted and (command, o) not in TERMINAL_ONLY]
    assert not missing, f"`maskwatch {command}` options that {MIRRORS[command]} does not take: {missing}"
    stale = [o for (c, o) in TERMINAL_ONLY if c == command and o not in options]
    assert not stale, f"TERMINAL_ONLY names options `maskwatch {command}` no longer has: {stale}"


def _field_bounds(model, name: str) -> tuple:
    from maskwatch.settings import bounds

    low, high, _, _ = bounds(model.model_fields[name])
    return low, high


def _ranged_options():
    from maskwatch.detect.settings import DetectorSettings
    from maskwatch.serve.settings import ServeSettings
    from maskwatch.train.config import Config
    from maskwatch.train.rundir import OPTION_KEYS

    detector = ["conf", "nms", "upscale", "tiles", "min_face"]
    serve = [
        "workers",
        "queue",
        "max_wait",
        "max_video_seconds",
        "max_video_frames",
        "max_pixels",
        "max_pixels_in_flight",
    ]
    for command in ("detect", "evaluate-detection"):
        yield from ((command, name, _field_bounds(DetectorSettings, name)) for name in detector)
    yield from (("serve", name, _field_bounds(ServeSettings, name)) for name in serve)
    for name in ("epochs", "finetune_epochs", "batch_size", "lr", "finetune_lr", "input_size", "sample_per_class"):
        section, key = OPTION_KEYS[name].split(".")
        yield "train", name, _field_bounds(Config.model_fields[section].annotation, key)


@pytest.mark.parametrize(("command", "name", "expected"), list(_ranged_options()))
def test_option_ranges_come_from_the_settings_models(command, name, expected):
    """A flag's range is its settings field's range (the command line refuses what the model would)."""
    param = next(p for p in _commands()[command].params if p.name == name)
    assert (param.min, param.max) == expected
    assert expected != (None, None)
