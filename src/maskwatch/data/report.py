"""A plain-text table of what a training run is about to use, for the trainer to print.

Class imbalance, an empty split or a pile of skipped files explain most surprising results;
printing the counts per split and per class before training makes them visible.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping

from maskwatch.data.samples import FaceDataset, SkippedFile, merge_labels


def describe(
    data: FaceDataset | Mapping[str, FaceDataset],
    skipped: Iterable[SkippedFile] | None = None,
) -> str:
    """Counts per split (rows) and class (columns), groups per split, then skipped files by kind.

    `data` is one dataset or the dict `group_split` returns. Skipped files are those of
    `skipped` if given, else those stored in the dataset(s).
    """
    splits = {"all": data} if isinstance(data, FaceDataset) else dict(data)
    labels = merge_labels([ds.labels for ds in splits.values()])
    header = ["split", *labels, "total", "groups"]
    rows = []
    for name, ds in splits.items():
        counts = ds.counts()
        rows.append([name, *(counts.get(label, 0) for label in labels), len(ds), len(set(ds.groups()))])
    if len(splits) > 1:
        rows.append(["total", *(sum(row[i + 1] for row in rows) for i in range(len(labels) + 2))])
    table = [header, *([row[0], *(f"{v:,}" for v in row[1:])] for row in rows)]
    widths = [max(len(str(row[i])) for row in table) for i in range(len(header))]
    lines = [
        "  ".join(
            str(cell).rjust(w) if i else str(cell).ljust(w) for i, (cell, w) in enumerate(zip(row, widths, strict=True))
        )
        for row in table
    ]

    skips = list(skipped) if skipped is not None else [s for ds in splits.values() for s in ds.skipped]
    if skips:
        kinds = Counter(s.kind for s in skips).most_common()
        lines.append(f"skipped {len(skips):,}: " + ", ".join(f"{kind} {n:,}" for kind, n in kinds))
    else:
        lines.append("skipped: none")
    return "\n".join(lines)
