"""What one inference worker holds, and the jobs it runs (decode -> detect/classify -> records).

Decoding happens inside the job, on the worker thread, so the pool bounds all heavy CPU work:
a burst of large uploads waits for (or is refused by) the pool instead of decoding in parallel
on the event loop.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from maskwatch.images import decode_image, encode_jpeg

# Per-class colours (RGB), the same as maskwatch.video's annotated videos and the web page
# (static/app.js, style.css), so a colour means the same class everywhere.
CLASS_COLOURS = {
    "with_mask": (34, 197, 94),  # #22c55e
    "without_mask": (239, 68, 68),  # #ef4444
    "mask_weared_incorrect": (245, 158, 11),  # #f59e0b
}
_FALLBACK_COLOURS = ((52, 152, 219), (155, 89, 182), (26, 188, 156), (241, 196, 15))


@dataclass
class Engine:
    """One worker's models: `detector.process(rgb) -> sv.Detections` and the classifier behind it.

    `live_detector` handles webcam frames: the same classifier, but set up like maskwatch.video
    (no enlarged second pass, which finds tiny faces in photos and costs ~4x at 640x480).
    """

    detector: Any
    classifier: Any | None
    labels: list[str]
    live_detector: Any | None = None

    @property
    def live(self) -> Any:
        return self.live_detector if self.live_detector is not None else self.detector


def engine_from_detector(detector: Any) -> Engine:
    """Wrap a MaskDetector-like object, finding its classifier and label set."""
    classifier = getattr(detector, "classifier", None)
    labels = getattr(detector, "labels", None) or (classifier.labels if classifier is not None else None)
    if not labels:
        raise ValueError(f"{type(detector).__name__} exposes no labels (needs .labels or .classifier.labels)")
    return Engine(detector=detector, classifier=classifier, labels=[str(x) for x in labels])


def default_engine_factory(model: str | None, model_threads: int = 1) -> Callable[[], Engine]:
    """Factory building the real pipeline: the classifier from `model` + the default face detector."""

    def build() -> Engine:
        from maskwatch.classifier import Classifier

        try:
            from maskwatch.detect import MaskDetector
        except ImportError:  # TODO(serve): drop once maskwatch.detect exports MaskDetector
            from maskwatch.detect.pipeline import MaskDetector

        classifier = Classifier.load(model, threads=model_threads)
        engine = engine_from_detector(MaskDetector(classifier=classifier, quiet=True))
        engine.live_detector = live_detector(classifier)
        return engine

    return build


def live_detector(classifier) -> Any:
    """The detector for video-like frames, configured as maskwatch.video configures its own."""
    try:
        from maskwatch.video import video_detector
    except ImportError:
        from maskwatch.detect.pipeline import MaskDetector

        return MaskDetector(classifier=classifier, upscale=1.0, quiet=True)
    return video_detector(classifier=classifier, quiet=True)


def image_record(source: str, rgb: np.ndarray, detections, labels: list[str]) -> dict:
    """The JSON for one image, the same shape `maskwatch detect --save-json` writes."""
    from maskwatch.detections import to_records

    height, width = rgb.shape[:2]
    return {"source": source, "width": int(width), "height": int(height), "detections": to_records(detections, labels)}


def count_labels(records: list[dict], labels: list[str]) -> dict[str, int]:
    counts = dict.fromkeys(labels, 0)
    for record in records:
        if "label" in record:
            counts[record["label"]] = counts.get(record["label"], 0) + 1
    return counts


def class_colour(label: str, labels: list[str]) -> tuple[int, int, int]:
    if label in CLASS_COLOURS:
        return CLASS_COLOURS[label]
    index = labels.index(label) if label in labels else 0
    return _FALLBACK_COLOURS[index % len(_FALLBACK_COLOURS)]


def annotate(rgb: np.ndarray, detections, labels: list[str]) -> np.ndarray:
    """Boxes and 'label 0.97' captions in the per-class colours, drawn with supervision."""
    import supervision as sv

    from maskwatch.detections import LABEL

    palette = sv.ColorPalette([sv.Color(*class_colour(label, labels)) for label in labels])
    scene = rgb.copy()
    if len(detections) == 0:
        return scene
    class_id = detections.class_id if detections.class_id is not None else np.zeros(len(detections), dtype=int)
    dets = detections[:]
    dets.class_id = np.asarray(class_id, dtype=int)
    names = detections.data.get(LABEL)
    captions = [
        f"{names[i] if names is not None else 'face'} {float(detections.confidence[i]):.2f}"
        if detections.confidence is not None
        else "face"
        for i in range(len(detections))
    ]
    thickness = max(2, round(max(rgb.shape[:2]) / 400))
    # supervision draws numpy scenes as OpenCV BGR: convert there and back so colours stay true.
    scene = np.ascontiguousarray(scene[..., ::-1])
    scene = sv.BoxAnnotator(color=palette, thickness=thickness, color_lookup=sv.ColorLookup.CLASS).annotate(scene, dets)
    scene = sv.LabelAnnotator(
        color=palette,
        text_color=sv.Color.BLACK,
        text_scale=max(0.4, thickness / 4),
        text_padding=3,
        color_lookup=sv.ColorLookup.CLASS,
    ).annotate(scene, dets, labels=captions)
    return np.ascontiguousarray(scene[..., ::-1])


def detect_job(
    engine: Engine, data: bytes, source: str, max_pixels: int, want_image: bool, live: bool = False
) -> tuple[dict, bytes | None]:
    """Decode an upload (or a live frame), find and label faces; optionally render the annotated JPEG."""
    rgb = decode_image(data, name=source, max_pixels=max_pixels)
    detections = (engine.live if live else engine.detector).process(rgb)
    record = image_record(source, rgb, detections, engine.labels)
    jpeg = encode_jpeg(annotate(rgb, detections, engine.labels), quality=90) if want_image else None
    return record, jpeg


def classify_job(engine: Engine, data: bytes, source: str, max_pixels: int) -> dict:
    """Label one face crop (the whole image is the face)."""
    if engine.classifier is None:
        raise RuntimeError("this server's engine has no classifier")
    rgb = decode_image(data, name=source, max_pixels=max_pixels)
    probs = engine.classifier.predict([rgb])[0]
    best = int(np.argmax(probs))
    return {
        "source": source,
        "width": int(rgb.shape[1]),
        "height": int(rgb.shape[0]),
        "label": engine.labels[best],
        "confidence": round(float(probs[best]), 4),
        "probabilities": {label: round(float(p), 4) for label, p in zip(engine.labels, probs, strict=True)},
    }
