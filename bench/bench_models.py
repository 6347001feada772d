"""Time the model registry: checkpoint conversion, build, parameters and CPU latency per backbone.

Run: python bench/bench_models.py [--batch 8] [--repeats 5]
Prints a table: one row for reading/converting the EfficientNet-Lite0 checkpoint, then one row per
backbone at its default input size (random weights, the cost is the same with ImageNet ones).
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    import numpy as np

    from maskwatch.models import available_models, build_classifier, build_efficientnet_lite0
    from maskwatch.models.efficientnet_lite import CHECKPOINT_SHA256, checkpoint_path
    from maskwatch.models.torch_checkpoint import load_torch_checkpoint

    start = time.perf_counter()
    state = load_torch_checkpoint(checkpoint_path(), expected_sha256=CHECKPOINT_SHA256)
    read_s = time.perf_counter() - start
    start = time.perf_counter()
    build_efficientnet_lite0(224, weights="imagenet", include_top=True)
    convert_s = time.perf_counter() - start
    print(f"Lite0 checkpoint: read {len(state)} tensors {read_s:.2f} s; build + read + convert {convert_s:.2f} s")

    print(f"{'backbone':<20}{'input':>8}{'params':>13}{'build s':>10}{f'ms/batch {args.batch}':>16}")
    for name in available_models():
        start = time.perf_counter()
        cm = build_classifier(name, num_classes=3)
        build_s = time.perf_counter() - start
        h, w = cm.input_size
        x = np.random.default_rng(0).uniform(0, 255, (args.batch, h, w, 3)).astype("float32")
        cm.model(x, training=False)  # warm-up
        start = time.perf_counter()
        for _ in range(args.repeats):
            cm.model(x, training=False)
        ms = (time.perf_counter() - start) / args.repeats * 1000
        print(f"{name:<20}{h:>5}x{w:<3}{cm.model.count_params():>12,}{build_s:>10.2f}{ms:>16.1f}")


if __name__ == "__main__":
    main()
