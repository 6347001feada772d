"""The video pipeline end to end on a clip made here by panning over a real voc3 crowd photo.

The pan moves every annotated face box by a known offset per frame, so the ground truth of every
frame is known: tracking must give each face one id for the whole clip, and label smoothing must
keep labels steady even when the classifier output is deliberately made noisy.
"""

from __future__ import annotations

import copy
import json
import threading
import time
from collections import defaultdict
from pathlib import Path

import av
import numpy as np
import pytest
import supervision as sv

from maskwatch.data.voc import parse_voc_xml
from maskwatch.detections import PROBABILITIES
from maskwatch.errors import MaskwatchError
from maskwatch.images import load_image
from maskwatch.video import Frame, FrameSource, VideoFileSource, iter_video, process_video, video_detector
from maskwatch.video.demo import make_pan_clip

FRAMES = 40
SCENE = "maksssksksss389"  # 12 annotated faces, 9 of them large enough to see in a 640x480 pan


@pytest.fixture(scope="module")
def detector():
    return video_detector(quiet=True)


@pytest.fixture(scope="module")
def clip(data_dir: Path, tmp_path_factory: pytest.TempPathFactory):
    ann = parse_voc_xml(data_dir / "voc3" / "annotations" / f"{SCENE}.xml")
    image = load_image(data_dir / "voc3" / "images" / f"{SCENE}.jpg")
    boxes = np.array([o.box for o in ann.objects], dtype=np.float32)
    path = tmp_path_factory.mktemp("video") / "scene.mp4"
    return make_pan_clip(image, boxes, [o.name for o in ann.objects], path, frames=FRAMES, gop=10)


def _ids_per_face(clip, records: list[dict]) -> dict[int, list[int]]:
    """For each ground-truth face, the track ids of the detections that matched it, frame by frame."""
    ids: dict[int, list[int]] = defaultdict(list)
    for record in records:
        frame = record["frame"]
        dets = [d for d in record["detections"] if d["track_id"] is not None]
        if not dets:
            continue
        gt = clip.boxes[frame]
        iou = sv.box_iou_batch(gt, np.array([d["box"] for d in dets], dtype=np.float32))
        for g in np.flatnonzero(clip.visible[frame]):
            j = int(iou[g].argmax())
            if iou[g, j] >= 0.4:
                ids[int(g)].append(dets[j]["track_id"])
    return ids


def _read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def _video_info(path: Path) -> tuple[str, int]:
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        return stream.codec_context.name, sum(1 for _ in container.decode(stream))


def test_each_face_keeps_one_track_id(clip, detector, tmp_path: Path) -> None:
    out_video, out_json = tmp_path / "annotated.mp4", tmp_path / "faces.jsonl"
    report = process_video(clip.path, detector, save=out_video, save_json=out_json, keep_records=True)
    assert report["frames"] == FRAMES and report["warnings"] == []
    ids = _ids_per_face(clip, report["records"])
    followed = {g: v for g, v in ids.items() if len(v) >= 10}
    assert len(followed) >= 7  # most of the 9 visible faces are detected on >= 10 frames
    switches = sum(len(set(v)) - 1 for v in followed.values())
    assert switches == 0, {g: sorted(set(v)) for g, v in followed.items()}
    owners = [v[0] for v in followed.values()]
    assert len(set(owners)) == len(owners)  # and no two faces share an id

    summary = report["summary"]
    assert len(followed) <= summary["people"] <= len(followed) + 3
    assert sum(summary["by_label"].values()) == summary["people"]
    assert summary["without_mask"] == summary["by_label"]["without_mask"]
    appeared = [e for e in report["events"] if e["event"] == "appeared"]
    assert len(appeared) == summary["people"]

    # Outputs: an H.264 MP4 with every frame, and JSON Lines: frames in order, events, summary last.
    assert _video_info(out_video) == ("h264", FRAMES)
    lines = _read_jsonl(out_json)
    frames = [r for r in lines if r["type"] == "frame"]
    assert [r["frame"] for r in frames] == list(range(FRAMES))
    assert frames == report["records"]
    assert lines[-1]["type"] == "summary" and lines[-1]["people"] == summary["people"]
    assert sum(r["type"] == "event" for r in lines) == len(report["events"])
    face = next(d for r in frames for d in r["detections"] if d["track_id"] is not None)
    assert set(face) == {"track_id", "box", "label", "confidence", "probabilities", "raw_probabilities", "face_score"}
    assert face["label"] in face["probabilities"] and face["confidence"] == face["probabilities"][face["label"]]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["annotated.mp4", "faces.jsonl"]  # no temp files


