"""maskwatch against the fastest peer (AIZOO SSD-260) on the same frames, with the accuracy beside the speed.

    python bench/bench_speed.py [--frames 300] [--rounds 3] [--only aizoo,fast] [--skip-accuracy] [--skip-folder]

Video (tables 1-3): three 640x480 clips made by panning over dev scenes with 1, 5 and 15 faces
(maskwatch.video.demo, sensor noise as in bench_video.py), decoded once into memory so every
system gets the very same RGB frames. Every system processes every clip as a new stream (its
tracker starts empty) in each round; rounds interleave the systems (the order rotates), so a
load spike on this shared machine hits all of them. Per frame: the time from RGB frame in to
labelled faces out, without decoding, drawing or encoding (the peer does none of those either),
every network with 2 threads. The first `--warmup` frames of a run are not counted. Ratio = peer
ms / system ms per frame, i.e. how many times the peer's frames/s. "face recall" is per frame on
the clip's ground truth (annotated boxes fully inside the frame, IoU >= 0.5, any label).
Marginal cost per face = (median ms on the 15-face clip - on the 1-face clip) / (faces found per
frame on the 15-face clip - on the 1-face clip).

Accuracy (table 4): the dev held-out real scenes, i.e. the voc3 scenes in the validation split of
`--config` (the training config's group split: never trained on), scored with maskwatch's
evaluate_detection (face recall at IoU 0.5, mAP@0.5 over the three classes: the peer has no
`mask_weared_incorrect` class, so its AP there is 0).

Folder (table 5): `maskwatch.detect(FOLDER, save_dir, save_json)` on the 300 voc3 dev scenes,
wall clock (images/s), and the same images with every stage timed on its own: decode, detect,
classify, write (draw + JPEG + JSON).

The peer is a Caffe model and runs in a worker process on OpenCV 4 (see bench/aizoo_peer.py;
`python bench/aizoo_peer.py --setup` makes its interpreter once).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from tables import print_table  # bench/tables.py (the script's folder is on sys.path)

from maskwatch.video.frames import FrameSource

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
os.environ.setdefault("MASKWATCH_HOME", str(ROOT.parent / "shared" / "weights"))
THREADS = 2

#: (name, voc3 scene, pan in px (x, y)): scenes of the training split (not held out), chosen for
#: their face count; the 15-face clip pans little so that its faces stay in the frame.
CLIPS = (
    ("1 face", "maksssksksss739", (64, 24)),
    ("5 faces", "maksssksksss311", (64, 24)),
    ("15 faces", "maksssksksss331", (32, 16)),
)


# ------------------------------------------------------------------------------------------ clips


@dataclass
class Clip:
    name: str
    scene: str
    frames: list  # maskwatch.video.Frame, decoded from the written MP4
    boxes: list[np.ndarray]  # ground truth per frame (visible boxes only)
    fps: float


def make_clips(frames: int, folder: Path, held_out: set[str]) -> list[Clip]:
    from maskwatch.data.voc import parse_voc_xml
    from maskwatch.images import load_image
    from maskwatch.video import VideoFileSource
    from maskwatch.video.demo import make_pan_clip

    clips = []
    for name, scene, pan in CLIPS:
        if scene in held_out:
            print(f"warning: clip scene {scene} is in the held-out split of the config", file=sys.stderr)
        ann = parse_voc_xml(DATA / "voc3" / "annotations" / f"{scene}.xml")
        image = load_image(DATA / "voc3" / "images" / f"{scene}.jpg")
        boxes = np.array([o.box for o in ann.objects], dtype=np.float32)
        pan_clip = make_pan_clip(
            image,
            boxes,
            [o.name for o in ann.objects],
            folder / f"{scene}.mp4",
            frames=frames,
            pan=pan,
            noise=2.0,
            fps=30,
        )
        decoded = list(VideoFileSource(pan_clip.path))
        truth = [b[v] for b, v in zip(pan_clip.boxes, pan_clip.visible, strict=True)]
        clips.append(Clip(name, scene, decoded, truth, pan_clip.fps))
    return clips


class MemorySource(FrameSource):
    """Frames already in memory, as a maskwatch FrameSource (so the pipeline times no decoding)."""

    size = (640, 480)

    def __init__(self, clip: Clip) -> None:
        self.clip = clip
        self.name = f"{clip.name} ({clip.scene})"
        self.fps = clip.fps
        self.frame_count = len(clip.frames)

    def __iter__(self) -> Iterator:
        return iter(self.clip.frames)


# ---------------------------------------------------------------------------------------- systems


@dataclass
class Run:
    """Per-frame ms and detections of one system on one clip in one round."""

    ms: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)  # CPU ms of the frame, all threads of the process
    faces: list[int] = field(default_factory=list)
    found: int = 0
    truth: int = 0


def _score(run: Run, clip: Clip, index: int, xyxy: np.ndarray) -> None:
    from maskwatch.detect.evaluation import match_faces

    truth = clip.boxes[index]
    run.faces.append(len(xyxy))
    run.truth += len(truth)
    run.found += len(match_faces(xyxy, np.ones(len(xyxy)), truth))


def run_peer(peer) -> Callable[[Clip, int], Run]:
    def run(clip: Clip, warmup: int) -> Run:
        out = Run()
        for i, frame in enumerate(clip.frames):
            det = peer.process(frame.image)
            if i >= warmup:
                out.ms.append(peer.last_ms)
                out.cpu.append(peer.last_cpu_ms)
                _score(out, clip, i, det.xyxy)
        return out

    return run


def run_process(detector) -> Callable[[Clip, int], Run]:
    """MaskDetector.process on every frame: every face detected and classified, no tracking."""

    def run(clip: Clip, warmup: int) -> Run:
        out = Run()
        for i, frame in enumerate(clip.frames):
            started, cpu = time.perf_counter(), time.process_time()
            det = detector.process(frame.image)
            ms, cpu = (time.perf_counter() - started) * 1000, (time.process_time() - cpu) * 1000
            if i >= warmup:
                out.ms.append(ms)
                out.cpu.append(cpu)
                _score(out, clip, i, det.xyxy)
        return out

    return run


def run_pipeline(make_pipeline: Callable) -> Callable[[Clip, int], Run]:
    """A VideoPipeline (sequential, no outputs) over the in-memory frames: a new stream per run."""

    def run(clip: Clip, warmup: int) -> Run:
        out = Run()
        pipeline = make_pipeline()
        results = pipeline.run(MemorySource(clip))
        i = 0
        try:
            while True:
                started, cpu = time.perf_counter(), time.process_time()
                result = next(results, None)
                ms, cpu = (time.perf_counter() - started) * 1000, (time.process_time() - cpu) * 1000
                if result is None:
                    break
                if i >= warmup:
                    out.ms.append(ms)
                    out.cpu.append(cpu)
                    _score(out, clip, i, result.detections.xyxy)
                i += 1
        finally:
            results.close()
        return out

    return run


def build_systems(only: set[str] | None) -> tuple[dict[str, Callable], dict[str, object], list]:
    """name -> run function; name -> object evaluate_detection can score; things to close."""
    from maskwatch.detect.pipeline import MaskDetector
    from maskwatch.video import video_detector
    from maskwatch.video.pipeline import VideoPipeline

    runs: dict[str, Callable] = {}
    scorers: dict[str, object] = {}
    closers: list = []

    def wanted(name: str) -> bool:
        return only is None or name in only

    if wanted("aizoo"):
        from aizoo_peer import AizooPeer

        peer = AizooPeer(threads=THREADS)
        closers.append(peer)
        runs["aizoo"] = run_peer(peer)
        scorers["aizoo"] = peer
    if wanted("process"):
        detector = video_detector(threads=THREADS, quiet=True)
        runs["process"] = run_process(detector)
    if wanted("video-before"):
        # The video defaults before the fast path: every tracked face every 3rd frame, full-size detection.
        detector = video_detector(threads=THREADS, quiet=True)
        runs["video-before"] = run_pipeline(
            lambda: VideoPipeline(detector, threaded=False, classify_every=3, min_confidence=0.0, adaptive=False)
        )
        scorers["video-before"] = detector
    if wanted("schedule"):
        detector = video_detector(threads=THREADS, quiet=True)
        runs["schedule"] = run_pipeline(lambda: VideoPipeline(detector, threaded=False, adaptive=False))
    if wanted("schedule+scale"):
        detector = video_detector(threads=THREADS, quiet=True)
        runs["schedule+scale"] = run_pipeline(lambda: VideoPipeline(detector, threaded=False, coast=False))
    if wanted("+coast"):
        detector = video_detector(threads=THREADS, quiet=True)
        runs["+coast"] = run_pipeline(lambda: VideoPipeline(detector, threaded=False))
        scorers["+coast (steady)"] = StillStream(detector)
    if wanted("fast"):
        from maskwatch.errors import ModelFileError

        try:
            fast = video_detector(classifier=FAST_MODEL or "fast", threads=THREADS, quiet=True)
        except ModelFileError as exc:
            print(f"no fast rows: {exc}", file=sys.stderr)
        else:
            runs["fast"] = run_pipeline(lambda: VideoPipeline(fast, threaded=False))
            scorers["fast (steady)"] = StillStream(fast)
            scorers["fast (first frame)"] = StillStream(fast, frames=1)
    if wanted("image-default"):
        scorers["image-default"] = MaskDetector(threads=THREADS, quiet=True)
    return runs, scorers, closers


DESCRIPTIONS = {
    "aizoo": "AIZOO SSD-260, OpenCV 4 DNN (peer)",
    "process": "maskwatch MaskDetector.process, every face classified (accurate model, no upscale)",
    "video-before": "maskwatch video, settings before the fast path: classify every 3rd frame, full-size detection",
    "schedule": "+ classification schedule (new / unsure / disagreeing / every 10th frame), accurate model",
    "schedule+scale": "+ detector resolution per stream (detect_scale.py), accurate model",
    "+coast": "+ steady scenes detected every fourth frame, tracks coasted between (coasting.py), accurate model",
    "fast": "maskwatch video fast path: schedule + per-stream resolution + the fast model",
    "image-default": "maskwatch image default (upscale 2x, accurate model)",
    "+coast (steady)": "accuracy: +coast as a video sees a steady scene (4th frame of a still stream)",
    "fast (steady)": "accuracy: fast path on the 4th frame of a still stream (shrunk view, coasting, schedule)",
    "fast (first frame)": "accuracy: fast path on a stream's first frame (full-size probe, every face new)",
}
#: Set by --fast-model: another file to run as the fast model (default: the shipped "fast").
FAST_MODEL: str | None = None


class StillStream:
    """A held-out still scene scored the way the video fast path sees a steady scene.

    The scene is fed as a short stream of `frames` identical frames and the last frame's faces are
    scored: by then the per-stream detector resolution and the classification schedule are in
    their steady state (the first frame alone would be a full-size probe with every face new).
    """

    def __init__(self, detector, frames: int = 4, **pipeline_options) -> None:
        self.detector = detector
        self.frames = frames
        self.options = pipeline_options
        self.labels = detector.labels
        self.classifier = detector.classifier
        self.face_detector = detector.face_detector

    def __repr__(self) -> str:
        return f"StillStream({self.detector!r}, frames={self.frames})"

    def process(self, rgb: np.ndarray):
        from maskwatch.video.frames import Frame
        from maskwatch.video.pipeline import VideoPipeline

        class _Still(FrameSource):
            name, fps, size = "still", 30.0, (rgb.shape[1], rgb.shape[0])

            def __iter__(inner):
                return (Frame(i, i / 30.0, rgb) for i in range(self.frames))

        results = list(VideoPipeline(self.detector, threaded=False, **self.options).run(_Still()))
        return results[-1].detections


# ------------------------------------------------------------------------------------------ video


def bench_video(clips: list[Clip], runs: dict[str, Callable], rounds: int, warmup: int) -> dict:
    """Tables 1-3; returns {(clip, system): mean ms} for the verdict."""
    names = list(runs)
    results: dict[tuple[str, str], list[Run]] = {(c.name, n): [] for c in clips for n in names}
    for name in names:  # warm-up: first calls allocate, load kernels, fill caches
        runs[name](clips[0], len(clips[0].frames) - 10)
    per_round_rows = []
    for r in range(rounds):
        order = names[r % len(names) :] + names[: r % len(names)]
        for clip in clips:
            for name in order:
                results[(clip.name, name)].append(runs[name](clip, warmup))
            peer = results.get((clip.name, "aizoo"))
            for name in names:
                run = results[(clip.name, name)][r]
                mean = float(np.mean(run.ms))
                ratio = float(np.mean(peer[r].ms)) / mean if peer else float("nan")
                per_round_rows.append(
                    [
                        f"{r + 1}",
                        clip.name,
                        name,
                        f"{np.median(run.ms):.2f}",
                        f"{np.percentile(run.ms, 90):.2f}",
                        f"{mean:.2f}",
                        f"{ratio:.2f}",
                    ]
                )
        print(f"round {r + 1}/{rounds} done, load avg {os.getloadavg()[0]:.1f}", file=sys.stderr)
    print_table(
        "Table 1. Per round: ms per frame (median, p90, mean); x peer = peer mean ms / system mean ms "
        "(= x the peer's frames/s)",
        ["round", "clip", "system", "median", "p90", "mean", "x peer"],
        per_round_rows,
    )
    rows = []
    means: dict[tuple[str, str], float] = {}
    cpus: dict[tuple[str, str], float] = {}
    faces: dict[tuple[str, str], float] = {}
    for clip in clips:
        peer = results.get((clip.name, "aizoo"))
        for name in names:
            all_runs = results[(clip.name, name)]
            ms = np.concatenate([run.ms for run in all_runs])
            means[(clip.name, name)] = mean = float(np.mean(ms))
            faces[(clip.name, name)] = float(np.mean(np.concatenate([run.faces for run in all_runs])))
            ratio = float(np.mean(np.concatenate([p.ms for p in peer]))) / mean if peer else float("nan")
            round_ratios = (
                [float(np.mean(p.ms)) / float(np.mean(s.ms)) for p, s in zip(peer, all_runs, strict=True)]
                if peer
                else []
            )
            found = sum(run.found for run in all_runs) / max(1, sum(run.truth for run in all_runs))
            cpu = float(np.mean(np.concatenate([run.cpu for run in all_runs])))
            cpus[(clip.name, name)] = cpu
            cpu_ratio = float(np.mean(np.concatenate([p.cpu for p in peer]))) / cpu if peer else float("nan")
            rows.append(
                [
                    clip.name,
                    name,
                    f"{np.median(ms):.2f}",
                    f"{np.percentile(ms, 90):.2f}",
                    f"{mean:.2f}",
                    f"{1000 / mean:.0f}",
                    f"{ratio:.2f}",
                    " ".join(f"{x:.2f}" for x in round_ratios),
                    f"{cpu:.2f}",
                    f"{cpu_ratio:.2f}",
                    f"{faces[(clip.name, name)]:.1f}",
                    f"{found:.3f}",
                ]
            )
    print_table(
        f"Table 2. All {rounds} rounds: wall ms per frame, frames/s (1000 / mean ms), x the peer's frames/s; "
        "CPU ms per frame (all threads; steadier than wall time on a loaded machine) and its ratio",
        [
            "clip",
            "system",
            "median",
            "p90",
            "mean",
            "fps",
            "x peer",
            "x peer per round",
            "cpu ms",
            "x peer cpu",
            "faces/frame",
            "face recall",
        ],
        rows,
    )
    first, last = clips[0].name, clips[-1].name
    marginal = []
    for name in names:
        extra = faces[(last, name)] - faces[(first, name)]
        cost = (means[(last, name)] - means[(first, name)]) / extra if extra > 0 else float("nan")
        cpu = (cpus[(last, name)] - cpus[(first, name)]) / extra if extra > 0 else float("nan")
        counts = f"{faces[(first, name)]:.1f}", f"{faces[(last, name)]:.1f}"
        marginal.append([name, *counts, f"{cost:.2f}", f"{cpu:.2f}"])
    print_table(
        f"Table 3. Marginal cost per extra face (mean ms per frame, {first} -> {last} clip; the 15-face clip's "
        "faces are also smaller, so this includes a larger detector view)",
        ["system", f"faces/frame {first}", f"faces/frame {last}", "wall ms per extra face", "CPU ms per extra face"],
        marginal,
    )
    return {"means": means, "cpus": cpus, "faces": faces}


# --------------------------------------------------------------------------------------- accuracy


def held_out_scenes(config: Path, split_csvs: list[Path] = ()) -> tuple[set[str], set[str], set[str]]:
    """(voc3 scene stems in the config's val split, in its test split, in its train split).

    Only the validation scenes are scored: speed settings and the fast model are chosen on this
    table, and the test split is for the model's one final report (MODEL_CARD.md).

    `split_csvs`: split.csv files of training runs whose models are compared (a run trained on
    another split): scenes in their train rows are not held out either.
    """
    import csv

    from maskwatch.train.config import load_config

    cwd = os.getcwd()
    os.chdir(ROOT)  # the config's relative paths are from the repository root
    try:
        cfg = load_config(config)
        from maskwatch.data import load_sources, split_dataset
        from maskwatch.train.faces import pipeline_face_finder

        photos = any(src.type == "photos" for src in cfg.data.sources)
        dataset = load_sources(cfg.data, find_faces=pipeline_face_finder() if photos else None)
        splits = split_dataset(dataset, cfg.data)
    finally:
        os.chdir(cwd)
    trained: set[str] = set()
    for path in split_csvs:
        with open(path, newline="", encoding="utf-8") as handle:
            trained |= {Path(r["path"]).stem for r in csv.DictReader(handle) if r.get("split") == "train"}

    def stems(split: str) -> set[str]:
        return {Path(s.path).stem for s in splits[split].samples if Path(s.path).parent.parent.name == "voc3"}

    return stems("val") - trained, stems("test") - trained, stems("train") | trained


def bench_accuracy(scorers: dict[str, object], held_out: set[str], folder: Path) -> None:
    from maskwatch.detect.evaluation import MIN_WIDE, evaluate_detection

    voc = folder / "heldout_voc"
    (voc / "images").mkdir(parents=True)
    (voc / "annotations").mkdir()
    for stem in sorted(held_out):
        (voc / "images" / f"{stem}.jpg").symlink_to(DATA / "voc3" / "images" / f"{stem}.jpg")
        (voc / "annotations" / f"{stem}.xml").symlink_to(DATA / "voc3" / "annotations" / f"{stem}.xml")
    rows = []
    for name, detector in scorers.items():
        report = evaluate_detection(voc, detector=detector, verbose=False)
        rows.append(
            [
                name,
                f"{report['recall']['all']:.3f}",
                f"{report['recall']['min32']:.3f}",
                f"{report['map50']:.3f}",
                f"{report['face_ap50']:.3f}",
                f"{report['label_accuracy_on_matched']:.3f}",
                f"{report['ms_per_image']:.1f}",
            ]
        )
        faces = report["faces"]
    print_table(
        f"Table 4. Dev held-out real scenes: {len(held_out)} voc3 scenes (config val split), {faces} faces",
        ["system", "face recall", f"recall >= {MIN_WIDE} px", "mAP@0.5", "face AP@0.5", "label acc", "ms/img"],
        rows,
    )


# ----------------------------------------------------------------------------------------- folder


def bench_folder(folder: Path, limit: int) -> None:
    import maskwatch
    from maskwatch.annotate import FrameAnnotator
    from maskwatch.detect.outputs import image_result, write_json
    from maskwatch.detect.pipeline import MaskDetector
    from maskwatch.images import load_image, save_image

    images = sorted((DATA / "voc3" / "images").glob("*.jpg"))[:limit]
    src = folder / "scenes"
    src.mkdir()
    for path in images:
        (src / path.name).symlink_to(path)
    from maskwatch.detect import prefetch

    detector = MaskDetector(threads=THREADS, quiet=True)
    rows = []
    depth = prefetch.DEPTH
    walls: dict[int, list[float]] = {0: [], depth: []}
    for r in range(2):  # interleaved: one image at a time (before), decode + detect ahead (after)
        for d in (0, depth) if r % 2 == 0 else (depth, 0):
            prefetch.DEPTH = d
            started = time.perf_counter()
            maskwatch.detect(
                src, detector=detector, save_dir=folder / f"out_{d}", save_json=folder / "a.json", verbose=False
            )
            walls[d].append(time.perf_counter() - started)
    prefetch.DEPTH = depth
    for d, label in ((0, "before: one image at a time"), (depth, f"after: decode + detect {depth} images ahead")):
        wall = float(np.median(walls[d]))
        rows.append(
            [
                f"maskwatch.detect(FOLDER, save_dir, save_json), {label}",
                f"{len(images) / wall:.1f}",
                f"{1000 * wall / len(images):.1f}",
            ]
        )
    # The same work, one stage at a time.
    stages = dict.fromkeys(("decode", "detect", "classify", "write"), 0.0)
    annotator = FrameAnnotator(detector.labels)
    results = []
    (folder / "out_stages").mkdir()
    for path in images:
        t0 = time.perf_counter()
        rgb = load_image(path)
        t1 = time.perf_counter()
        faces = detector.detect_faces(rgb)
        t2 = time.perf_counter()
        labelled = detector.classify(rgb, faces)
        t3 = time.perf_counter()
        results.append(image_result(str(path), rgb, labelled, detector.labels))
        save_image(folder / "out_stages" / path.name, annotator.annotate(rgb, labelled))
        t4 = time.perf_counter()
        for stage, seconds in zip(stages, (t1 - t0, t2 - t1, t3 - t2, t4 - t3), strict=True):
            stages[stage] += seconds
    t0 = time.perf_counter()
    write_json(results, folder / "stages.json")
    stages["write"] += time.perf_counter() - t0
    total = sum(stages.values())
    for stage, seconds in stages.items():
        rows.append([f"  stage: {stage}", "", f"{1000 * seconds / len(images):.1f}"])
    rows.append(
        ["  sum of stages (one image at a time)", f"{len(images) / total:.1f}", f"{1000 * total / len(images):.1f}"]
    )
    print_table(
        f"Table 5. Folder of {len(images)} voc3 dev scenes (image defaults: upscale 2x, accurate model)",
        ["run", "images/s", "ms/img"],
        rows,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--frames", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--warmup", type=int, default=10, help="frames of each run not counted")
    parser.add_argument("--only", default=None, help="comma-separated systems (default: all)")
    parser.add_argument("--config", type=Path, default=ROOT / "configs" / "default.yaml")
    parser.add_argument(
        "--split-csv",
        type=Path,
        action="append",
        default=[],
        help="split.csv of a compared model's training run: its train scenes are not held out (repeatable)",
    )
    parser.add_argument("--folder-images", type=int, default=300)
    parser.add_argument("--fast-model", default=None, help="model file for the fast rows (default: shipped 'fast')")
    parser.add_argument("--skip-video", action="store_true")
    parser.add_argument("--skip-accuracy", action="store_true")
    parser.add_argument("--skip-folder", action="store_true")
    args = parser.parse_args()

    import cv2

    cv2.setNumThreads(THREADS)
    only = set(args.only.split(",")) if args.only else None
    global FAST_MODEL
    FAST_MODEL = args.fast_model
    held_out, test_scenes, _ = held_out_scenes(args.config, args.split_csv)
    runs, scorers, closers = {}, {}, []
    if not (args.skip_video and args.skip_accuracy):
        runs, scorers, closers = build_systems(only)
    print(
        f"{os.cpu_count()} CPUs, load avg {os.getloadavg()[0]:.1f} (shared machine: other jobs run), "
        f"opencv {cv2.__version__}, {THREADS} threads per system",
        file=sys.stderr,
    )
    for name in dict.fromkeys([*runs, *scorers]):
        print(f"  {name}: {DESCRIPTIONS.get(name, name)}")
    try:
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            if not args.skip_video and runs:
                clips = make_clips(args.frames, folder, held_out | test_scenes)
                for clip in clips:
                    print(
                        f"  clip {clip.name}: {clip.scene}, {len(clip.frames)} frames 640x480, "
                        f"{np.mean([len(b) for b in clip.boxes]):.1f} annotated faces per frame in view"
                    )
                bench_video(clips, runs, args.rounds, args.warmup)
                del clips
            if not args.skip_accuracy and scorers:
                bench_accuracy(scorers, held_out, folder)
            if not args.skip_folder:
                bench_folder(folder, args.folder_images)
    finally:
        for closer in closers:
            closer.close()


if __name__ == "__main__":
    main()
