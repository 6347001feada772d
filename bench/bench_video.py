"""Benchmark the video pipeline end to end and per stage on a 640x480 clip with several faces.

    python bench/bench_video.py [--frames 150] [--scene maksssksksss389] [--model PATH] [--repeat 1]

The clip is made here by panning over a voc3 crowd photo (maskwatch.video.demo), with mild
sensor noise so that decoding and encoding cost what they cost on a real camera clip.

Table 1 (pipeline settings): frames/s measured (wall clock), the frames/s bound on two idle cores
computed from CPU time (sequential: 1000 / CPU ms per frame; threaded: limited by both cores'
total and by the busiest thread), CPU ms per frame for the whole process, and CPU ms per frame of
each stage in its own thread (`time.thread_time`; the networks run single-threaded here so that
every stage's work is counted). On a machine shared with other jobs the wall-clock fps swings
with the load; the CPU figures do not. Every row writes the annotated MP4 and the JSON Lines.
Table 2 (encoder): libx264 preset cost per 640x480 frame, and the RGB -> YUV conversion.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from tables import print_table  # bench/tables.py (the script's folder is on sys.path)

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = ROOT.parent / "shared" / "data"
os.environ.setdefault("MASKWATCH_HOME", str(ROOT.parent / "shared" / "weights"))

STAGES = ("decode", "detect", "classify", "track", "annotate", "encode")

#: (name, threaded, detector upscale, detect_size, classify_every)
SETTINGS = (
    ("sequential, image defaults (upscale 2x)", False, 2.0, 640, 1),
    ("sequential, upscale off", False, 1.0, 640, 1),
    ("sequential, upscale off, classify every 2nd", False, 1.0, 640, 2),
    ("threaded, upscale off", True, 1.0, 640, 1),
    ("threaded, classify every 2nd frame", True, 1.0, 640, 2),
    ("threaded, classify every 3rd frame (default)", True, 1.0, 640, 3),
    ("threaded, classify every 3rd, detect at 480 px", True, 1.0, 480, 3),
    ("threaded, classify every 5th, detect at 480 px", True, 1.0, 480, 5),
)


def make_clip(data: Path, scene: str, frames: int, path: Path):
    from maskwatch.data.voc import parse_voc_xml
    from maskwatch.images import load_image
    from maskwatch.video.demo import make_pan_clip

    ann = parse_voc_xml(data / "voc3" / "annotations" / f"{scene}.xml")
    image = load_image(data / "voc3" / "images" / f"{scene}.jpg")
    boxes = np.array([o.box for o in ann.objects], dtype=np.float32)
    return make_pan_clip(
        image, boxes, [o.name for o in ann.objects], path, frames=frames, pan=(96, 48), noise=2.0, fps=30
    )


def run_setting(clip_path: Path, out: Path, model: str | None, setting, repeat: int) -> list[str]:
    from maskwatch.video import process_video, video_detector

    name, threaded, upscale, detect_size, every = setting
    # One thread per network: every stage's CPU time is then measured in its own thread, and
    # the threaded pipeline supplies the parallelism.
    detector = video_detector(classifier=model, upscale=upscale, threads=1, quiet=True)
    best = None
    for _ in range(repeat):
        cpu0 = time.process_time()
        report = process_video(
            clip_path,
            detector,
            save=out / "annotated.mp4",
            save_json=out / "faces.jsonl",
            threaded=threaded,
            detect_size=detect_size,
            classify_every=every,
            opencv_threads=1,
        )
        cpu = (time.process_time() - cpu0) / report["frames"] * 1000
        if best is None or report["processing_fps"] > best[0]["processing_fps"]:
            best = (report, cpu)
    report, cpu = best
    ms = report["timings_cpu_ms"]
    stage = {
        "decode": ms["decode"],
        "detect": ms["detect"],
        "classify": ms["classify"],
        "track": ms["track"] + ms["smooth"],
        "annotate": ms["annotate"],
        "encode": ms["encode"] + ms["json"],
    }
    if threaded:
        # Threads: decode | detect | classify + track | annotate + encode. Two idle cores run at
        # most 2000 CPU-ms per second, and no faster than the busiest thread.
        busiest = max(
            stage["decode"], stage["detect"], stage["classify"] + stage["track"], stage["annotate"] + stage["encode"]
        )
        bound = min(2000.0 / cpu, 1000.0 / busiest)
    else:
        bound = 1000.0 / cpu
    people = report["summary"]["people"]
    return [
        name,
        f"{report['processing_fps']:.1f}",
        f"{bound:.0f}",
        f"{cpu:.1f}",
        *(f"{stage[s]:.2f}" for s in STAGES),
        str(people),
    ]


def bench_encoder(clip_path: Path, out: Path) -> list[list[str]]:
    import av
    import cv2

    from maskwatch.video import VideoFileSource
    from maskwatch.video.writer import VideoWriter

    frames = [f.image for f in VideoFileSource(clip_path)]
    rows = []
    t0 = time.perf_counter()
    for rgb in frames:
        av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(format="yuv420p")
    swscale = (time.perf_counter() - t0) / len(frames) * 1000
    t0 = time.perf_counter()
    for rgb in frames:
        cv2.cvtColor(rgb, cv2.COLOR_RGB2YUV_I420)
    opencv = (time.perf_counter() - t0) / len(frames) * 1000
    rows.append(["rgb -> yuv420p, PyAV/swscale", f"{swscale:.2f}", ""])
    rows.append(["rgb -> yuv420p, OpenCV (used)", f"{opencv:.2f}", ""])
    for preset in ("ultrafast", "superfast", "veryfast", "medium"):
        target = out / f"{preset}.mp4"
        t0 = time.perf_counter()
        with VideoWriter(target, fps=30, preset=preset) as writer:
            for rgb in frames:
                writer.write(rgb)
        ms = (time.perf_counter() - t0) / len(frames) * 1000
        rows.append(
            [
                f"libx264 {preset}" + (" (default)" if preset == "veryfast" else ""),
                f"{ms:.2f}",
                f"{target.stat().st_size // 1024}",
            ]
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--scene", default="maksssksksss389")
    parser.add_argument("--frames", type=int, default=150)
    parser.add_argument("--model", default=None, help="classifier file (default: the shipped model)")
    parser.add_argument("--repeat", type=int, default=1, help="runs per setting; the fastest is shown")
    parser.add_argument("--only", type=int, nargs="*", help="run only these setting numbers (1-based)")
    args = parser.parse_args()

    from maskwatch.classifier import Classifier

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        clip = make_clip(args.data, args.scene, args.frames, out / "clip.mp4")
        classifier = Classifier.load(args.model)
        print(
            f"clip: {clip.frames} frames {clip.size[0]}x{clip.size[1]} from {args.scene} "
            f"({len(clip.labels)} annotated faces); classifier {classifier.path.name} "
            f"({classifier.info.backbone}, {classifier.input_size[0]} px); {os.cpu_count()} CPU(s); "
            f"load avg {os.getloadavg()[0]:.1f}",
            file=sys.stderr,
        )
        rows = []
        for number, setting in enumerate(SETTINGS, start=1):
            if args.only and number not in args.only:
                continue
            rows.append(
                [f"{number}. " + setting[0], *run_setting(clip.path, out, args.model, setting, args.repeat)[1:]]
            )
        print_table(
            "Video pipeline: measured fps, fps bound on 2 idle cores, CPU ms per frame (total and per stage)",
            ["setting", "fps", "fps 2 idle cores", "cpu ms/f", *STAGES, "people"],
            rows,
        )
        print_table("Encoder, 640x480 frames", ["step", "ms/frame", "KB"], bench_encoder(clip.path, out))


if __name__ == "__main__":
    main()
