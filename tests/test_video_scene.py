"""Track ids reset on a scene cut (issue 12, finding 14): no id passes from one person to another."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from maskwatch.video.scene import CUT_THRESHOLD, SceneCuts

FIRST, SECOND = "maksssksksss704.jpg", "maksssksksss665.jpg"  # voc3 group photos, faces at similar places
SIZE, PER_SHOT = (640, 480), 16


@pytest.fixture(scope="module")
def cut_clip(tmp_path_factory, data_dir: Path) -> Path:
    """Two shots of a slow pan, cut hard from one photo to the other at frame PER_SHOT."""
    import cv2

    from maskwatch.images import load_image
    from maskwatch.video.writer import VideoWriter

    path = tmp_path_factory.mktemp("cut") / "cut.mp4"
    shots = [cv2.resize(load_image(data_dir / "voc3" / "images" / name), SIZE) for name in (FIRST, SECOND)]
    with VideoWriter(path, fps=25) as writer:
        for shot in shots:
            for i in range(PER_SHOT):
                writer.write(np.ascontiguousarray(np.roll(shot, i, axis=1)))
    return path


def _ids_per_shot(pipeline, clip: Path) -> tuple[set[int], set[int]]:
    before: set[int] = set()
    after: set[int] = set()
    for result in pipeline.run(clip):
        ids = {int(t) for t in result.detections.tracker_id if t >= 0}
        (before if result.index < PER_SHOT else after).update(ids)
    return before, after


def test_no_track_id_crosses_a_hard_cut(cut_clip: Path) -> None:
    from maskwatch.detect.pipeline import MaskDetector
    from maskwatch.video.pipeline import VideoPipeline

    detector = MaskDetector(upscale=1.0, quiet=True)
    pipeline = VideoPipeline(detector)
    before, after = _ids_per_shot(pipeline, cut_clip)
    assert len(before) >= 5 and len(after) >= 5
    assert not before & after, f"ids {sorted(before & after)} passed from one photo's people to the other's"
    gone = [e for e in pipeline.events if e.type == "disappeared" and e.frame == PER_SHOT - 1]
    assert {e.track_id for e in gone} == before, "every track of the first shot ends at the cut"
    # Without cut detection the tracker hands the first shot's ids to the second shot's people.
    before, after = _ids_per_shot(VideoPipeline(detector, cut_threshold=None), cut_clip)
    assert before & after


def test_a_pan_and_noise_are_not_cuts(data_dir: Path) -> None:
    import cv2

    from maskwatch.images import load_image

    image = cv2.resize(load_image(data_dir / "voc3" / "images" / FIRST), SIZE)
    cuts = SceneCuts()
    rng = np.random.default_rng(0)
    scores = []
    for i in range(0, 40, 2):
        frame = np.roll(image, i, axis=1).astype(np.float32) + rng.normal(0, 6, image.shape)
        scores.append(cuts.score(np.clip(frame, 0, 255).astype(np.uint8)))
    assert max(scores) < CUT_THRESHOLD / 2 and cuts.cuts == 0
    other = cv2.resize(load_image(data_dir / "voc3" / "images" / SECOND), SIZE)
    assert cuts.is_cut(other) and cuts.cuts == 1
