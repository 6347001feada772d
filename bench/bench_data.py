"""Time the data stage on the shared data: build datasets, split, load 5,000 faces.

Run: python bench/bench_data.py [--data ../shared/data] [--size 224] [--workers 2]
Prints one table row per stage (seconds and items per second).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from maskwatch import data


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data")
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--faces", type=int, default=5000)
    args = parser.parse_args()

    rows: list[tuple[str, int, float]] = []

    def timed(name: str, n_of, fn):
        start = time.perf_counter()
        result = fn()
        rows.append((name, n_of(result), time.perf_counter() - start))
        return result

    mask2 = timed(
        "folder dataset + MANIFEST groups",
        len,
        lambda: data.load_folder_dataset(args.data / "mask2", manifest=args.data / "MANIFEST.csv"),
    )
    timed(
        "folder dataset + pHash groups",
        len,
        lambda: data.load_folder_dataset(args.data / "mask2", workers=args.workers),
    )
    voc3 = timed("VOC dataset (300 XML)", len, lambda: data.load_voc_dataset(args.data / "voc3"))
    both = data.combine(mask2, voc3)
    timed("group_split", lambda s: sum(len(d) for d in s.values()), lambda: data.group_split(both, seed=0))
    subset = both.subset(range(min(args.faces, len(both))))
    timed(
        f"load_faces {args.size}x{args.size}, {args.workers} workers",
        lambda r: len(r[1]),
        lambda: data.load_faces(subset, args.size, workers=args.workers, progress=False),
    )

    print(f"{'stage':<44} {'items':>7} {'seconds':>8} {'items/s':>9}")
    for name, n, seconds in rows:
        print(f"{name:<44} {n:>7,} {seconds:>8.2f} {n / seconds:>9,.0f}")


if __name__ == "__main__":
    main()
