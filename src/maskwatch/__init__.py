"""maskwatch: find every face in an image or video and say whether it wears a mask.

Three lines for a beginner::

    import maskwatch
    for face in maskwatch.detect("people.jpg")[0]["detections"]:
        print(face["label"], face["confidence"])

Two towers of stages, each importing only the stages before it (README "Layout";
tests/test_import_graph.py checks it): images -> data -> models -> runs -> train -> evaluate ->
export for training, runtime (`classifier`, `detections`, `records`) -> detect -> video -> scale
(Ray) -> watch (many cameras) -> serve for inference, which never imports TensorFlow.
"""

from __future__ import annotations

import logging as _logging
import os as _os

from maskwatch.version import __version__

# A library prints nothing unless asked: log records go nowhere until the application (or the
# `maskwatch` command, see maskwatch.logs) adds a handler.
_logging.getLogger(__name__).addHandler(_logging.NullHandler())


def _pin_home() -> None:
    """A relative MASKWATCH_HOME means relative to where maskwatch was started: made absolute once,
    here, so a later chdir, a server worker or a Ray worker in another folder finds the same cache."""
    home = _os.environ.get("MASKWATCH_HOME")
    if home and not _os.path.isabs(_os.path.expanduser(home)):
        _os.environ["MASKWATCH_HOME"] = _os.path.abspath(_os.path.expanduser(home))


_pin_home()

__all__ = ["Classifier", "classify", "detect", "report", "watch", "__version__"]


def __getattr__(name: str):
    # Lazy so `import maskwatch` does not load OpenCV, LiteRT or supervision until needed.
    if name == "Classifier":
        from maskwatch.classifier import Classifier

        return Classifier
    if name == "classify":
        from maskwatch.classify import classify

        return classify
    if name == "detect":
        from maskwatch.detect import detect

        return detect
    if name == "watch":
        import importlib

        return importlib.import_module("maskwatch.watch")  # a module that calls as watch()
    if name == "report":
        from maskwatch.report import report

        return report
    raise AttributeError(f"module 'maskwatch' has no attribute {name!r}")
