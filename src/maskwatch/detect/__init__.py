"""Find faces in images and label each one: face detectors, model cache, pipeline, outputs.

>>> from maskwatch.detect import MaskDetector, detect
>>> results = detect("crowd.jpg", save_dir="out")         # = `maskwatch detect crowd.jpg --save-dir out`
>>> detections = MaskDetector().process(rgb)              # sv.Detections for one RGB frame

Modules: `faces` (FaceDetector, YuNet, yuface fallback), `model_cache` (find / download the
YuNet file), `pipeline` (MaskDetector), `outputs`
(annotated images, JSON/CSV/COCO), `evaluation` (evaluate-detection on VOC scenes), `api`
(detect()), `cli`. Names are imported lazily so `maskwatch --help` stays fast.
"""

from __future__ import annotations

from maskwatch.callable_module import lazy_exports, make_callable

_EXPORTS = {
    "detect": "maskwatch.detect.api",
    "MaskDetector": "maskwatch.detect.pipeline",
    "FaceDetector": "maskwatch.detect.faces",
    "YuNetDetector": "maskwatch.detect.faces",
    "YuFaceDetector": "maskwatch.detect.faces",
    "load_face_detector": "maskwatch.detect.faces",
    "resolve_face_model": "maskwatch.detect.model_cache",
    "evaluate_detection": "maskwatch.detect.evaluation",
    "FrameAnnotator": "maskwatch.detect.outputs",
}

__all__ = sorted(_EXPORTS)

__getattr__ = lazy_exports(__name__, _EXPORTS)


make_callable(__name__, "maskwatch.detect.api", "detect")
