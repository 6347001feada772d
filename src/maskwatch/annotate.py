"""Annotated images and video frames that stay readable on a crowd photo and on a close-up.

Boxes come from supervision's BoxAnnotator and captions from its LabelAnnotator, but each caption
is sized to its own face (at most CAPTION_FACE_RATIO of the face's height, never above what the
image size allows, never below readable), so a 20 px face in a crowd gets a small tag instead of
one as tall as the face. Faces too small for any readable caption keep their coloured box only.
A summary bar along the bottom gives the counts per label and is the colour legend.
`label_style`: "full" (`#track label 0.97`), "short" (`no mask`), "none" (boxes only).

It sits beside the detections type it draws (`maskwatch.detections`, the runtime stage), so image
detection, video, the server and the HTML report all import it from here and video never reaches
back into detect/ for it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import numpy as np
import supervision as sv

from maskwatch.detections import LABEL

#: Box colours per label (RGB hex): green / red / amber, the same in the web app.
LABEL_COLORS = {
    "with_mask": "#22c55e",
    "without_mask": "#ef4444",
    "mask_weared_incorrect": "#f59e0b",
}
_FALLBACK = ("#3498db", "#9b59b6", "#1abc9c", "#f1c40f")
LABEL_STYLES = ("full", "short", "none")
#: Captions of --labels short, and of the summary bar when the full names do not fit.
SHORT_NAMES = {"with_mask": "mask", "without_mask": "no mask", "mask_weared_incorrect": "incorrect"}
#: A caption's height is at most this fraction of its face's height.
CAPTION_FACE_RATIO = 0.4
#: OpenCV Hershey text below this scale (~7 px capitals) is not readable; smaller faces get no caption.
MIN_TEXT_SCALE = 0.3
_SCALE_STEP = 0.05  # captions are drawn in groups of equal scale (one LabelAnnotator each)


def label_palette(labels: Sequence[str]) -> sv.ColorPalette:
    """A palette indexed by class id whose colours follow the label names, not their order."""
    colors = [LABEL_COLORS.get(label, _FALLBACK[i % len(_FALLBACK)]) for i, label in enumerate(labels)]
    return sv.ColorPalette([sv.Color.from_hex(c) for c in colors])


def _text_height(scale: float) -> int:
    import cv2

    (_, height), baseline = cv2.getTextSize("Ag", cv2.FONT_HERSHEY_SIMPLEX, scale, 1)
    return height + baseline


class FrameAnnotator:
    """Draws coloured boxes, per-face sized captions and a summary bar on a copy of an RGB frame."""

    def __init__(self, labels: Sequence[str], label_style: str = "full", summary: bool = True) -> None:
        if label_style not in LABEL_STYLES:
            raise ValueError(f"label style must be one of {', '.join(LABEL_STYLES)}, got {label_style!r}")
        self.labels = list(labels)
        self.label_style = label_style
        self.summary = summary
        self.palette = label_palette(self.labels)
        self._boxes: dict[int, sv.BoxAnnotator] = {}
        self._captions: dict[float, sv.LabelAnnotator] = {}

    def _box_annotator(self, width: int, height: int) -> sv.BoxAnnotator:
        thickness = max(1, min(sv.calculate_optimal_line_thickness((width, height)), 4))
        if thickness not in self._boxes:
            self._boxes[thickness] = sv.BoxAnnotator(
                color=self.palette, thickness=thickness, color_lookup=sv.ColorLookup.CLASS
            )
        return self._boxes[thickness]

    def _caption_annotator(self, scale: float) -> sv.LabelAnnotator:
        if scale not in self._captions:
            self._captions[scale] = sv.LabelAnnotator(
                color=self.palette,
                color_lookup=sv.ColorLookup.CLASS,
                text_color=sv.Color.BLACK,
                text_scale=scale,
                text_thickness=1,
                text_padding=max(1, round(scale * 5)),
                smart_position=True,
            )
        return self._captions[scale]

    def caption_scales(self, detections: sv.Detections, width: int, height: int) -> np.ndarray:
        """Text scale per face (0 = no caption): fits CAPTION_FACE_RATIO of the face, capped by the image."""
        image_max = max(MIN_TEXT_SCALE, sv.calculate_optimal_text_scale((width, height)) * 0.6)
        unit = _text_height(1.0) * 1.25  # text plus padding at scale 1
        face_heights = detections.xyxy[:, 3] - detections.xyxy[:, 1]
        scales = np.minimum(CAPTION_FACE_RATIO * face_heights / unit, image_max)
        scales = np.floor(scales / _SCALE_STEP) * _SCALE_STEP
        return np.where(scales >= MIN_TEXT_SCALE - 1e-9, np.round(scales, 2), 0.0)

    def _text(self, detections: sv.Detections) -> list[str]:
        names = detections.data.get(LABEL)
        tracks = detections.tracker_id
        out = []
        for i in range(len(detections)):
            name = str(names[i]) if names is not None else self.labels[int(detections.class_id[i])]
            if self.label_style == "short":
                out.append(SHORT_NAMES.get(name, name))
                continue
            track = f"#{int(tracks[i])} " if tracks is not None and tracks[i] >= 0 else ""
            out.append(f"{track}{name} {float(detections.confidence[i]):.2f}")
        return out

    def annotate(self, rgb: np.ndarray, detections: sv.Detections) -> np.ndarray:
        """A copy of rgb with the detections drawn on it (input is never modified)."""
        height, width = rgb.shape[:2]
        # supervision draws numpy scenes as OpenCV BGR: draw in BGR so the colours come out true.
        scene = np.ascontiguousarray(rgb[..., ::-1])
        if len(detections) and detections.class_id is not None:
            scene = self._box_annotator(width, height).annotate(scene, detections)
            if self.label_style != "none":
                text = self._text(detections)
                scales = self.caption_scales(detections, width, height)
                for scale in sorted(set(scales.tolist()) - {0.0}):
                    chosen = np.flatnonzero(scales == scale)
                    annotator = self._caption_annotator(scale)
                    scene = annotator.annotate(scene, detections[chosen], labels=[text[i] for i in chosen])
        if self.summary:
            self._summary_bar(scene, detections)
        return np.ascontiguousarray(scene[..., ::-1])

    def _summary_bar(self, bgr: np.ndarray, detections: sv.Detections) -> None:
        """Counts per label on a dark strip along the bottom, each behind a square of its colour."""
        import cv2

        height, width = bgr.shape[:2]
        names = detections.data.get(LABEL) if len(detections) else None
        counts = Counter(str(n) for n in names) if names is not None else Counter()
        bar = max(14, min(48, round(height * 0.05)))
        if bar * 3 > height:
            return
        scale = max(MIN_TEXT_SCALE, 0.55 * bar / _text_height(1.0))
        items = [(label, counts.get(label, 0)) for label in self.labels]
        for names_of in (lambda label: label, lambda label: SHORT_NAMES.get(label, label)):
            texts = [f"{names_of(label)} {n}" for label, n in items]
            widths = [cv2.getTextSize(t, cv2.FONT_HERSHEY_SIMPLEX, scale, 1)[0][0] + bar for t in texts]
            if sum(widths) + bar * len(items) <= width:
                break
        else:
            scale = max(0.2, scale * width / (sum(widths) + bar * len(items)))
        top = height - bar
        strip = bgr[top:]
        strip[:] = (strip.astype(np.uint16) * 2 // 7).astype(np.uint8)  # darken to ~30 %
        x = bar // 3
        square = bar // 2
        for (label, _), text in zip(items, texts, strict=True):
            r, g, b = self.palette.by_idx(self.labels.index(label)).as_rgb()
            y0 = top + (bar - square) // 2
            cv2.rectangle(bgr, (x, y0), (x + square, y0 + square), (b, g, r), thickness=-1)
            x += square + bar // 4
            (text_w, text_h), _ = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, 1)
            baseline_y = top + (bar + text_h) // 2
            cv2.putText(bgr, text, (x, baseline_y), cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 255, 255), 1, cv2.LINE_AA)
            x += text_w + bar // 2
