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

from maskwatch.version import __version__

__all__ = ["Classifier", "classify", "detect", "watch", "__version__"]


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
    raise AttributeError(f"module 'maskwatch' has no attribute {name!r}")
