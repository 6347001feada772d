"""Benchmark the face detector settings and the detection pipeline stages on voc3 scenes.

    python bench/bench_detect.py [--voc ../shared/data/voc3] [--limit N] [--threads 2]

Table 1: face recall (IoU >= 0.5, any label) for all faces and faces >= 32 px wide, precision,
and ms per image, per detector setting (upscale / tiles / back-end) and score threshold.
Each setting runs once at the lowest threshold; higher thresholds filter its output, which is
exact because greedy NMS only lets higher-scored boxes suppress lower ones.
Table 2: ms per image per stage (detect, classify, annotate) of the default MaskDetector.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
from tables import print_table  # bench/tables.py (the script's folder is on sys.path)

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_VOC = ROOT.parent / "shared" / "data" / "voc3"
THRESHOLDS = (0.5, 0.6, 0.7, 0.8, 0.9)
#: (back-end, upscale, tiles, enlarged pass): "adaptive" = only when the native pass finds no face
#: or a small one (the default), "always" = on every image small enough to enlarge.
SETTINGS = (
    ("yunet", 1.0, 0, "adaptive"),
    ("yunet", 1.5, 0, "adaptive"),
    ("yunet", 2.0, 0, "adaptive"),
    ("yunet", 2.0, 0, "always"),
    ("yunet", 3.0, 0, "adaptive"),
    ("yunet", 1.0, 2, "adaptive"),
    ("yunet", 2.0, 2, "adaptive"),
    ("yuface", 1.0, 0, "adaptive"),
    ("yuface", 2.0, 0, "adaptive"),
)


def bench_detectors(scenes, images, face_model: Path | None) -> None:
    from maskwatch.detect.evaluation import MIN_WIDE, match_faces
    from maskwatch.detect.faces import YuFaceDetector, YuNetDetector

    total = sum(len(scene.boxes) for scene in scenes)
    total_wide = sum(int(((scene.boxes[:, 2] - scene.boxes[:, 0]) >= MIN_WIDE).sum()) for scene in scenes)
    rows = []
    for backend, upscale, tiles, enlarge in SETTINGS:
        options = {"score_threshold": min(THRESHOLDS), "upscale": upscale, "tiles": tiles}
        if backend == "yunet":
            if face_model is None:
                continue
            detector = YuNetDetector(face_model, **options)
        else:
            detector = YuFaceDetector(**options)
        if enlarge == "always":
            detector._needs_upscale = lambda native: True
        outputs = []
        started = time.perf_counter()
        for rgb in images:
            outputs.append(detector.detect(rgb))
        ms = 1000 * (time.perf_counter() - started) / len(images)
        for threshold in THRESHOLDS:
            found = found_wide = predicted = 0
            for scene, faces in zip(scenes, outputs, strict=True):
                faces = faces[faces.data["face_score"] >= threshold]
                pairs = match_faces(faces.xyxy, faces.data["face_score"], scene.boxes)
                wide = (scene.boxes[:, 2] - scene.boxes[:, 0]) >= MIN_WIDE
                found += len(pairs)
                found_wide += sum(1 for _, g in pairs if wide[g])
                predicted += len(faces)
            rows.append(
                [
                    backend,
                    f"{upscale:g} {enlarge}" if upscale > 1 else "1",
                    str(tiles),
                    f"{threshold:.1f}",
                    f"{found / total:.3f}",
                    f"{found_wide / total_wide:.3f}",
                    f"{found / max(1, predicted):.3f}",
                    f"{ms:.1f}",
                ]
            )
    print_table(
        f"Face detector on {len(images)} voc3 scenes ({total} faces, {total_wide} >= {MIN_WIDE} px wide)",
        ["backend", "upscale", "tiles", "score>=", "recall", f"recall>={MIN_WIDE}px", "precision", "ms/img"],
        rows,
    )


def bench_stages(images) -> None:
    from maskwatch.annotate import FrameAnnotator
    from maskwatch.detect.pipeline import MaskDetector

    detector = MaskDetector(threads=2)
    annotator = FrameAnnotator(detector.labels)
    detector.process(images[0])  # warm-up (allocations, first-call costs)
    totals = {"detect": 0.0, "classify": 0.0, "annotate": 0.0}
    faces = 0
    for rgb in images:
        detections = detector.process(rgb)
        faces += len(detections)
        for stage, seconds in detector.last_timings.items():
            totals[stage] += seconds
        started = time.perf_counter()
        annotator.annotate(rgb, detections)
        totals["annotate"] += time.perf_counter() - started
    n = len(images)
    rows = [[stage, f"{1000 * s / n:.1f}"] for stage, s in totals.items()]
    rows.append(["total", f"{1000 * sum(totals.values()) / n:.1f}"])
    print_table(
        f"MaskDetector stages, {n} images, {faces / n:.1f} faces/img, {detector.face_detector!r}, "
        f"classifier {detector.classifier.path.name}",
        ["stage", "ms/img"],
        rows,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--voc", type=Path, default=DEFAULT_VOC)
    parser.add_argument("--limit", type=int, default=None, help="first N scenes only")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--skip-stages", action="store_true")
    args = parser.parse_args()

    import cv2

    cv2.setNumThreads(args.threads)
    from maskwatch.detect.evaluation import load_voc_scenes
    from maskwatch.detect.model_cache import resolve_face_model
    from maskwatch.errors import ModelFileError
    from maskwatch.images import load_image

    os.environ.setdefault("MASKWATCH_HOME", str(ROOT.parent / "shared" / "weights"))
    scenes = load_voc_scenes(args.voc, limit=args.limit)
    images = [load_image(scene.image) for scene in scenes]
    try:
        face_model = resolve_face_model(download=False)
    except ModelFileError as exc:
        print(f"YuNet not available ({exc}); benchmarking yuface only", file=sys.stderr)
        face_model = None
    print(
        f"opencv {cv2.__version__}, {args.threads} threads, {len(images)} images, "
        f"mean size {np.mean([im.shape[1] for im in images]):.0f}x{np.mean([im.shape[0] for im in images]):.0f}"
    )
    bench_detectors(scenes, images, face_model)
    if not args.skip_stages:
        try:
            bench_stages(images)
        except ModelFileError as exc:
            print(f"\nstage timing skipped: {exc}")


if __name__ == "__main__":
    main()
