"""One Source, parsed once by one set of rules, for images and video alike (maskwatch.video.sources)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from maskwatch.errors import SourceError
from maskwatch.images import save_image
from maskwatch.video import is_video_source, open_source
from maskwatch.video.sources import Source, SourceKind


@pytest.fixture
def photos(tmp_path: Path) -> list[Path]:
    rng = np.random.default_rng(0)
    paths = []
    for name in ("a.jpg", "sub/b.png", "clip.gif"):
        path = tmp_path / "photos" / name
        save_image(path, rng.integers(0, 255, (24, 32, 3), dtype=np.uint8))
        paths.append(path)
    return paths


def test_every_kind_of_source_is_recognised(photos, tmp_path):
    folder = photos[0].parent
    assert Source.parse(photos[0]) == Source(SourceKind.IMAGE, str(photos[0]))
    assert Source.parse(str(folder)).kind == SourceKind.FOLDER
    assert Source.parse(f"{folder}/**/*.png").kind == SourceKind.GLOB
    assert Source.parse([photos[0], str(photos[1])]) == Source(SourceKind.FILES, (str(photos[0]), str(photos[1])))
    assert Source.parse(tmp_path / "door.mp4").kind == SourceKind.VIDEO  # its decoder says it is missing
    assert Source.parse(f"file://{tmp_path}/door.mp4") == Source(SourceKind.VIDEO, f"{tmp_path}/door.mp4")
    assert Source.parse(0) == Source.parse("0") == Source(SourceKind.CAMERA, 0)
    assert Source.parse("rtsp://127.0.0.1/live").kind == SourceKind.URL
    assert Source.parse(Source.parse(0)) == Source(SourceKind.CAMERA, 0)


def test_one_rule_where_detect_and_video_used_to_disagree(photos):
    gif = photos[2]
    assert Source.parse(gif).kind == SourceKind.IMAGE and not is_video_source(gif)
    assert Source.parse(gif).images() == [gif]
    with pytest.raises(SourceError, match=r"ftp:// is not a stream protocol maskwatch reads \(rtsp, "):
        Source.parse("ftp://camera.local/x.mp4")
    assert not is_video_source("ftp://camera.local/x.mp4")
    with pytest.raises(SourceError, match=r"ftp:// is not a stream protocol"):
        open_source("ftp://camera.local/x.mp4")


def test_sources_open_themselves(photos, tmp_path):
    folder = photos[0].parent
    folder_source = Source.parse(folder)
    assert folder_source.images() == sorted(photos)
    assert [folder_source.relative_name(p).as_posix() for p in photos] == ["a.jpg", "sub/b.png", "clip.gif"]
    assert Source.parse(f"{folder}/**/*.png").images() == [photos[1]]
    with pytest.raises(SourceError, match="holds images, not video frames"):
        folder_source.open()
    with pytest.raises(SourceError, match="door.mp4: video file not found"):
        Source.parse(tmp_path / "door.mp4").open()
    with pytest.raises(SourceError, match="has no image files"):
        Source.parse("rtsp://127.0.0.1/live").images()


def test_bad_sources_say_what_is_wrong(photos, tmp_path):
    with pytest.raises(SourceError, match="no such file or folder"):
        Source.parse(tmp_path / "missing.jpg")
    with pytest.raises(SourceError, match="empty source"):
        Source.parse("  ")
    with pytest.raises(SourceError, match="not a source"):
        Source.parse(True)
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(SourceError, match="notes.txt: not an image file"):
        Source.parse([photos[0], tmp_path / "notes.txt"])
    with pytest.raises(SourceError, match="missing.png: no such file"):
        Source.parse([tmp_path / "missing.png"])
    with pytest.raises(SourceError, match="empty list"):
        Source.parse([])
