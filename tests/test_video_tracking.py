"""Tracking, label smoothing and events on synthetic box/probability sequences (no model needed)."""

from __future__ import annotations

import numpy as np
import pytest

from maskwatch.detections import from_faces
from maskwatch.video.events import APPEARED, DISAPPEARED, LABEL_CHANGED, EventLog
from maskwatch.video.tracking import FaceTracker, LabelSmoother

LABELS = ["with_mask", "without_mask", "mask_weared_incorrect"]


def _noisy(true_class: np.ndarray, rng: np.random.Generator, strength: float) -> np.ndarray:
    """Classifier-like output: mostly right, but a random class wins on a good share of frames."""
    base = np.full((len(true_class), 3), 0.1, dtype=np.float32)
    base[np.arange(len(true_class)), true_class] = 0.8
    noise = rng.dirichlet(np.ones(3), size=len(true_class)).astype(np.float32)
    return (1 - strength) * base + strength * noise


def _changes(labels: list[int]) -> int:
    return sum(a != b for a, b in zip(labels, labels[1:], strict=False))


def test_smoothing_ignores_flicker_but_follows_a_real_change() -> None:
    rng = np.random.default_rng(1)
    true = np.array([0] * 60 + [1] * 60)  # the person takes the mask off at frame 60
    probs = _noisy(true, rng, strength=0.6)
    raw_labels = probs.argmax(axis=1).tolist()
    smoother = LabelSmoother(n_classes=3)
    smoothed = [smoother.update(7, p, frame)[1] for frame, p in enumerate(probs)]
    assert _changes(raw_labels) >= 30  # the raw classifier flickers a lot
    assert _changes(smoothed) <= 3  # the smoothed label does not
    assert smoothed[:60].count(0) >= 50 and smoothed[75:].count(1) == 45  # and still follows the change


def test_smoother_validates_and_forgets() -> None:
    with pytest.raises(ValueError, match="alpha"):
        LabelSmoother(3, alpha=0.0)
    with pytest.raises(ValueError, match="patience"):
        LabelSmoother(3, patience=0)
    smoother = LabelSmoother(3)
    smoother.update(1, np.array([0.1, 0.8, 0.1]), frame=0)
    smoother.update(2, np.array([0.8, 0.1, 0.1]), frame=15)
    assert smoother.current(1)[1] == 1 and 1 in smoother
    assert smoother.forget(frame=20, gap=10) == [1]
    assert 1 not in smoother and smoother.current(1) is None


def _faces(boxes: list[list[float]], scores: list[float]):
    return from_faces(np.array(boxes, dtype=np.float32).reshape(-1, 4), np.array(scores, dtype=np.float32))


def test_tracker_keeps_ids_through_motion_and_a_missed_frame() -> None:
    tracker = FaceTracker(fps=25, lost_seconds=1.0)
    history: dict[int, list[int]] = {0: [], 1: []}
    for frame in range(30):
        a = [100 + 3 * frame, 80, 160 + 3 * frame, 150]  # moves right
        b = [400, 200 + 2 * frame, 470, 280 + 2 * frame]  # moves down
        boxes, scores = [a, b], [0.9, 0.8]
        if frame == 12:  # the detector misses face b once
            boxes, scores = [a], [0.9]
        faces = tracker.update(_faces(boxes, scores))
        assert len(faces) == len(boxes)  # every face comes back, in input order
        for i, tid in enumerate(faces.tracker_id):
            if tid >= 0:
                history[i].append(int(tid))
    assert len(set(history[0])) == 1 and len(set(history[1])) == 1
    assert set(history[0]) != set(history[1])
    assert sorted(set(history[0]) | set(history[1])) == [1, 2]  # local ids start at 1
    assert len(history[0]) >= 28  # confirmed after min_frames


def test_tracker_returns_unconfirmed_and_weak_faces_as_minus_one() -> None:
    tracker = FaceTracker(fps=25)
    first = tracker.update(_faces([[10, 10, 60, 60], [200, 10, 250, 60]], [0.95, 0.61]))
    assert first.tracker_id.tolist() == [-1, -1]  # not confirmed on the first frame
    second = tracker.update(_faces([[11, 10, 61, 60], [200, 11, 250, 61]], [0.95, 0.61]))
    assert second.tracker_id[0] == 1  # confirmed
    assert second.tracker_id[1] == -1  # too weak to start a track, but still returned
    assert len(tracker.update(_faces([], []))) == 0


def test_event_log_and_summary() -> None:
    log = EventLog(LABELS)
    events = []
    events += log.observe(0, 0.0, [1, -1], ["without_mask", "with_mask"], [0.9, 0.6])
    events += log.observe(1, 0.04, [1, 2], ["without_mask", "with_mask"], [0.9, 0.8])
    events += log.observe(2, 0.08, [1, 2], ["with_mask", "with_mask"], [0.7, 0.8])
    for frame in range(3, 8):
        events += log.observe(frame, frame * 0.04, [1], ["with_mask"], [0.9])
        events += log.expire(frame, frame * 0.04, gap=3)
    events += log.finish()
    kinds = [(e.type, e.track_id) for e in events]
    assert kinds == [
        (APPEARED, 1),
        (APPEARED, 2),
        (LABEL_CHANGED, 1),
        (DISAPPEARED, 2),
        (DISAPPEARED, 1),
    ]
    change = events[2]
    assert (change.previous_label, change.label, change.frame) == ("without_mask", "with_mask", 2)
    assert events[3].frame == 2  # disappears at the last frame it was seen
    summary = log.summary()
    assert summary["people"] == 2 and summary["untracked_detections"] == 1
    assert summary["by_label"] == {"with_mask": 2, "without_mask": 0, "mask_weared_incorrect": 0}
    assert summary["without_mask"] == 0 and summary["label_changes"] == 1
    track1 = summary["tracks"][0]
    assert track1["label_frames"] == {"without_mask": 2, "with_mask": 6} and track1["final_label"] == "with_mask"
    assert change.to_dict()["type"] == "event" and change.to_dict()["event"] == LABEL_CHANGED
