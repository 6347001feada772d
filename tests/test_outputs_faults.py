"""A full disk or an unwritable output under `detect --save-json` is one clear error line (issue 12, finding 6)."""

from __future__ import annotations

import os
import resource
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

SCENE = "maksssksksss42.jpg"


def _detect_with_small_disk(args: list[str], max_bytes: int) -> subprocess.CompletedProcess:
    """Run `maskwatch detect` where no file may grow past max_bytes: writes fail as on a full disk."""

    def limit() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails (EFBIG) instead
        resource.setrlimit(resource.RLIMIT_FSIZE, (max_bytes, max_bytes))

    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    return subprocess.run(
        [sys.executable, "-m", "maskwatch.cli", "detect", *args],
        capture_output=True,
        text=True,
        preexec_fn=limit,
        env=env,
        timeout=300,
    )


def _one_error_line(done: subprocess.CompletedProcess, name: str) -> None:
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and name in errors[0], done.stderr


def test_full_disk_while_writing_image_results(tmp_path: Path, data_dir: Path) -> None:
    folder = tmp_path / "photos"
    folder.mkdir()
    for name in (SCENE, "maksssksksss704.jpg"):
        shutil.copy(data_dir / "voc3" / "images" / name, folder / name)
    out = tmp_path / "out" / "results.json"
    done = _detect_with_small_disk([str(folder), "-q", "--save-json", str(out)], max_bytes=2048)
    _one_error_line(done, "results.json")
    assert "File too large" in done.stderr or "No space" in done.stderr
    assert not list(out.parent.glob(".*.tmp")), "no temporary file left behind"


def test_full_disk_while_writing_video_results(tmp_path: Path, data_dir: Path) -> None:
    from maskwatch.detect.evaluation import load_voc_scenes
    from maskwatch.images import load_image
    from maskwatch.video.demo import make_pan_clip

    scene = next(s for s in load_voc_scenes(data_dir / "voc3") if s.image.name == SCENE)
    clip = make_pan_clip(load_image(scene.image), scene.boxes, list(scene.labels), tmp_path / "clip.mp4", frames=30)
    out = tmp_path / "out" / "clip.jsonl"
    done = _detect_with_small_disk([str(clip.path), "-q", "--save-json", str(out)], max_bytes=4096)
    _one_error_line(done, "clip.jsonl")


@pytest.mark.parametrize("where", ["under_a_file", "a_folder"])
def test_unwritable_output_fails_before_any_work(tmp_path: Path, data_dir: Path, where: str) -> None:
    image = tmp_path / SCENE
    shutil.copy(data_dir / "voc3" / "images" / SCENE, image)
    target = image / "results.json" if where == "under_a_file" else tmp_path
    done = subprocess.run(
        [sys.executable, "-m", "maskwatch.cli", "detect", str(image), "--save-json", str(target)],
        capture_output=True,
        text=True,
    )
    _one_error_line(done, str(target))
    assert "1 image(s)" not in done.stderr, "the run must stop before detecting"
