"""What one inference worker holds, and the jobs it runs (decode -> detect/classify -> records).

Decoding happens inside the job, on the worker thread, so the pool bounds all heavy CPU work:
a burst of large uploads waits for (or is refused by) the pool instead of decoding in parallel
on the event loop. Records and annotated images come from maskwatch.detect.outputs, so the API
answers exactly what `maskwatch detect --save-json` writes and draws what it draws.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from maskwatch import cancel
from maskwatch.images import decode_image, encode_jpeg


@dataclass
class Engine:
    """One worker's models: `detector.process(rgb) -> sv.Detections` and the classifier behind it.

    `live_detector` handles webcam frames: the same classifier, but set up like maskwatch.video
    (no enlarged second pass, which finds tiny faces in photos and costs ~4x at 640x480).
    Nothing here is shared between workers (runtimes and annotator caches are not thread-safe).
    """

    detector: Any
    classifier: Any | None
    labels: list[str]
    live_detector: Any | None = None
    _annotator: Any | None = None

    @property
    def live(self) -> Any:
        return self.live_detector if self.live_detector is not None else self.detector

    def annotate(self, rgb: np.ndarray, detections) -> np.ndarray:
        if self._annotator is None:
            from maskwatch.annotate import FrameAnnotator

            self._annotator = FrameAnnotator(self.labels)
        return self._annotator.annotate(rgb, detections)


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
        from maskwatch.detect.pipeline import MaskDetector

        classifier = Classifier.load(model, threads=model_threads)
        engine = engine_from_detector(MaskDetector(classifier=classifier, quiet=True))
        engine.live_detector = live_detector(classifier)
        return engine

    return build


def live_detector(classifier) -> Any:
    """The detector for video-like frames, configured as maskwatch.video configures its own."""
    from maskwatch.video import video_detector

    return video_detector(classifier=classifier, quiet=True)


def count_labels(records: list[dict], labels: list[str]) -> dict[str, int]:
    counts = dict.fromkeys(labels, 0)
    for record in records:
        if "label" in record:
            counts[record["label"]] = counts.get(record["label"], 0) + 1
    return counts


def detect_job(
    engine: Engine, data: bytes, source: str, max_pixels: int, want_image: bool, live: bool = False
) -> tuple[dict, bytes | None]:
    """Decode an upload (or a live frame), find and label faces; optionally render the annotated JPEG.

    Decoded as `maskwatch detect` reads files (large photos reduced to DECODE_PIXELS, boxes in the
    full image's pixels), so the record is the one `--save-json` writes for the same file.
    """
    from maskwatch.detect.outputs import image_result
    from maskwatch.detections import rescaled
    from maskwatch.images import DECODE_PIXELS, read_image

    image = read_image(data, max_decoded=DECODE_PIXELS, name=source, max_pixels=max_pixels)
    cancel.check()  # the server began to stop while this was decoding
    detections = (engine.live if live else engine.detector).process(image.rgb)
    record = image_result(source, (image.height, image.width), rescaled(detections, image.scale), engine.labels)
    jpeg = encode_jpeg(engine.annotate(image.rgb, detections), quality=90) if want_image else None
    return record, jpeg


def classify_job(engine: Engine, data: bytes, source: str, max_pixels: int) -> dict:
    """Label one face crop (the whole image is the face)."""
    if engine.classifier is None:
        raise RuntimeError("this server's engine has no classifier")
    rgb = decode_image(data, name=source, max_pixels=max_pixels)
    from maskwatch.records import crop_record

    probs = engine.classifier.predict([rgb])[0]
    return crop_record(source, probs, engine.labels, width=int(rgb.shape[1]), height=int(rgb.shape[0])).to_dict()
