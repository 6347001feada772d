"""Classifier latency per runtime: Keras, LiteRT float32 / float16 / int8, ONNX Runtime.

Run:
    python bench/bench_classifier.py                       # efficientnet_lite0 (ImageNet weights), 224 px
    python bench/bench_classifier.py --backbone mobilenet_v2 --input-size 128
    python bench/bench_classifier.py --model runs/exp/checkpoints/best.keras
    python bench/bench_classifier.py --compare accurate fast runs/exp/export/exp_float16.tflite

Exports the model once to every format (into a temporary folder; the export time is printed),
then times `maskwatch.Classifier.predict_batch` on real mask2 face crops at batch 1 and batch 8
and prints ms per face (median over repeated calls, each cell bounded by --seconds). The last
column is the largest probability difference to the Keras model on the same 8 faces.
`--compare` times ready model files instead (shipped names or paths), in interleaved rounds so
that the machine's load falls on all of them alike; the ratio to the first file is what to read.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("MASKWATCH_SHARED", ROOT.parent / "shared")) / "data" / "mask2"
FORMATS = ("keras", "tflite_float32", "tflite_float16", "tflite_int8", "onnx")


def face_crops(size: tuple[int, int], n: int):
    """n real face crops (both classes) at the model input size; random pixels if the data is absent."""
    import numpy as np

    from maskwatch.images import iter_image_files, load_image, resize_face

    files = []
    for label in ("with_mask", "without_mask"):
        files += list(iter_image_files(DATA / label))[: n // 2] if (DATA / label).is_dir() else []
    if not files:
        print(f"note: {DATA} not found, using random pixels", file=sys.stderr)
        return np.random.default_rng(0).integers(0, 256, (n, *size, 3), dtype=np.uint8)
    return np.stack([resize_face(load_image(f), size) for f in files])


def time_cell(classifier, batch, seconds: float, max_calls: int = 200) -> float:
    """Median ms per face of predict_batch on `batch`, calls repeated for about `seconds`."""
    for _ in range(2):  # warm-up: tensor allocation, XNNPACK / ORT graph setup
        classifier.predict_batch(batch)
    times = []
    deadline = time.perf_counter() + seconds
    while len(times) < 3 or (time.perf_counter() < deadline and len(times) < max_calls):
        start = time.perf_counter()
        classifier.predict_batch(batch)
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000 / len(batch)


def compare(models: list[str], threads: int, seconds: float, rounds: int) -> None:
    """ms per face of ready model files, interleaved over `rounds`; median per file and ratio to the first."""
    import numpy as np

    from maskwatch.classifier import Classifier, model_path

    loaded = [Classifier.load(m, threads=threads) for m in models]
    faces = face_crops(loaded[0].input_size, 8).astype(np.float32)
    cells: dict[tuple[int, int], list[float]] = {}
    for _ in range(rounds):
        for i, clf in enumerate(loaded):
            for batch in (1, 8):
                cells.setdefault((i, batch), []).append(time_cell(clf, faces[:batch], seconds / rounds))
    print(f"threads {threads}, {rounds} interleaved rounds; ms per face = median call time / batch size\n")
    header = f"{'model':<44}{'MB':>7}{'members':>9}{'batch 1':>10}{'batch 8':>10}{'x first (b8)':>14}"
    print(header)
    print("-" * len(header))
    first = statistics.median(cells[(0, 8)])
    for i, (name, clf) in enumerate(zip(models, loaded, strict=True)):
        path = model_path(name)
        one, eight = statistics.median(cells[(i, 1)]), statistics.median(cells[(i, 8)])
        members = clf.info.extra.get("members", 1)
        size_mb = path.stat().st_size / 1e6
        print(f"{name[-44:]:<44}{size_mb:>7.1f}{members:>9}{one:>10.2f}{eight:>10.2f}{eight / first:>14.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--compare", nargs="+", metavar="MODEL", help="time ready model files (or accurate / fast)")
    parser.add_argument("--rounds", type=int, default=3, help="--compare: interleaved rounds")
    parser.add_argument("--model", type=Path, help=".keras checkpoint (with its .keras.json) instead of a backbone")
    parser.add_argument("--backbone", default="efficientnet_lite0", help="registry model built when --model is absent")
    parser.add_argument("--input-size", type=int, default=None, help="input size of the built backbone")
    parser.add_argument("--threads", type=int, default=2, help="threads per runtime (the machine has 2 cores)")
    parser.add_argument("--seconds", type=float, default=2.0, help="time budget per table cell")
    parser.add_argument("--formats", default=",".join(FORMATS), help="comma list of formats to time")
    args = parser.parse_args()
    if args.compare:
        compare(args.compare, args.threads, args.seconds * 3, args.rounds)
        return

    import numpy as np
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(args.threads)
    tf.config.threading.set_inter_op_parallelism_threads(1)

    from maskwatch.classifier import Classifier
    from maskwatch.export import export_model, parse_formats
    from maskwatch.models.loading import load_keras_model

    formats = parse_formats(args.formats)
    if args.model is not None:
        model, name, labels = load_keras_model(args.model), args.model.name, None
    else:
        from maskwatch.models import build_classifier

        labels = ["with_mask", "without_mask", "mask_weared_incorrect"]
        try:
            cm = build_classifier(args.backbone, len(labels), input_size=args.input_size, weights="imagenet")
            weights = "ImageNet"
        except Exception as exc:  # no offline ImageNet file for this backbone: latency is the same
            print(f"note: {args.backbone} without ImageNet weights ({exc})", file=sys.stderr)
            cm = build_classifier(args.backbone, len(labels), input_size=args.input_size, weights=None)
            weights = "random"
        model, name = cm.model, f"{args.backbone} ({weights} weights)"
    shape = model.input_shape
    size = (int(shape[1]), int(shape[2]))
    calibration = face_crops(size, 64)
    faces8 = calibration[:: len(calibration) // 8][:8].astype(np.float32)

    with tempfile.TemporaryDirectory(prefix="bench-classifier-") as tmp:
        start = time.perf_counter()
        written = export_model(
            model if args.model is None else args.model,
            tmp,
            formats,
            labels=labels,
            backbone=name,
            representative=calibration,
            verify=False,
        )
        export_s = time.perf_counter() - start
        print(f"model: {name}, input {size[0]}x{size[1]}, {model.count_params():,} parameters")
        print(f"exported {len(written)} formats in {export_s:.1f} s (int8 calibrated on {len(calibration)} crops)")
        print(f"threads per runtime: {args.threads}; ms per face = median call time / batch size\n")
        reference = np.asarray(model(faces8, training=False))
        header = f"{'runtime':<24}{'file MB':>9}{'batch 1 ms/face':>17}{'batch 8 ms/face':>17}{'max|dp| vs keras':>18}"
        print(header)
        print("-" * len(header))
        runtime_names = {
            "keras": "Keras (TF)",
            "tflite_float32": "LiteRT float32",
            "tflite_float16": "LiteRT float16",
            "tflite_int8": "LiteRT int8",
            "onnx": "ONNX Runtime",
        }
        for fmt, path in written.items():
            classifier = Classifier.load(path, threads=args.threads)
            one = time_cell(classifier, faces8[:1], args.seconds)
            eight = time_cell(classifier, faces8, args.seconds)
            diff = float(np.abs(classifier.predict_batch(faces8) - reference).max())
            size_mb = path.stat().st_size / 1e6
            print(f"{runtime_names[fmt]:<24}{size_mb:>9.2f}{one:>17.2f}{eight:>17.2f}{diff:>18.2g}")


if __name__ == "__main__":
    main()
