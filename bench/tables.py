"""The plain-text table every bench prints (one place, so the benches' output looks alike)."""

from __future__ import annotations


def print_table(title: str, header: list[str], rows: list[list]) -> None:
    """Title, header, rule, rows; the first column left-aligned, numbers right-aligned."""
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows, strict=True)]
    print(f"\n{title}")
    print("  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)))
    print("  ".join("-" * w for w in widths))
    for row in rows:
        cells = zip(row, widths, strict=True)
        print("  ".join(str(c).rjust(w) if i else str(c).ljust(w) for i, (c, w) in enumerate(cells)))
