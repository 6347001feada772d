"""Exit codes that tell the truth and messages that say what is wrong (issue 12, finding 4).

0 every input processed, 1 some skipped, 2 nothing processed; `-q` hides progress, never errors.
"""

from __future__ import annotations

import logging
import os
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from maskwatch.errors import BadImageError, SourceError
from maskwatch.images import read_image

GOOD = "maksssksksss42.jpg"


def _detect(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "maskwatch.cli", "detect", *args], capture_output=True, text=True)


@pytest.fixture()
def inputs(tmp_path: Path, data_dir: Path) -> dict[str, Path]:
    good = tmp_path / "good.jpg"
    shutil.copy(data_dir / "voc3" / "images" / GOOD, good)
    text = tmp_path / "notes.jpg"
    text.write_text("this is not an image")
    cut = tmp_path / "cut.jpg"
    cut.write_bytes(good.read_bytes()[:400])
    (tmp_path / "empty").mkdir()
    (tmp_path / "all_bad").mkdir()
    shutil.copy(text, tmp_path / "all_bad" / "a.jpg")
    shutil.copy(cut, tmp_path / "all_bad" / "b.jpg")
    (tmp_path / "mixed").mkdir()
    shutil.copy(good, tmp_path / "mixed" / "good.jpg")
    shutil.copy(cut, tmp_path / "mixed" / "cut.jpg")
    return {"good": good, "text": text, "cut": cut, "root": tmp_path}


def test_nothing_processed_is_exit_2_and_says_why_even_with_q(inputs) -> None:
    root = inputs["root"]
    for source, why in ((inputs["text"], "not an image"), (inputs["cut"], "truncated"), (root / "all_bad", "b.jpg")):
        done = _detect(str(source), "-q", "--save-json", str(root / "out.json"))
        assert done.returncode == 2, (source, done.stderr)
        assert why in done.stderr and "nothing was processed" in done.stderr
        assert "Traceback" not in done.stderr
    empty = _detect(str(root / "empty"), "-q")
    assert empty.returncode == 2 and "no image files" in empty.stderr


def test_some_skipped_is_exit_1_all_done_is_exit_0(inputs) -> None:
    mixed = _detect(str(inputs["root"] / "mixed"), "-q")
    assert mixed.returncode == 1, mixed.stderr
    assert "cut.jpg" in mixed.stderr and "1 file(s) skipped, 1 processed" in mixed.stderr
    assert mixed.stdout == "", "-q prints no table"
    good = _detect(str(inputs["good"]), "-q")
    assert good.returncode == 0 and good.stdout == "" and good.stderr == ""


def test_unreadable_file_says_permission_denied(tmp_path: Path, data_dir: Path, monkeypatch) -> None:
    path = tmp_path / "locked.jpg"
    shutil.copy(data_dir / "voc3" / "images" / GOOD, path)
    if os.geteuid() != 0:  # root reads mode-000 files; elsewhere make it real
        path.chmod(0)
    else:
        import maskwatch.images as images

        def denied(fp, *args, **kwargs):
            raise PermissionError(13, "Permission denied", str(fp))

        monkeypatch.setattr(images.Image, "open", denied)
    with pytest.raises(BadImageError) as caught:
        read_image(path)
    assert str(caught.value) == f"{path}: permission denied (the file is not readable by this user)"


def test_corrupt_exif_is_a_warning_that_names_the_file(tmp_path: Path, caplog) -> None:
    path = tmp_path / "odd_exif.jpg"
    header = struct.pack("<2sHI", b"II", 42, 8)
    Image.new("RGB", (64, 48), (10, 200, 10)).save(path, exif=b"Exif\x00\x00" + header + struct.pack("<H", 5))
    with caplog.at_level(logging.WARNING, logger="maskwatch"):
        image = read_image(path)
    assert image.rgb.shape == (48, 64, 3)
    messages = [r.getMessage() for r in caplog.records if r.name.startswith("maskwatch")]
    assert len(messages) == 1 and messages[0].startswith(f"{path}: damaged EXIF metadata ignored")


def test_classify_on_a_video_says_it_is_a_video(tmp_path: Path) -> None:
    from maskwatch.classify import list_source

    clip = tmp_path / "entrance.mp4"
    clip.write_bytes(b"\x00\x00\x00\x18ftypmp42")
    with pytest.raises(SourceError, match="is a video.*maskwatch detect"):
        list_source(clip, ["with_mask", "without_mask"])
