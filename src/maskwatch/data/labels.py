"""Class names: renaming/dropping with a label map, and a stable label order.

Datasets spell classes differently ("mask", "with_mask", "no_mask"...); a label map renames
them to the project's names (or drops a class with None) before anything else sees them.
The label order decides the model's output index, so it is explicit or sorted, never the
order files happen to be found in.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from maskwatch.data.samples import DatasetError

LabelMap = Mapping[str, str | None]


def map_label(name: str, label_map: LabelMap | None) -> str | None:
    """The project name for a dataset's class name; None means "drop this class"."""
    if label_map is not None and name in label_map:
        return label_map[name]
    return name


def order_labels(found: Iterable[str], labels: Sequence[str] | None, where: str) -> list[str]:
    """`labels` if given (every found class must be in it), else the found classes sorted."""
    found_set = set(found)
    if labels is None:
        return sorted(found_set)
    unknown = sorted(found_set - set(labels))
    if unknown:
        raise DatasetError(
            f"{where}: classes {unknown} are not in labels={list(labels)}; add them to labels or "
            f"rename/drop them with label_map (e.g. {{{unknown[0]!r}: None}})"
        )
    return list(labels)
