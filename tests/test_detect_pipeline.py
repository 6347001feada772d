"""Face detectors, MaskDetector and detect() on real voc3 crowd scenes.

Scenes are picked from the annotations (several faces, some of them not tiny), so assertions are
about agreement with the ground truth (IoU), the model's label set and the output formats.
"""

from __future__ import annotations

import csv
import json
import logging
from pathlib import Path

import numpy as np
import pytest
import supervision as sv
from PIL import Image

import maskwatch
from maskwatch.classifier import Classifier
from maskwatch.detect import MaskDetector, detect
from maskwatch.detect.evaluation import match_faces, read_voc_xml
from maskwatch.detect.faces import FaceDetector, YuFaceDetector, YuNetDetector, load_face_detector
from maskwatch.detect.model_cache import resolve_face_model
from maskwatch.errors import BadImageError, ConfigError, SourceError
from maskwatch.images import MAX_PIXELS, load_image
from maskwatch.video.sources import SourceKind, parse_source

RECORD_KEYS = {"source", "width", "height", "detections"}
FACE_KEYS = {"box", "label", "confidence", "face_score", "probabilities"}


@pytest.fixture(scope="module")
def scenes(data_dir: Path) -> list[tuple[Path, np.ndarray, list[str]]]:
    """Four voc3 scenes with >= 3 faces, >= 2 of them >= 32 px wide (image, boxes, labels)."""
    picked = []
    for xml in sorted((data_dir / "voc3" / "annotations").glob("*.xml")):
        name, boxes, labels = read_voc_xml(xml)
        widths = boxes[:, 2] - boxes[:, 0]
        if len(boxes) >= 3 and (widths >= 32).sum() >= 2:
            picked.append((data_dir / "voc3" / "images" / name, boxes, labels))
        if len(picked) == 4:
            break
    assert len(picked) == 4
    return picked


@pytest.fixture(scope="module")
def detector() -> MaskDetector:
    return MaskDetector(threads=2, quiet=True)


def _matched_wide(faces: sv.Detections, boxes: np.ndarray) -> tuple[int, int]:
    pairs = match_faces(faces.xyxy, faces.data["face_score"], boxes)
    wide = (boxes[:, 2] - boxes[:, 0]) >= 32
    return sum(1 for _, g in pairs if wide[g]), int(wide.sum())


def test_yunet_boxes_overlap_ground_truth(scenes) -> None:
    yunet = YuNetDetector(resolve_face_model(download=False))
    assert isinstance(yunet, FaceDetector)
    found = total = 0
    for image, boxes, _ in scenes:
        rgb = load_image(image)
        faces = yunet.detect(rgb)
        assert faces.xyxy.dtype == np.float32 and faces.data["landmarks"].shape == (len(faces), 5, 2)
        assert (faces.xyxy[:, [0, 2]] >= 0).all() and (faces.xyxy[:, [0, 2]] <= rgb.shape[1]).all()
        assert (faces.xyxy[:, [1, 3]] >= 0).all() and (faces.xyxy[:, [1, 3]] <= rgb.shape[0]).all()
        assert (faces.data["face_score"] >= yunet.score_threshold).all()
        assert np.all(np.diff(faces.data["face_score"]) <= 0)  # sorted by score
        # Every nose tip (landmark 2) lies in or near its box.
        nose = faces.data["landmarks"][:, 2]
        w = faces.xyxy[:, 2] - faces.xyxy[:, 0]
        assert (nose[:, 0] > faces.xyxy[:, 0] - w / 2).all() and (nose[:, 0] < faces.xyxy[:, 2] + w / 2).all()
        # No duplicates survive the merge of the enlarged and native passes.
        iou = sv.box_iou_batch(faces.xyxy, faces.xyxy) - np.eye(len(faces))
        assert (iou <= yunet.nms_threshold + 1e-3).all()
        matched, wide = _matched_wide(faces, boxes)
        found, total = found + matched, total + wide
    assert found / total >= 0.75, f"YuNet matched only {found} of {total} faces >= 32 px"


