"""Write tests/data/default_test_faces.json: the real held-out faces the shipped-model test checks.

    python bench/write_test_list.py runs/default --model src/maskwatch/assets/maskwatch_default.tflite

Every REAL face (sources not marked `real: false`) of the run's TEST split, with its face width
in the source image; the figures the model measures on them are written into the file and the
test thresholds are set a few points below, so the test fails when a new model is clearly worse
on real faces, small ones included, but not on the noise of one face. Paths are relative to
shared/data, so CI finds them beside the clone.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

SLACK = 0.03  # thresholds sit this far below the measured figure


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path)
    parser.add_argument("--model", type=Path, required=True)
    parser.add_argument("--data-root", type=Path, default=Path("../shared/data"))
    parser.add_argument("--out", type=Path, default=Path("tests/data/default_test_faces.json"))
    args = parser.parse_args(argv)

    from maskwatch.classifier import Classifier
    from maskwatch.data import FaceDataset
    from maskwatch.errors import MaskwatchError
    from maskwatch.evaluate.breakdown import breakdown, face_widths
    from maskwatch.evaluate.runs import run_split
    from maskwatch.images import crop_box, load_image

    clf = Classifier.load(args.model, threads=2)
    test = run_split(args.run, "test", labels=clf.labels)
    real = FaceDataset([s for s in test.samples if s.real], test.labels)
    # the crops as tests/test_default_model.py cuts them, through Classifier.predict (small-face rule included)
    crops = []
    for s in real.samples:
        try:
            image = load_image(s.path)
        except MaskwatchError as exc:
            sys.exit(f"a test face could not be read: {exc}")
        crops.append(image if s.box is None else crop_box(image, np.array(s.box), s.margin))
    probs = clf.predict(crops)
    y = np.array([real.labels.index(s.label) for s in real.samples])
    b = breakdown(y, probs, real.samples, clf.labels)
    root = args.data_root.resolve()
    widths = face_widths(real.samples)
    faces = [
        {
            "file": Path(s.path).resolve().relative_to(root).as_posix(),
            "label": s.label,
            "box": None if s.box is None else [round(v, 1) for v in s.box],
            "width": round(float(w), 1),
            "source": s.source,
        }
        for s, w in zip(real.samples, widths, strict=True)
    ]

    def below(value: float) -> float:
        return round(max(0.0, value - SLACK), 2)

    r = b["real"]
    small = b["real_by_width"]["<24"]
    inc = r["per_class"]["mask_weared_incorrect"]
    spec = {
        "about": (
            f"every real face of the test split of {args.run.name} (python bench/write_test_list.py); measured with "
            f"{args.model.name}: accuracy {r['accuracy']:.3f}, macro-F1 {r['macro_f1']:.3f}, "
            f"faces < 24 px accuracy {small['accuracy']:.3f}, incorrect recall {inc['recall']:.3f} precision "
            f"{inc['precision']:.3f}; thresholds {SLACK} below"
        ),
        "margin": real.samples[0].margin,
        "min_accuracy": below(r["accuracy"]),
        "min_macro_f1": below(r["macro_f1"]),
        "min_recall": {label: below(r["per_class"][label]["recall"]) for label in clf.labels},
        "min_small_accuracy": below(small["accuracy"]),
        "min_incorrect_precision": below(inc["precision"]),
        "reference_run": args.run.name,
        "faces": faces,
    }
    args.out.write_text(json.dumps(spec, indent=1) + "\n", encoding="utf-8")
    print(spec["about"])
    print(f"{len(faces)} faces -> {args.out}")


if __name__ == "__main__":
    main()
