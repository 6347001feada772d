"""Annotated images and videos share one annotator: colours must come out true in RGB output."""

from __future__ import annotations

import numpy as np

from maskwatch.annotate import FrameAnnotator
from maskwatch.detections import from_faces, with_classes

LABELS = ["with_mask", "without_mask", "mask_weared_incorrect"]


def _drawn(label_index: int, tracked: bool = False) -> np.ndarray:
    image = np.full((200, 200, 3), 128, dtype=np.uint8)
    dets = from_faces(np.array([[50, 60, 150, 170]]), np.array([0.9]))
    probs = np.zeros((1, 3), dtype=np.float32)
    probs[0, label_index] = 1.0
    dets = with_classes(dets, probs, LABELS)
    if tracked:
        dets.tracker_id = np.array([7])
    return FrameAnnotator(LABELS).annotate(image, dets)


def test_box_colours_follow_the_label_in_rgb():
    red = _drawn(1)[120, 50]  # left edge of the box, below the caption
    green = _drawn(0)[120, 50]
    assert red[0] > 180 and red[2] < 120, f"without_mask should be drawn red, got {red}"
    assert green[1] > 150 and green[0] < 120, f"with_mask should be drawn green, got {green}"


def test_input_is_not_modified_and_track_caption_differs():
    image = np.full((200, 200, 3), 128, dtype=np.uint8)
    dets = with_classes(from_faces(np.array([[50, 60, 150, 170]]), np.array([0.9])), np.eye(3)[[0]], LABELS)
    FrameAnnotator(LABELS).annotate(image, dets)
    assert (image == 128).all()
    assert not np.array_equal(_drawn(0, tracked=True), _drawn(0, tracked=False))


# --- readable on crowds (issue 12, finding 10) -------------------------------------------------

CROWD = "maksssksksss518.jpg"  # voc3: 83 annotated faces on a 400 x 225 photo


def _crowd(data_dir):
    from maskwatch.detect.pipeline import MaskDetector
    from maskwatch.images import load_image

    detector = MaskDetector(quiet=True)
    rgb = load_image(data_dir / "voc3" / "images" / CROWD)
    return detector, rgb, detector.process(rgb)


def _outside_boxes(image_shape, detections, pad: int) -> np.ndarray:
    mask = np.ones(image_shape[:2], dtype=bool)
    for x1, y1, x2, y2 in detections.xyxy.round().astype(int):
        mask[max(0, y1 - pad) : y2 + pad + 1, max(0, x1 - pad) : x2 + pad + 1] = False
    return mask


def test_captions_on_a_crowd_cover_little_outside_the_faces(data_dir, artifacts_dir):
    from PIL import Image

    detector, rgb, detections = _crowd(data_dir)
    assert len(detections) >= 30
    drawn = FrameAnnotator(detector.labels).annotate(rgb, detections)
    Image.fromarray(drawn).save(artifacts_dir / "annotated_crowd_400px.png")
    changed = (drawn != rgb).any(axis=2)
    bar = int(round(rgb.shape[0] * 0.05)) + 14
    outside = _outside_boxes(rgb.shape, detections, pad=3)
    outside[-bar:] = False  # the summary bar
    share = changed[outside].mean()
    assert share < 0.03, f"{share:.1%} of the photo outside faces is covered by captions"


def test_caption_size_follows_the_face_and_the_image():
    annotator = FrameAnnotator(LABELS)
    boxes = np.array([[10, 10, 30, 32], [100, 100, 160, 170], [400, 400, 1400, 1500]], dtype=np.float32)
    dets = with_classes(from_faces(boxes, np.ones(3)), np.eye(3), LABELS)
    small_image = annotator.caption_scales(dets, 2000, 2000)
    assert small_image[0] == 0.0, "a 22 px face gets no caption"
    assert 0 < small_image[1] < small_image[2], "larger faces get larger captions"
    from maskwatch.annotate import _text_height

    assert _text_height(small_image[1]) * 1.25 <= 0.4 * 70 + 1
    # the same face in a smaller image never gets a larger caption than the image allows
    assert annotator.caption_scales(dets, 640, 480)[2] <= small_image[2]


def test_label_styles_none_and_short_draw_less_than_full():
    image = np.full((400, 400, 3), 128, dtype=np.uint8)
    dets = with_classes(from_faces(np.array([[100, 150, 300, 380]]), np.array([0.9])), np.eye(3)[[1]], LABELS)
    drawn = {s: FrameAnnotator(LABELS, s, summary=False).annotate(image, dets) for s in ("full", "short", "none")}
    caption_pixels = {s: int((d[:144] != 128).any(axis=2).sum()) for s, d in drawn.items()}
    assert caption_pixels["none"] == 0
    assert 0 < caption_pixels["short"] < caption_pixels["full"]


def test_summary_bar_counts_with_label_colours():
    image = np.full((300, 600, 3), 200, dtype=np.uint8)
    boxes = np.array([[20, 20, 80, 90], [120, 20, 180, 90], [220, 20, 280, 90]], dtype=np.float32)
    dets = with_classes(from_faces(boxes, np.ones(3)), np.eye(3)[[0, 0, 1]], LABELS)
    drawn = FrameAnnotator(LABELS).annotate(image, dets)
    strip = drawn[-14:].reshape(-1, 3).astype(int)
    assert (drawn[-14:] < 120).mean() > 0.5, "the bar is dark"
    for hex_color in ("#22c55e", "#ef4444", "#f59e0b"):
        rgb = np.array([int(hex_color[i : i + 2], 16) for i in (1, 3, 5)])
        assert (np.abs(strip - rgb).sum(axis=1) < 30).any(), f"no {hex_color} square in the summary bar"
    assert (drawn[:-20] == FrameAnnotator(LABELS, summary=False).annotate(image, dets)[:-20]).all()


def test_label_style_is_checked():
    import pytest

    with pytest.raises(ValueError, match="full, short, none"):
        FrameAnnotator(LABELS, "tiny")


def test_a_large_crowd_photo_gets_captions_sized_to_each_face(data_dir, artifacts_dir):
    import cv2
    from PIL import Image

    detector, rgb, _ = _crowd(data_dir)
    large = cv2.resize(rgb, (rgb.shape[1] * 4, rgb.shape[0] * 4), interpolation=cv2.INTER_CUBIC)
    detections = detector.process(large)
    annotator = FrameAnnotator(detector.labels)
    scales = annotator.caption_scales(detections, large.shape[1], large.shape[0])
    heights = detections.xyxy[:, 3] - detections.xyxy[:, 1]
    captioned = scales > 0
    assert captioned.sum() >= 10, "faces of 40+ px get a caption"
    # bigger faces never get smaller captions than smaller faces
    order = np.argsort(heights[captioned])
    assert (np.diff(scales[captioned][order]) >= -1e-9).all()
    drawn = annotator.annotate(large, detections)
    Image.fromarray(drawn).save(artifacts_dir / "annotated_crowd_1600px.png")
    changed = (drawn != large).any(axis=2)
    outside = _outside_boxes(large.shape, detections, pad=4)
    outside[-60:] = False
    assert changed[outside].mean() < 0.08