def test_upscaling_and_tiles_find_at_least_as_many_faces(scenes) -> None:
    path = resolve_face_model(download=False)
    counts = {}
    for name, options in {"native": {"upscale": 1.0}, "upscale": {"upscale": 2.0}, "tiles": {"tiles": 2}}.items():
        det = YuNetDetector(path, **options)
        counts[name] = sum(
            len(match_faces(f.xyxy, f.data["face_score"], boxes))
            for f, boxes in ((det.detect(load_image(img)), boxes) for img, boxes, _ in scenes)
        )
    assert counts["upscale"] >= counts["native"] > 0
    assert counts["tiles"] >= counts["native"]


def test_yuface_backend_finds_the_same_faces(scenes) -> None:
    image, boxes, _ = scenes[0]
    faces = YuFaceDetector(upscale=1.0).detect(load_image(image))
    matched, wide = _matched_wide(faces, boxes)
    assert len(faces) and matched >= max(1, wide // 2)
    assert (faces.data["face_score"] <= 1.0).all()


def test_detector_rejects_bad_input_and_handles_empty_images() -> None:
    det = YuNetDetector(resolve_face_model(download=False))
    with pytest.raises(ValueError, match="RGB"):
        det.detect(np.zeros((50, 50), np.uint8))
    empty = det.detect(np.full((120, 160, 3), 127, np.uint8))
    assert len(empty) == 0 and empty.xyxy.shape == (0, 4)
    with pytest.raises(ValueError):
        YuNetDetector(resolve_face_model(download=False), upscale=0.5)


def test_mask_detector_labels_faces_with_one_batched_call(detector: MaskDetector, scenes) -> None:
    calls = []
    original = detector.classifier.predict

    def counting(faces):
        calls.append(len(faces))
        return original(faces)

    detector.classifier.predict = counting
    try:
        image, boxes, _ = scenes[0]
        detections = detector.process(load_image(image))
    finally:
        del detector.classifier.predict
    assert calls == [len(detections)] and len(detections) >= 2
    assert set(detections.data["class_name"]) <= set(detector.labels)
    probs = detections.data["probabilities"]
    assert probs.shape == (len(detections), len(detector.labels))
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-3)
    np.testing.assert_allclose(detections.confidence, probs.max(axis=1), atol=1e-6)
    assert set(detector.last_timings) == {"detect", "classify"}
    assert detector.labels == Classifier.load().labels


def test_detect_image_json_schema(detector: MaskDetector, scenes, tmp_path: Path) -> None:
    image, boxes, _ = scenes[1]
    out = tmp_path / "out.json"
    results = detect(image, detector=detector, save_json=out, verbose=False)
    assert json.loads(out.read_text()) == results
    (record,) = results
    assert set(record) == RECORD_KEYS
    assert (record["width"], record["height"]) == Image.open(image).size
    assert record["source"] == str(image)
    assert record["detections"]
    for face in record["detections"]:
        assert set(face) == FACE_KEYS
        assert face["label"] in detector.labels
        assert list(face["probabilities"]) == detector.labels
        assert face["confidence"] == max(face["probabilities"].values())
        x1, y1, x2, y2 = face["box"]
        assert 0 <= x1 < x2 <= record["width"] and 0 <= y1 < y2 <= record["height"]
    found = np.array([f["box"] for f in record["detections"]], dtype=np.float32)
    assert sv.box_iou_batch(boxes, found).max(axis=1).max() >= 0.5


