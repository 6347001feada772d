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
