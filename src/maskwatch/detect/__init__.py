"""Find faces in images and label each one: face detectors, model cache, pipeline, outputs.

>>> from maskwatch.detect import MaskDetector, detect
>>> results = detect("crowd.jpg", save_dir="out")         # = `maskwatch detect crowd.jpg --save-dir out`
>>> detections = MaskDetector().process(rgb)              # sv.Detections for one RGB frame

Modules: `faces` (FaceDetector, YuNet, yuface fallback), `multipass` (enlarged and tiled passes),
`model_cache` (find / download the YuNet file), `pipeline` (MaskDetector), `outputs` (JSON/CSV/COCO,
annotated file paths; the annotator is `maskwatch.annotate`), `evaluation` (evaluate-detection on
VOC scenes), `api` (detect()), `cli`. Names are imported lazily so `maskwatch --help` stays fast.
"""

from __future__ import annotations

from maskwatch.callable_module import lazy_exports, make_callable

__getattr__, __all__ = lazy_exports(
    __name__,
    {
        "maskwatch.detect.api": ["detect"],
        "maskwatch.detect.pipeline": ["MaskDetector"],
        "maskwatch.detect.faces": ["FaceDetector", "YuNetDetector", "YuFaceDetector", "load_face_detector"],
        "maskwatch.detect.model_cache": ["resolve_face_model"],
        "maskwatch.detect.evaluation": ["evaluate_detection"],
        "maskwatch.annotate": ["FrameAnnotator"],
    },
)


make_callable(__name__, "maskwatch.detect.api", "detect")
