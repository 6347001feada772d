"""`maskwatch.report(results)`: a compliance report from a results file, as one HTML page.

    >>> maskwatch.report("runs/detect/detections.json")          # -> runs/detect/detections.html
    >>> maskwatch.report("out/entrance.jsonl", video="entrance.mp4")

The page has the counts per label, the share of faces without a mask over time (video) or per
folder (images) as an inline SVG chart, and thumbnails of the worst images / frames with their
boxes. Everything is inside the file (no script, no external link), so it can be mailed or archived.
"""

from __future__ import annotations

import os
from pathlib import Path

from maskwatch.atomic import atomic_write_text
from maskwatch.callable_module import make_callable
from maskwatch.report.results import Entry, Results, load_results

__all__ = ["report", "load_results", "Results", "Entry"]

#: Thumbnails of this many worst images / frames.
WORST = 8


def _worst(results: Results, n: int) -> list[Entry]:
    """The n entries with the most faces without a mask (then incorrect), at least one such face."""
    bad = [e for e in results.entries if e.badness[0] or e.badness[1]]
    bad.sort(key=lambda e: e.badness, reverse=True)
    if results.kind == "video":
        # Neighbouring frames look alike: keep frames at least a second apart.
        chosen: list[Entry] = []
        for entry in bad:
            if all(abs((entry.time or 0) - (c.time or 0)) >= 1.0 for c in chosen):
                chosen.append(entry)
            if len(chosen) == n:
                break
        return chosen
    return bad[:n]


def report(
    results: str | os.PathLike | Results,
    output: str | os.PathLike | None = None,
    video: str | os.PathLike | None = None,
    worst: int = WORST,
) -> Path:
    """Write the HTML report of a results file; returns its path (default: beside it, `.html`).

    Args:
        results: `maskwatch detect --save-json` output (images JSON / JSON Lines, video JSON Lines),
            or what `load_results` read from one.
        output: the HTML file to write.
        video: the video file, for frame thumbnails (default: the source named in the results).
        worst: how many worst images / frames get a thumbnail.
    """
    from maskwatch.report.html import folder_groups, render
    from maskwatch.report.plot import folder_chart, time_chart
    from maskwatch.report.thumbs import image_thumbnail, video_thumbnails

    loaded = results if isinstance(results, Results) else load_results(results)
    chosen = _worst(loaded, worst)
    if loaded.kind == "video":
        chart = time_chart(loaded.entries)
        source = video or (loaded.summary or {}).get("source")
        by_frame = video_thumbnails(chosen, loaded.labels, source)
        thumbs = {i: by_frame.get(int(e.frame or 0)) for i, e in enumerate(chosen)}
    else:
        chart = folder_chart(folder_groups(loaded.entries))
        thumbs = {i: image_thumbnail(e, loaded.labels, loaded.path.parent) for i, e in enumerate(chosen)}
    target = Path(output) if output is not None else loaded.path.with_suffix(".html")
    return atomic_write_text(target, render(loaded, chart, chosen, thumbs))


make_callable(__name__, __name__, "report")
