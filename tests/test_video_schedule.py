"""The video fast path: which faces are classified on which frame, and at which size faces are detected.

Unit tests drive ClassifySchedule / DetectScale with exact inputs; the pipeline test runs a real
pan clip over a voc3 scene and checks the schedule through the `classified` flag of every face.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest

from maskwatch.data.voc import parse_voc_xml
from maskwatch.detections import from_faces
from maskwatch.images import load_image
from maskwatch.video import process_video, video_detector
from maskwatch.video.coasting import Coaster
from maskwatch.video.demo import make_pan_clip
from maskwatch.video.detect_scale import DetectScale
from maskwatch.video.schedule import ClassifySchedule

SURE = np.array([0.97, 0.02, 0.01], dtype=np.float32)
UNSURE = np.array([0.55, 0.40, 0.05], dtype=np.float32)


def test_new_track_and_unconfirmed_face_are_due_at_once() -> None:
    schedule = ClassifySchedule(every=10)
    assert schedule.due(0, np.array([-1, 1, 2])).tolist() == [True, True, True]
    schedule.record(0, 1, SURE, 0)
    # Track 2 was never classified, -1 is never remembered: both stay due.
    assert schedule.due(1, np.array([-1, 1, 2])).tolist() == [True, False, True]


def test_confident_track_is_reclassified_every_n_frames_not_every_frame() -> None:
    schedule = ClassifySchedule(every=10)
    schedule.record(0, 10, SURE, 0)  # track 10: phase 0, next check 10 frames later
    due = [bool(schedule.due(f, np.array([10]))[0]) for f in range(1, 31)]
    assert due == [f >= 10 for f in range(1, 31)]  # due from frame 10 on, until classified again
    schedule2 = ClassifySchedule(every=10)
    schedule2.record(0, 10, SURE, 0)
    checked = []
    for f in range(1, 31):
        if schedule2.due(f, np.array([10]))[0]:
            checked.append(f)
            schedule2.record(f, 10, SURE, 0)
    assert checked == [10, 20, 30]


def test_tracks_get_different_phases() -> None:
    schedule = ClassifySchedule(every=4)
    for tid in (1, 2, 3, 4):
        schedule.record(0, tid, SURE, 0)
    first_due = {tid: next(f for f in range(1, 9) if schedule.due(f, np.array([tid]))[0]) for tid in (1, 2, 3, 4)}
    assert sorted(first_due.values()) == [1, 2, 3, 4]


def test_disagreement_triggers_reclassification_next_frame_and_unsure_soon() -> None:
    schedule = ClassifySchedule(every=10, min_confidence=0.8, retry=3)
    schedule.record(0, 10, SURE, 0)
    assert not schedule.due(1, np.array([10]))[0]
    # Confident raw "with_mask" but the smoothed track label is still "without_mask": check again.
    schedule.record(1, 10, SURE, 1)
    assert schedule.due(2, np.array([10]))[0]
    schedule.record(2, 10, UNSURE, 0)  # unsure: again after `retry` frames, not after `every`
    assert [bool(schedule.due(f, np.array([10]))[0]) for f in (3, 4, 5)] == [False, False, True]
    schedule.record(5, 10, SURE, 0)
    assert not any(schedule.due(f, np.array([10]))[0] for f in range(6, 15))
    assert schedule.due(15, np.array([10]))[0]
    schedule.forget([10])
    assert 10 not in schedule


def test_schedule_rejects_bad_settings() -> None:
    with pytest.raises(ValueError, match="classify_every"):
        ClassifySchedule(every=0)
    with pytest.raises(ValueError, match="min_confidence"):
        ClassifySchedule(min_confidence=1.5)
    with pytest.raises(ValueError, match="retry"):
        ClassifySchedule(retry=0)


def test_detect_scale_shrinks_for_large_faces_and_probes_at_full_size() -> None:
    policy = DetectScale(min_face=24, probe_every=30, min_side=160)
    assert policy.scale(0, 640, 480) == 1.0  # nothing known yet
    policy.observe(0, np.array([[100, 100, 196, 196], [300, 100, 348, 148]]), 1.0)  # 96 and 48 px faces
    assert policy.scale(1, 640, 480) == 0.5  # the 48 px face stays 24 px
    policy.observe(1, np.array([[100, 100, 196, 196]]), 0.5)  # the small one missed at this scale
    assert policy.scale(2, 640, 480) == 0.5  # ...but the estimate keeps it until the next probe
    assert policy.scale(30, 640, 480) == 1.0  # the probe
    policy.observe(30, np.array([[0, 0, 400, 400]]), 1.0)
    assert policy.scale(31, 640, 480) == 0.25  # one huge face: down to the 160 px floor
    policy.observe(60, np.zeros((0, 4)), 1.0)  # probe finds nobody
    assert policy.scale(61, 640, 480) == 0.5  # empty scene: watched at half size
    tiny = DetectScale(min_face=24)
    tiny.observe(0, np.array([[10, 10, 22, 22]]), 1.0)
    assert tiny.scale(1, 640, 480) == 1.0  # 12 px faces: never shrunk


def test_steady_scenes_skip_detection_and_changes_bring_it_back() -> None:
    policy = DetectScale(min_face=24, probe_every=30, coast_frames=1)
    face, other = [100, 100, 196, 196], [300, 100, 396, 196]

    def step(frame: int, boxes: list) -> bool:
        detect = policy.detect_on(frame, 640, 480)
        if detect:
            policy.observe(frame, np.array(boxes, dtype=np.float32).reshape(-1, 4), policy.scale(frame, 640, 480))
        return detect

    assert step(0, [face]) and step(1, [face])  # first frames: detected
    assert [step(f, [face]) for f in range(2, 6)] == [False, True, False, True]  # steady: every other
    assert step(6, [face]) is False
    assert step(7, [face, other])  # a new face...
    assert step(8, [face, other])  # ...brings detection back on every frame until steady again
    assert step(9, [face, other]) is False
    assert step(30, [face, other])  # probes always run
    third = DetectScale(min_face=24, coast_frames=2)
    third.observe(0, np.array([face]), 1.0)
    third.observe(1, np.array([face]), 0.5)
    assert [third.detect_on(f, 640, 480) for f in (2, 3, 4)] == [False, False, True]
    off = DetectScale(coast=False)
    off.observe(0, np.array([face]), 1.0)
    off.observe(1, np.array([face]), 0.5)
    assert all(off.detect_on(f, 640, 480) for f in range(2, 6))
    empty = DetectScale()
    empty.observe(0, np.zeros((0, 4)), 1.0)
    empty.observe(1, np.zeros((0, 4)), 0.5)
    assert empty.detect_on(2, 640, 480)  # nobody there: keep looking on every frame


def test_coasting_moves_tracks_by_their_velocity_and_keeps_untracked_faces() -> None:
    coaster = Coaster()
    for frame, x in ((0, 100.0), (2, 104.0)):  # track 7 moves 2 px per frame; -1 has no track yet
        faces = from_faces(np.array([[x, 50, x + 20, 70], [300, 50, 320, 70]]), np.array([0.9, 0.8]))
        faces.tracker_id = np.array([7, -1])
        faces.data["probabilities"] = np.array([[0.9, 0.1, 0.0], [0.2, 0.8, 0.0]], np.float32)
        coaster.remember(frame, faces)
    moved = coaster.coast(3, 640, 480)
    assert moved.tracker_id.tolist() == [7, -1]
    np.testing.assert_allclose(moved.xyxy, [[106, 50, 126, 70], [300, 50, 320, 70]])
    np.testing.assert_allclose(moved.data["probabilities"][1], [0.2, 0.8, 0.0])
    coaster.remember(3, moved, detected=False)  # a coasted frame does not change the velocity
    np.testing.assert_allclose(coaster.coast(4, 640, 480).xyxy[0], [108, 50, 128, 70])
    assert len(coaster.coast(5, 105, 480)) == 0  # both faces outside a 105 px wide frame: dropped
    assert len(Coaster().coast(0, 640, 480)) == 0


@pytest.fixture(scope="module")
def clip(data_dir: Path, tmp_path_factory: pytest.TempPathFactory):
    scene = "maksssksksss311"  # 5 faces of 50-60 px in the 640x480 pan
    ann = parse_voc_xml(data_dir / "voc3" / "annotations" / f"{scene}.xml")
    image = load_image(data_dir / "voc3" / "images" / f"{scene}.jpg")
    boxes = np.array([o.box for o in ann.objects], dtype=np.float32)
    path = tmp_path_factory.mktemp("schedule") / "clip.mp4"
    return make_pan_clip(image, boxes, [o.name for o in ann.objects], path, frames=30, pan=(32, 16))


def test_pipeline_classifies_new_tracks_at_once_and_confident_ones_rarely(clip) -> None:
    report = process_video(clip.path, video_detector(quiet=True), keep_records=True, threaded=False, classify_every=8)
    classified: dict[int, list[int]] = defaultdict(list)
    seen: dict[int, list[int]] = defaultdict(list)
    for record in report["records"]:
        for face in record["detections"]:
            if face["track_id"] is None:
                assert face["raw_probabilities"] is not None  # unconfirmed faces: always classified
                continue
            seen[face["track_id"]].append(record["frame"])
            if face["raw_probabilities"] is not None:
                classified[face["track_id"]].append(record["frame"])
    assert len(seen) >= 4
    for tid, frames in seen.items():
        assert classified[tid] and classified[tid][0] == frames[0], f"track {tid} not classified when it began"
    # Steady, clearly labelled faces in a still pan: far fewer classifier runs than frames.
    steady = [tid for tid, frames in seen.items() if len(frames) >= 20]
    assert steady
    assert sum(len(classified[t]) for t in steady) <= 0.5 * sum(len(seen[t]) for t in steady)