def test_folder_with_corrupt_file_continues_and_writes_all_outputs(
    detector: MaskDetector, scenes, tmp_path: Path, capsys: pytest.CaptureFixture, caplog: pytest.LogCaptureFixture
) -> None:
    folder = tmp_path / "photos"
    (folder / "nested").mkdir(parents=True)
    for i, (image, _, _) in enumerate(scenes[:3]):
        target = folder / ("nested" if i == 2 else "") / image.name
        target.write_bytes(image.read_bytes())
    (folder / "broken.jpg").write_bytes(scenes[0][0].read_bytes()[:300])  # truncated JPEG
    (folder / "notes.txt").write_text("not an image")
    save_dir, csv_path, coco_path = folder / "annotated", tmp_path / "faces.csv", tmp_path / "coco.json"
    (save_dir / "old").mkdir(parents=True)
    (save_dir / "old" / "previous.jpg").write_bytes(scenes[3][0].read_bytes())  # an earlier run's output

    results = detect(folder, detector=detector, save_dir=save_dir, save_csv=csv_path, save_coco=coco_path, verbose=True)

    err = capsys.readouterr().err
    mentions = [r.getMessage() for r in caplog.records if "broken.jpg" in r.getMessage()]
    assert len(mentions) == 1 and mentions[0].startswith("skipped") and "corrupt or truncated" in mentions[0]
    assert "1 file(s) skipped" in err and "3 image(s)" in err
    assert len(results) == 3 and all("broken" not in r["source"] for r in results)
    # Annotated copies keep the folder layout and are real images of the original size.
    for result in results:
        rel = Path(result["source"]).relative_to(folder)
        drawn = load_image(save_dir / rel)
        assert drawn.shape[:2] == (result["height"], result["width"])
    assert not list(save_dir.rglob("*.tmp"))
    assert not any("annotated" in r["source"] for r in results)

    faces = sum(len(r["detections"]) for r in results)
    with open(csv_path, newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == faces
    assert {f"p_{label}" for label in detector.labels} <= set(rows[0])
    for row in rows:
        assert row["label"] in detector.labels
        assert float(row["x1"]) < float(row["x2"]) and float(row["y1"]) < float(row["y2"])

    coco = json.loads(coco_path.read_text())
    assert set(coco) == {"images", "categories", "annotations"}
    assert [(c["id"], c["name"]) for c in coco["categories"]] == list(enumerate(detector.labels, start=1))
    assert [(i["id"], i["file_name"], i["width"], i["height"]) for i in coco["images"]] == [
        (n, r["source"], r["width"], r["height"]) for n, r in enumerate(results, start=1)
    ]
    assert len(coco["annotations"]) == faces
    assert [a["id"] for a in coco["annotations"]] == list(range(1, faces + 1))
    for item in coco["annotations"]:
        assert set(item) == {"id", "image_id", "category_id", "bbox", "area", "iscrowd", "score"}
        assert 1 <= item["image_id"] <= len(results)
        assert 1 <= item["category_id"] <= len(detector.labels)
        x, y, w, h = item["bbox"]
        source = results[item["image_id"] - 1]
        assert w > 0 and h > 0 and x + w <= source["width"] + 0.1 and y + h <= source["height"] + 0.1
        assert item["area"] == pytest.approx(w * h, abs=0.1) and item["iscrowd"] == 0
        assert 0.0 <= item["score"] <= 1.0


def test_glob_source_and_huge_image_refusal(detector: MaskDetector, scenes, tmp_path: Path, caplog) -> None:
    for image, _, _ in scenes[:2]:
        (tmp_path / image.name).write_bytes(image.read_bytes())
    huge = tmp_path / "huge.png"
    Image.new("1", (8000, MAX_PIXELS // 8000 + 1)).save(huge)  # > MAX_PIXELS, a few KB on disk
    results = detect(str(tmp_path / "*.*"), detector=detector)
    assert len(results) == 2
    assert "huge.png" in caplog.text
    with pytest.raises(BadImageError, match="limit"):
        load_image(huge)


def test_show_without_display_is_a_notice(detector, scenes, monkeypatch, capsys) -> None:
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    results = detect(scenes[0][0], detector=detector, show=True, verbose=False)
    assert len(results) == 1
    assert "--show ignored" in capsys.readouterr().err


def test_sources_are_recognised(tmp_path: Path, scenes) -> None:
    assert parse_source(0).kind == SourceKind.CAMERA
    assert parse_source("1").kind == SourceKind.CAMERA
    assert parse_source("rtsp://cam.local/stream").kind == SourceKind.URL
    assert parse_source(str(tmp_path)).kind == SourceKind.FOLDER
    assert parse_source(str(scenes[0][0])).kind == SourceKind.IMAGE
    assert parse_source(str(tmp_path / "**" / "*.jpg")).kind == SourceKind.GLOB
    (tmp_path / "clip.mp4").write_bytes(b"")
    assert parse_source(tmp_path / "clip.mp4").is_video
    with pytest.raises(SourceError, match="no such file"):
        parse_source(tmp_path / "missing.jpg")
    with pytest.raises(SourceError, match="no image files"):
        detect(tmp_path / "empty_dir_glob_*.jpg", verbose=False)


def test_yuface_fallback_runs_the_whole_pipeline(
    scenes, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("MASKWATCH_HOME", str(tmp_path))  # empty cache
    monkeypatch.setenv("MASKWATCH_OFFLINE", "1")
    monkeypatch.delenv("MASKWATCH_FACE_MODEL", raising=False)
    image, boxes, _ = scenes[0]
    results = detect(image, upscale=1.0, verbose=False)
    notice = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(notice) == 1 and "using the built-in yuface detector" in notice[0]
    found = np.array([f["box"] for f in results[0]["detections"]], dtype=np.float32).reshape(-1, 4)
    assert len(found) and sv.box_iou_batch(boxes, found).max() >= 0.5
    assert isinstance(load_face_detector(quiet=True), YuFaceDetector)


def test_video_source_is_handed_to_maskwatch_video(detector, scenes, tmp_path: Path) -> None:
    from maskwatch.video.demo import make_pan_clip

    image, boxes, labels = scenes[0]
    clip = make_pan_clip(load_image(image), boxes, labels, tmp_path / "clip.mp4", frames=6)
    with pytest.raises(ConfigError, match="save-csv"):
        detect(clip.path, detector=detector, save_csv=tmp_path / "x.csv", verbose=False)
    results = detect(
        clip.path,
        detector=detector,
        save_dir=tmp_path / "out",
        save_json=tmp_path / "v.jsonl",
        verbose=False,
        threaded=False,
    )
    report = results.report
    assert report["frames"] == 6 == len(results)
    # One result type for frames and images: .detections inside, .to_dict() outside.
    assert [r.index for r in results] == list(range(6))
    assert all(len(r.detections) == len(r["detections"]) for r in results)
    assert Path(report["video"]).is_file() and Path(report["video"]).parent == tmp_path / "out"
    lines = [json.loads(line) for line in (tmp_path / "v.jsonl").read_text().splitlines()]
    frames = [line for line in lines if line.get("type") == "frame"]
    assert len(frames) == 6 and any(frame["detections"] for frame in frames)
    assert frames == [r.to_dict() for r in results]


def test_package_level_detect_is_callable(detector, scenes) -> None:
    import maskwatch.detect as module

    assert maskwatch.detect is module or callable(maskwatch.detect)
    assert module(scenes[0][0], detector=detector, verbose=False)[0]["detections"]


def test_results_stream_like_ultralytics(detector, scenes, tmp_path: Path) -> None:
    """stream=True yields the same results one at a time; outputs and `skipped` are complete at the end."""
    folder = tmp_path / "photos"
    folder.mkdir()
    for image, _, _ in scenes[:3]:
        (folder / image.name).write_bytes(image.read_bytes())
    (folder / "broken.jpg").write_bytes(scenes[0][0].read_bytes()[:300])
    listed = detect(folder, detector=detector, verbose=False)
    stream = detect(folder, detector=detector, save_json=tmp_path / "r.json", verbose=False, stream=True)
    assert not isinstance(stream, list) and not (tmp_path / "r.json").exists()
    first = next(stream)
    assert isinstance(first.detections, sv.Detections) and first.to_dict() == listed[0]
    rest = list(stream)
    assert [first, *rest] == listed and len(listed) == 3
    assert json.loads((tmp_path / "r.json").read_text()) == [r.to_dict() for r in listed]
    assert len(stream.skipped) == len(listed.skipped) == 1 and "broken.jpg" in stream.skipped[0]
    assert listed.report is None


def test_a_library_call_prints_nothing(scenes, tmp_path: Path) -> None:
    import subprocess
    import sys

    folder = tmp_path / "photos"
    folder.mkdir()
    for image, _, _ in scenes[:2]:
        (folder / image.name).write_bytes(image.read_bytes())
    (folder / "broken.jpg").write_bytes(b"not a jpeg")
    code = (  # a fresh interpreter, as a program using maskwatch as a library
        "import sys, maskwatch\n"
        "results = maskwatch.detect(sys.argv[1], save_json=sys.argv[2])\n"
        "assert len(results) == 2 and len(results.skipped) == 1\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(folder), str(tmp_path / "out.json")], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == "" and done.stderr == "", f"maskwatch.detect() printed without being asked: {done.stderr}"