def _noisy_detector(detector, seed: int, rate: float = 0.3):
    """A copy of detector whose classifier is confidently wrong on a random `rate` of the faces.

    Replacing rows (instead of adding mild noise) makes the raw labels flip whatever the model's
    own confidence is, so the test measures the smoother, not how sure the shipped model is.
    """
    rng = np.random.default_rng(seed)
    noisy = copy.copy(detector)

    def classify(rgb, faces):
        labelled = detector.classify(rgb, faces)
        probs = labelled.data[PROBABILITIES].copy()
        n, k = probs.shape
        glitch = rng.random(n) < rate
        spikes = np.full((n, k), 0.1 / (k - 1), dtype=np.float32)
        spikes[np.arange(n), rng.integers(0, k, n)] = 0.9
        probs[glitch] = spikes[glitch]
        labelled.data[PROBABILITIES] = probs
        return labelled

    noisy.classify = classify
    return noisy


def test_smoothing_keeps_noisy_labels_steady(clip, detector) -> None:
    def label_changes(**smoothing) -> tuple[int, int]:
        report = process_video(clip.path, _noisy_detector(detector, seed=3), classify_every=1, coast=False, **smoothing)
        return report["summary"]["label_changes"], report["summary"]["people"]

    raw_changes, people = label_changes(alpha=1.0, margin=0.0, patience=1)  # no smoothing: argmax per frame
    smooth_changes, smooth_people = label_changes()
    assert smooth_people == people
    assert raw_changes >= 3 * people  # the noise makes raw labels flip several times per person
    assert smooth_changes <= raw_changes / 8


def test_threaded_equals_sequential_and_early_stop_finishes_outputs(clip, detector, tmp_path: Path) -> None:
    def records(threaded: bool) -> list[dict]:
        return [r.to_dict() for r in iter_video(clip.path, detector, max_frames=12, threaded=threaded)]

    assert records(threaded=True) == records(threaded=False)

    before = {t.name for t in threading.enumerate()}
    out_video, out_json = tmp_path / "partial.mp4", tmp_path / "partial.jsonl"
    results = iter_video(clip.path, detector, save=out_video, save_json=out_json)
    for result in results:
        if result.index == 9:
            break
    results.close()
    assert _video_info(out_video) == ("h264", 10)
    lines = _read_jsonl(out_json)
    assert [r["frame"] for r in lines if r["type"] == "frame"] == list(range(10))
    assert lines[-1]["type"] == "summary" and lines[-1]["frames"] == 10
    assert not [t.name for t in threading.enumerate() if t.name.startswith("maskwatch-") and t.name not in before]


def test_truncated_video_is_processed_up_to_the_cut(clip, detector, tmp_path: Path) -> None:
    data = clip.path.read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.warns(UserWarning, match="cut.mp4"):
        report = process_video(cut, detector, save=tmp_path / "cut_annotated.mp4")
    assert 0 < report["frames"] < FRAMES
    assert len(report["warnings"]) == 1 and "cut.mp4" in report["warnings"][0]
    assert report["summary"]["warnings"] == report["warnings"]
    assert _video_info(tmp_path / "cut_annotated.mp4") == ("h264", report["frames"])


class _FakeCamera(FrameSource):
    """A live source: the clip's frames delivered at camera pace, timed by the wall clock."""

    live = True
    name = "fake camera"

    def __init__(self, path: Path, fps: float) -> None:
        self.path, self.fps = path, fps

    def __iter__(self):
        started = time.monotonic()
        for frame in VideoFileSource(self.path):
            time.sleep(1.0 / self.fps)
            yield Frame(frame.index, time.monotonic() - started, frame.image)


def test_live_source_json_lines_are_streamed(clip, detector, tmp_path: Path) -> None:
    out_json, out_video = tmp_path / "live.jsonl", tmp_path / "live.mp4"
    lines_while_running = []
    results = 0
    for _ in iter_video(_FakeCamera(clip.path, fps=40), detector, save=out_video, save_json=out_json):
        # Live output is appended and flushed frame by frame, not renamed into place at the end.
        lines_while_running.append(len(out_json.read_text().splitlines()) if out_json.exists() else 0)
        results += 1
    assert max(lines_while_running) > 0
    lines = _read_jsonl(out_json)
    summary = lines[-1]
    assert summary["type"] == "summary"
    assert len([r for r in lines if r["type"] == "frame"]) == results
    assert results + summary["dropped_frames"] == FRAMES  # frames the pipeline could not keep up with are counted
    assert _video_info(out_video) == ("h264", results)


def test_bad_output_path_fails_before_any_work(clip, detector, tmp_path: Path) -> None:
    with pytest.raises(MaskwatchError, match=r"out\.avi: video output must be \.mp4"):
        process_video(clip.path, detector, save=tmp_path / "out.avi", save_json=tmp_path / "out.jsonl")
    assert list(tmp_path.iterdir()) == []
