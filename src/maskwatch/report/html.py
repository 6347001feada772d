"""The report page: one self-contained HTML file (inline CSS, SVG and data: URI thumbnails)."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from html import escape
from pathlib import Path

from maskwatch.annotate import LABEL_COLORS
from maskwatch.report.results import INCORRECT, WITHOUT, Entry, Results

_CSS = """
body{font-family:system-ui,sans-serif;margin:24px auto;max-width:980px;color:#111;padding:0 12px}
h1{font-size:1.5rem;margin-bottom:4px} h2{font-size:1.15rem;margin-top:28px}
.muted{color:#6b7280;font-size:.9rem}
.cards{display:flex;flex-wrap:wrap;gap:12px;margin-top:12px}
.card{border:1px solid #e5e7eb;border-radius:8px;padding:10px 14px;min-width:120px}
.card b{display:block;font-size:1.4rem}
.dot{display:inline-block;width:10px;height:10px;border-radius:2px;margin-right:6px}
table{border-collapse:collapse;width:100%;font-size:.9rem} td,th{border-bottom:1px solid #e5e7eb;padding:4px 6px;
text-align:right} td:first-child,th:first-child{text-align:left;word-break:break-all}
.thumbs{display:grid;grid-template-columns:repeat(auto-fill,minmax(280px,1fr));gap:12px}
figure{margin:0;border:1px solid #e5e7eb;border-radius:8px;padding:6px} figure img{width:100%;display:block}
figcaption{font-size:.85rem;margin-top:4px;word-break:break-all}
svg{width:100%;height:auto;border:1px solid #e5e7eb;border-radius:8px}
"""


def _card(title: str, value: str, color: str | None = None) -> str:
    dot = f'<span class="dot" style="background:{color}"></span>' if color else ""
    return f'<div class="card">{dot}{escape(title)}<b>{escape(value)}</b></div>'


def _pct(part: int, whole: int) -> str:
    return f"{part / whole:.1%}" if whole else "–"


def _where(entry: Entry, root: Path | None = None) -> str:
    if entry.time is not None:
        return f"frame {entry.frame} ({entry.time:.2f} s)"
    if root is not None:
        try:
            return str(Path(entry.name).relative_to(root))
        except ValueError:
            pass
    return entry.name


def common_folder(entries: list[Entry]) -> Path | None:
    """The folder all image entries share (names are shown relative to it), None for video / none."""
    import os

    parents = [str(Path(e.name).parent) for e in entries if e.time is None]
    try:
        return Path(os.path.commonpath(parents)) if parents else None
    except ValueError:  # absolute and relative names mixed
        return None


def _counts_line(entry: Entry, labels: list[str]) -> str:
    counts = entry.counts
    return ", ".join(f"{counts[label]} {label}" for label in labels if counts[label]) or "no faces"


def render(results: Results, chart: str, worst: list[Entry], thumbs: dict[int, str | None]) -> str:
    """The page for results: cards with counts, the chart, worst-frame thumbnails, a table."""
    counts = results.counts
    faces = sum(counts.values())
    labels = results.labels
    root = common_folder(results.entries)
    unit = "frame" if results.kind == "video" else "image"
    cards = [_card(f"{unit}s", f"{len(results.entries):,}"), _card("faces", f"{faces:,}")]
    for label in labels:
        cards.append(_card(label, f"{counts[label]:,} ({_pct(counts[label], faces)})", LABEL_COLORS.get(label)))
    if results.summary:
        cards.append(_card("people (tracks)", f"{results.summary.get('people', 0):,}"))
        cards.append(_card("duration", f"{float(results.summary.get('duration', 0.0)):.1f} s"))
    notes = []
    if results.bad_lines:
        notes.append(f"{results.bad_lines} unreadable line(s) in the results file were skipped.")
    missing = sum(1 for i in range(len(worst)) if thumbs.get(i) is None)
    if worst and missing:
        notes.append(f"{missing} of {len(worst)} thumbnails could not be made (file moved or unreadable).")
    figures = []
    for i, entry in enumerate(worst):
        img = thumbs.get(i)
        where = escape(_where(entry, root))
        body = f'<img alt="{where}" src="{img}">' if img else '<p class="muted">no image</p>'
        caption = f"<b>{where}</b><br>{escape(_counts_line(entry, labels))}"
        figures.append(f"<figure>{body}<figcaption>{caption}</figcaption></figure>")
    rows = "".join(
        f"<tr><td>{escape(_where(e, root))}</td><td>{len(e.detections)}</td>"
        + "".join(f"<td>{e.counts[label]}</td>" for label in labels)
        + "</tr>"
        for e in worst
    )
    header = "".join(f"<th>{escape(label)}</th>" for label in labels)
    chart_title = "over time" if results.kind == "video" else "per folder"
    generated = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    share = _pct(counts[WITHOUT] + counts[INCORRECT], faces)
    where_from = escape(f" in {root}") if root else ""
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>maskwatch report: {escape(results.path.name)}</title><style>{_CSS}</style></head>
<body>
<h1>Mask compliance report</h1>
<p class="muted">{escape(str(results.path))} · {results.kind}{where_from} · generated {generated} by maskwatch</p>
<p>{share} of {faces:,} faces have no mask or wear it incorrectly.</p>
<div class="cards">{"".join(cards)}</div>
{"".join(f'<p class="muted">{escape(n)}</p>' for n in notes)}
<h2>Faces without a mask {chart_title}</h2>
{chart or '<p class="muted">nothing to plot</p>'}
<h2>Worst {unit}s</h2>
<div class="thumbs">{"".join(figures) or '<p class="muted">none</p>'}</div>
<h2>Worst {unit}s, counts</h2>
<table><tr><th>{unit}</th><th>faces</th>{header}</tr>{rows}</table>
</body></html>
"""


def folder_of(name: str, root: Path | None) -> str:
    """The folder an image belongs to, relative to the results' common folder."""
    parent = Path(name).parent
    if root is not None:
        try:
            return str(parent.relative_to(root)) or "."
        except ValueError:
            pass
    return str(parent)


def folder_groups(entries: list[Entry]) -> dict[str, Counter]:
    """Label counts per folder (relative to the common folder), folders in name order."""
    root = common_folder(entries)
    groups: dict[str, Counter] = {}
    for entry in entries:
        groups.setdefault(folder_of(entry.name, root), Counter()).update(entry.counts)
    return dict(sorted(groups.items()))
