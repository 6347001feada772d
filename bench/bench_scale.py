"""Benchmark scaling out: the local engine vs the Ray engine on the same dev scenes, and `watch`.

    python bench/bench_scale.py [--images 300] [--frames 100] [--streams 1,2,4] [--watch-engine local]

Table 1 (bulk detection, images): images/s of `maskwatch.detect(folder)` (one process) and of
`maskwatch.detect(folder, engine="ray")` on a local Ray instance with one detection actor per
core: cold (the run starts Ray and its actors, as `maskwatch detect --engine ray` does) and warm
(Ray already up, a second run into a fresh output: the actors still start per run). The ratio
local / Ray is the Ray overhead on this machine (on 2 cores both engines use both cores: the
local engine through its multi-threaded detector and classifier, Ray through two actors). The
local engine's CPU seconds per image give the per-core rate that the README's sizing uses.

Table 2 (watch): N file streams at once (pans over different voc3 crowd photos, 640x480), the
frames/s of each stream and of all together, and (local engine) the CPU ms per frame of the
whole process, which sizes a deployment. Compare ratios within one run: the machine is shared.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from tables import print_table  # bench/tables.py (the script's folder is on sys.path)

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = ROOT.parent / "shared" / "data"
os.environ.setdefault("MASKWATCH_HOME", str(ROOT.parent / "shared" / "weights"))

SCENES = ("maksssksksss389", "maksssksksss104", "maksssksksss110", "maksssksksss105")


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def bench_images(images: list[Path], work: Path) -> list[list]:
    import ray

    import maskwatch

    folder = work / "scenes"
    folder.mkdir()
    for image in images:
        shutil.copy(image, folder / image.name)
    n = len(images)
    maskwatch.detect(str(images[0]), verbose=False)  # models loaded and warm, as in a long run
    started, cpu = time.perf_counter(), cpu_seconds()
    local = maskwatch.detect(str(folder), verbose=False)
    local_s, local_cpu = time.perf_counter() - started, cpu_seconds() - cpu
    faces = sum(len(r["detections"]) for r in local)

    started = time.perf_counter()
    cold = maskwatch.detect(str(folder), engine="ray", save_parquet=work / "cold", verbose=False)
    cold_s = time.perf_counter() - started
    ray.init(
        address="local",
        num_cpus=os.cpu_count(),
        include_dashboard=False,
        object_store_memory=256 * 1024**2,
        log_to_driver=False,
        logging_level="ERROR",
    )
    try:
        started = time.perf_counter()
        warm = maskwatch.detect(str(folder), engine="ray", save_parquet=work / "warm", verbose=False)
        warm_s = time.perf_counter() - started
    finally:
        ray.shutdown()
    assert cold == local and warm == local, "the Ray engine must give the local engine's records"
    rows = [
        ["local engine", n, faces, f"{n / local_s:.2f}", "1.00", f"{local_cpu / n * 1000:.0f}"],
        ["ray, cold (starts Ray)", n, faces, f"{n / cold_s:.2f}", f"{cold_s / local_s:.2f}", "-"],
        ["ray, warm (Ray running)", n, faces, f"{n / warm_s:.2f}", f"{warm_s / local_s:.2f}", "-"],
    ]
    return rows


def make_clips(data: Path, frames: int, work: Path) -> list[Path]:
    from maskwatch.data.voc import parse_voc_xml
    from maskwatch.images import load_image
    from maskwatch.video.demo import make_pan_clip

    clips = []
    for scene in SCENES:
        ann = parse_voc_xml(data / "voc3" / "annotations" / f"{scene}.xml")
        image = load_image(data / "voc3" / "images" / f"{scene}.jpg")
        boxes = np.array([o.box for o in ann.objects], dtype=np.float32)
        path = work / f"{scene}.mp4"
        clips.append(make_pan_clip(image, boxes, [o.name for o in ann.objects], path, frames=frames, noise=2.0).path)
    return clips


def bench_watch(clips: list[Path], counts: list[int], engine: str, work: Path) -> list[list]:
    from maskwatch.watch import WatchConfig, watch

    rows = []
    for count in counts:
        cameras = [{"name": f"cam{i}", "source": str(clips[i % len(clips)])} for i in range(count)]
        config = WatchConfig.model_validate({"cameras": cameras, "sink": {"jsonl": str(work / f"events{count}")}})
        started, cpu = time.perf_counter(), cpu_seconds()
        report = watch(config, engine=engine, verbose=False)
        seconds, cpu = time.perf_counter() - started, cpu_seconds() - cpu
        frames = [c["frames"] for c in report["cameras"].values()]
        errors = [c["error"] for c in report["cameras"].values() if c["error"]]
        if errors:
            raise SystemExit(f"watch failed: {errors}")
        per_stream = [c["fps"] for c in report["cameras"].values()]
        rows.append(
            [
                f"{engine}, {count} stream(s)",
                count,
                sum(frames),
                f"{np.mean(per_stream):.1f}",
                f"{sum(frames) / seconds:.1f}",
                f"{cpu / sum(frames) * 1000:.0f}" if engine == "local" else "-",
                report["sink"]["events"],
            ]
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--images", type=int, default=300, help="dev scenes (voc3/images) for table 1")
    parser.add_argument("--frames", type=int, default=100, help="frames per stream for table 2")
    parser.add_argument("--streams", default="1,2,4")
    parser.add_argument("--watch-engine", choices=("local", "ray", "both"), default="local")
    parser.add_argument("--skip-images", action="store_true")
    args = parser.parse_args()
    images = sorted((args.data / "voc3" / "images").glob("*.jpg"))[: args.images]
    if len(images) < args.images:
        sys.exit(f"{args.data}/voc3/images has {len(images)} images, {args.images} asked for")
    with tempfile.TemporaryDirectory(prefix="bench_scale_") as tmp:
        work = Path(tmp)
        if not args.skip_images:
            rows = bench_images(images, work)
            print_table(
                f"Bulk detection, {args.images} voc3 scenes, {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}",
                ["engine", "images", "faces", "images/s", "time vs local", "CPU ms/image"],
                rows,
            )
        clips = make_clips(args.data, args.frames, work)
        counts = [int(c) for c in args.streams.split(",")]
        engines = ("local", "ray") if args.watch_engine == "both" else (args.watch_engine,)
        rows = [row for engine in engines for row in bench_watch(clips, counts, engine, work)]
        print_table(
            f"watch: N file streams at once, {args.frames} frames each, 640x480, load {os.getloadavg()[0]:.1f}",
            ["run", "streams", "frames", "fps per stream", "fps all streams", "CPU ms/frame", "events"],
            rows,
        )


if __name__ == "__main__":
    main()
