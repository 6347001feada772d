"""Several sources in one call (finding 9) and image results that survive a kill (finding 6)."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from PIL import Image

import maskwatch
from maskwatch.detect.results_file import partial_path

SCENES = ["maksssksksss42.jpg", "maksssksksss704.jpg", "maksssksksss665.jpg"]


def _cli(*args: str, cwd: Path | None = None, shell: bool = False) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "maskwatch.cli", "detect", *args]
    if shell:
        command = " ".join(command)
    return subprocess.run(command, capture_output=True, text=True, cwd=cwd, shell=shell)


@pytest.fixture()
def photos(tmp_path: Path, data_dir: Path) -> Path:
    folder = tmp_path / "photos"
    (folder / "a").mkdir(parents=True)
    (folder / "b").mkdir()
    for i, name in enumerate(SCENES):
        shutil.copy(data_dir / "voc3" / "images" / name, folder / ("a" if i < 2 else "b") / f"p{i}.jpg")
    return folder


def test_several_sources_and_an_unquoted_shell_glob(photos: Path, tmp_path: Path) -> None:
    out = tmp_path / "two.json"
    done = _cli(str(photos / "a" / "p0.jpg"), str(photos / "b"), "-q", "--save-json", str(out))
    assert done.returncode == 0, done.stderr
    assert [Path(r["source"]).name for r in json.loads(out.read_text())] == ["p0.jpg", "p2.jpg"]
    # The shell expands the glob into several arguments before maskwatch sees them.
    globbed = tmp_path / "globbed.json"
    done = _cli("a/*.jpg", "b/p2.jpg", "-q", "--save-json", str(globbed), cwd=photos, shell=True)
    assert done.returncode == 0, done.stderr
    assert sorted(r["source"] for r in json.loads(globbed.read_text())) == ["a/p0.jpg", "a/p1.jpg", "b/p2.jpg"]
    # The same in Python: a list of sources; same-named files keep apart below save_dir.
    results = maskwatch.detect([photos / "a" / "p0.jpg", photos / "b"], save_dir=tmp_path / "annotated")
    assert len(results) == 2
    drawn = sorted(p.relative_to(tmp_path / "annotated").as_posix() for p in (tmp_path / "annotated").rglob("*.jpg"))
    assert drawn == ["a/p0.jpg", "b/p2.jpg"]


def _kill_detect_when(source: Path, out: Path, ready) -> None:
    """Run `maskwatch detect SOURCE -q --save-json OUT` and SIGKILL it as soon as `ready()` is true."""
    run = subprocess.Popen(
        [sys.executable, "-m", "maskwatch.cli", "detect", str(source), "-q", "--save-json", str(out)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline and run.poll() is None and not ready():
            time.sleep(0.1)
        assert run.poll() is None, "the run ended before it could be killed"
        run.send_signal(signal.SIGKILL)
        run.wait(timeout=30)
    finally:
        if run.poll() is None:
            run.kill()


def _frames_written(path: Path) -> int:
    """Complete frame records in a JSON Lines file being written (the last line may still be partial)."""
    if not path.is_file():
        return 0
    frames = 0
    for line in path.read_text().splitlines()[:-1]:
        with contextlib.suppress(ValueError):
            frames += json.loads(line).get("type") == "frame"
    return frames


def test_a_killed_folder_run_keeps_its_results_and_resume_finishes_it(photos: Path, tmp_path: Path) -> None:
    # Slow images at the end, so the run is surely still going when it is killed.
    for i in range(4):
        Image.new("RGB", (7900, 5000), (90 + i, 100, 110)).save(photos / "b" / f"zz_large_{i}.png")
    out = tmp_path / "results" / "faces.json"
    stream = partial_path(out)
    _kill_detect_when(photos, out, lambda: stream.is_file() and stream.read_text().count("\n") >= 2)
    kept = [json.loads(line) for line in stream.read_text().splitlines() if line.strip()]
    assert len(kept) >= 2 and not out.exists()
    assert {Path(r["source"]).name for r in kept} <= {"p0.jpg", "p1.jpg", "p2.jpg"}

    done = _cli(str(photos), "--resume", "--save-json", str(out))
    assert done.returncode == 0, done.stderr
    assert f"{len(kept)} done by an earlier run" in done.stderr
    final = json.loads(out.read_text())
    assert len(final) == 7 and not stream.exists()
    by_source = {r["source"]: r for r in final}
    for record in kept:
        assert by_source[record["source"]] == record, "finished images are kept as they were, not redone"


def test_a_killed_video_run_keeps_the_frames_it_finished(tmp_path: Path, data_dir: Path) -> None:
    from maskwatch.detect.evaluation import load_voc_scenes
    from maskwatch.images import load_image
    from maskwatch.video.demo import make_pan_clip

    scene = next(s for s in load_voc_scenes(data_dir / "voc3") if s.image.name == SCENES[0])
    clip = make_pan_clip(
        load_image(scene.image), scene.boxes, list(scene.labels), tmp_path / "clip.mp4", size=(320, 240), frames=600
    )
    out = tmp_path / "results" / "clip.jsonl"
    # Frame lines, not event lines: those come first when people enter.
    _kill_detect_when(clip.path, out, lambda: _frames_written(out) >= 10)
    # What the run finished is in the file it was asked for, line by line; only a summary is missing.
    assert sorted(p.name for p in out.parent.iterdir()) == ["clip.jsonl"], "no temporary file instead"
    lines = out.read_text().splitlines()
    records = [json.loads(line) for line in lines[:-1]]  # the last line may be cut by the kill
    frames = [r["frame"] for r in records if r["type"] == "frame"]
    assert len(frames) >= 9 and frames == list(range(len(frames)))
    assert all(r["type"] != "summary" for r in records) and len(frames) < 600

    report = subprocess.run([sys.executable, "-m", "maskwatch.cli", "report", str(out)], capture_output=True, text=True)
    assert report.returncode in (0, 1) and out.with_suffix(".html").is_file(), report.stderr
    kept = out.read_text()
    again = _cli(str(clip.path), "--resume", "--save-json", str(out))  # would start over the kept frames
    assert again.returncode == 2 and "--resume is for image runs" in again.stderr
    assert out.read_text() == kept


def test_json_lines_output_streams_one_image_per_line(photos: Path, tmp_path: Path) -> None:
    out = tmp_path / "faces.jsonl"
    results = maskwatch.detect(photos, save_json=out)
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert lines == list(results) and len(lines) == 3
    loaded = maskwatch.report(out)
    assert "3</b>" in loaded.read_text()


def test_leftover_temporary_files_are_removed_by_the_next_run(photos: Path, tmp_path: Path, data_dir: Path) -> None:
    out = tmp_path / "out" / "faces.json"
    out.parent.mkdir()
    old = time.time() - 3600
    leftovers = [out.parent / ".faces.json.k3j2h1.tmp", out.parent / ".faces.json.partial.jsonl"]
    for path in leftovers:
        path.write_text('{"half": ')
        os.utime(path, (old, old))
    fresh = out.parent / ".faces.json.now123.tmp"  # another run writing right now: kept
    fresh.write_text("")
    maskwatch.detect(photos / "a", save_json=out)
    assert out.is_file() and not any(p.exists() for p in leftovers) and fresh.exists()

    from maskwatch.detect.evaluation import load_voc_scenes
    from maskwatch.images import load_image
    from maskwatch.video.demo import make_pan_clip

    scene = next(s for s in load_voc_scenes(data_dir / "voc3") if s.image.name == SCENES[0])
    clip = make_pan_clip(load_image(scene.image), scene.boxes, list(scene.labels), tmp_path / "clip.mp4", frames=4)
    video_json = tmp_path / "out" / "clip.jsonl"
    stale = [out.parent / ".clip.jsonl.a1b2c3.tmp", out.parent / ".clip.jsonl.d4e5f6.tmp"]
    for path in stale:
        path.write_text('{"type":"frame"')
        os.utime(path, (old, old))
    maskwatch.detect(clip.path, save_json=video_json)
    assert video_json.is_file() and not any(p.exists() for p in stale)


def test_a_missing_source_among_several_is_skipped_and_exit_1(photos: Path, tmp_path: Path) -> None:
    done = _cli(str(photos / "a" / "p0.jpg"), str(photos / "nope.jpg"), "-q", "--save-json", str(tmp_path / "o.json"))
    assert done.returncode == 1, done.stderr
    assert "nope.jpg" in done.stderr and "1 file(s) skipped, 1 processed" in done.stderr
    assert len(json.loads((tmp_path / "o.json").read_text())) == 1
