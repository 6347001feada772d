"""What `maskwatch detect` prints on stdout: a table of images, or a video's summary as a table.

The full results stay in the files (--save-json); these are for reading. Tables fit the terminal,
or print one line per row when the output is piped (maskwatch.tables).
"""

from __future__ import annotations

from rich.table import Table

from maskwatch.tables import table_console

#: Images listed in the terminal table; --save-json always has every result.
MAX_ROWS = 50
#: Tracks listed under a video summary.
MAX_TRACKS = 20


def print_images(results: list[dict], total: int | None = None) -> None:
    """One row per image: size, faces, faces per label (the first MAX_ROWS images).

    `total`: how many images there are when results holds only the first ones (the Ray engine
    reads back only the rows it shows).
    """
    total = len(results) if total is None else int(total)
    names = next((list(r["detections"][0]["probabilities"]) for r in results if r["detections"]), [])
    table = Table(title=f"{total} image(s)")
    table.add_column("image", overflow="fold")
    table.add_column("size", justify="right")
    table.add_column("faces", justify="right")
    for name in names:
        table.add_column(name, justify="right")
    for result in results[:MAX_ROWS]:
        found = [face["label"] for face in result["detections"]]
        table.add_row(
            result["source"],
            f"{result['width']}x{result['height']}",
            str(len(found)),
            *(str(found.count(name)) for name in names),
        )
    console = table_console()
    console.print(table)
    if total > MAX_ROWS:
        console.print(f"... {total - MAX_ROWS} more image(s) (all of them with --save-json)")


def print_video(report: dict) -> None:
    """The run (frames, duration, people per label, outputs) and the first MAX_TRACKS people."""
    summary = report.get("summary") or {}
    table = Table(title=f"video {report.get('source', '')}", show_header=False, title_justify="left")
    table.add_column("what")
    table.add_column("value", justify="right")
    table.add_row("frames", f"{report.get('frames', 0):,}")
    table.add_row("duration", f"{float(summary.get('duration', 0.0)):.1f} s")
    table.add_row("people (tracks)", str(summary.get("people", 0)))
    for label, count in (summary.get("by_label") or {}).items():
        table.add_row(f"  mostly {label}", str(count))
    table.add_row("label changes", str(summary.get("label_changes", 0)))
    if summary.get("dropped_frames"):
        table.add_row("dropped frames", str(summary["dropped_frames"]))
    for key in ("video", "json"):
        if report.get(key):
            table.add_row(f"{key} written", str(report[key]))
    console = table_console()
    console.print(table)
    tracks = summary.get("tracks") or []
    if tracks:
        people = Table(title=f"people ({min(len(tracks), MAX_TRACKS)} of {len(tracks)})", title_justify="left")
        for column in ("track", "from s", "to s", "label"):
            people.add_column(column, justify="left" if column == "label" else "right")
        for track in tracks[:MAX_TRACKS]:
            people.add_row(
                str(track.get("track_id")),
                f"{float(track.get('first_time', 0.0)):.1f}",
                f"{float(track.get('last_time', 0.0)):.1f}",
                str(track.get("label", "")),
            )
        console.print(people)
