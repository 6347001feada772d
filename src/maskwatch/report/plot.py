"""Inline SVG charts for the report: the share of faces without a mask over time or per folder.

Plain SVG strings keep the page self-contained (no script, no external file) and cost no
plotting dependency in the inference install; each chart is a few lines and a polyline or bars.
"""

from __future__ import annotations

from collections import Counter
from html import escape

from maskwatch.report.results import INCORRECT, WITHOUT, Entry

WIDTH, HEIGHT = 720, 260
LEFT, RIGHT, TOP, BOTTOM = 48, 16, 24, 40
COLORS = {WITHOUT: "#ef4444", INCORRECT: "#f59e0b"}


def _y_top(shares: list[float]) -> float:
    """The y axis ends at the first of 10 / 20 / 40 / 60 / 80 / 100 % above every value (small shares stay visible)."""
    peak = max(shares, default=0.0)
    return next(top for top in (0.1, 0.2, 0.4, 0.6, 0.8, 1.0) if peak <= top + 1e-9)


def _frame(x_label: str, top: float) -> list[str]:
    """Axes, grid lines from 0 to `top` (a share) and the axis titles."""
    plot_h = HEIGHT - TOP - BOTTOM
    parts = [f'<rect x="0" y="0" width="{WIDTH}" height="{HEIGHT}" fill="#fff"/>']
    for k in range(5):
        pct = 100 * top * k / 4
        y = TOP + plot_h * (1 - k / 4)
        parts.append(f'<line x1="{LEFT}" y1="{y:.1f}" x2="{WIDTH - RIGHT}" y2="{y:.1f}" stroke="#e5e7eb"/>')
        parts.append(f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="11">{pct:g}%</text>')
    parts.append(
        f'<text x="{(LEFT + WIDTH - RIGHT) / 2}" y="{HEIGHT - 6}" text-anchor="middle" font-size="12">'
        f"{escape(x_label)}</text>"
    )
    return parts


def _svg(parts: list[str], title: str) -> str:
    body = "".join(parts)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-label="{escape(title)}" font-family="sans-serif">{body}</svg>'
    )


def _share(counts: Counter, label: str) -> float:
    total = sum(counts.values())
    return counts[label] / total if total else 0.0


def time_chart(entries: list[Entry], bins: int = 60) -> str:
    """Video: share of faces without a mask (and worn incorrectly) per time bin, as two lines."""
    timed = [e for e in entries if e.time is not None]
    if not timed:
        return ""
    start, end = timed[0].time, max(timed[-1].time, timed[0].time + 1e-6)
    n = max(1, min(bins, len(timed)))
    buckets = [Counter() for _ in range(n)]
    for entry in timed:
        i = min(n - 1, int((entry.time - start) / (end - start) * n))
        buckets[i].update(entry.counts)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    top = _y_top([_share(b, label) for b in buckets if b for label in COLORS])
    parts = _frame("time (s)", top)
    for k in range(5):
        t = start + (end - start) * k / 4
        x = LEFT + plot_w * k / 4
        parts.append(f'<text x="{x:.1f}" y="{HEIGHT - BOTTOM + 16}" text-anchor="middle" font-size="11">{t:.1f}</text>')
    for label, color in COLORS.items():
        points = []
        for i, bucket in enumerate(buckets):
            if not bucket:
                continue
            x = LEFT + plot_w * (i + 0.5) / n
            y = TOP + plot_h * (1 - _share(bucket, label) / top)
            points.append(f"{x:.1f},{y:.1f}")
        if points:
            parts.append(f'<polyline fill="none" stroke="{color}" stroke-width="2" points="{" ".join(points)}"/>')
    parts.extend(_legend())
    return _svg(parts, "share of faces without a mask over time")


def folder_chart(groups: dict[str, Counter]) -> str:
    """Images: one pair of bars per folder (share without a mask, share worn incorrectly)."""
    if not groups:
        return ""
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    top = _y_top([_share(c, label) for c in groups.values() for label in COLORS])
    parts = _frame("folder", top)
    slot = plot_w / len(groups)
    bar = max(2.0, min(28.0, slot * 0.35))
    for i, (name, counts) in enumerate(groups.items()):
        x0 = LEFT + slot * i + slot / 2 - bar
        for j, (label, color) in enumerate(COLORS.items()):
            share = _share(counts, label)
            height = plot_h * share / top
            tip = f"{name}: {counts[label]} of {sum(counts.values())} faces {label} ({share:.0%})"
            parts.append(
                f'<rect x="{x0 + j * bar:.1f}" y="{TOP + plot_h - height:.1f}" width="{bar:.1f}" '
                f'height="{height:.1f}" fill="{color}"><title>{escape(tip)}</title></rect>'
            )
        if len(groups) <= 24:
            short = name if len(name) <= 16 else "…" + name[-15:]
            parts.append(
                f'<text x="{LEFT + slot * (i + 0.5):.1f}" y="{HEIGHT - BOTTOM + 16}" text-anchor="middle" '
                f'font-size="11">{escape(short)}</text>'
            )
    parts.extend(_legend())
    return _svg(parts, "share of faces without a mask per folder")


def _legend() -> list[str]:
    """Label swatches in the top margin, right-aligned."""
    parts = []
    x = WIDTH - RIGHT - sum(24 + 7 * len(label) for label in COLORS)
    for label, color in COLORS.items():
        parts.append(f'<rect x="{x}" y="2" width="11" height="11" fill="{color}"/>')
        parts.append(f'<text x="{x + 15}" y="12" font-size="11">{escape(label)}</text>')
        x += 24 + 7 * len(label)
    return parts
