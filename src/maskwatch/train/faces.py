"""The face finder training hands to the data stage: the detection pipeline's own detector and framing.

The data stage cannot import the detector (it sits below the models the detector's pipeline
uses), so the trainer, which may, builds it and passes it in: whole-photo sources find their faces
with it, and scene faces get a second, detector-framed crop (maskwatch.data.framing).
"""

from __future__ import annotations

from maskwatch.data.photos import FaceFinder


def pipeline_face_finder(upscale: float = 1.0) -> FaceFinder:
    """YuNet from the model cache + the pipeline's reframing, as `find_faces(rgb) -> (N, 4) boxes`.

    upscale: 1.0 for photos of one or a few people; the pipeline's 2.0 for crowd scenes.
    """
    from maskwatch.detect.faces import load_face_detector
    from maskwatch.detect.pipeline import annotation_framing
    from maskwatch.detect.settings import DetectorSettings

    detector = load_face_detector(None, DetectorSettings(upscale=upscale), quiet=True)
    return lambda rgb: annotation_framing(detector.detect(rgb).xyxy)
