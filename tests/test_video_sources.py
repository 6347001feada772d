"""Video sources and the MP4 writer on clips made here from a real voc3 photo (no model needed)."""

from __future__ import annotations

import functools
import http.server
import socket
import threading
import warnings
from pathlib import Path

import av
import numpy as np
import pytest

from maskwatch.data.voc import parse_voc_xml
from maskwatch.errors import MaskwatchError, SourceError
from maskwatch.images import load_image
from maskwatch.video import CameraSource, SourceWarning, StreamSource, VideoFileSource, open_source
from maskwatch.video.demo import make_pan_clip
from maskwatch.video.writer import VideoWriter

FRAMES = 24


@pytest.fixture(scope="module")
def clip(data_dir: Path, tmp_path_factory: pytest.TempPathFactory):
    stem = "maksssksksss261"
    ann = parse_voc_xml(data_dir / "voc3" / "annotations" / f"{stem}.xml")
    image = load_image(data_dir / "voc3" / "images" / f"{stem}.jpg")
    boxes = np.array([o.box for o in ann.objects], dtype=np.float32)
    path = tmp_path_factory.mktemp("clips") / "pan.mp4"
    # A keyframe every 6 frames spreads the bytes over the clip, so cutting the file in half cuts
    # the frames roughly in half too (with one keyframe, half the bytes is the first frame).
    labels = [o.name for o in ann.objects]
    return make_pan_clip(image, boxes, labels, path, size=(320, 240), frames=FRAMES, gop=6)


def _codec(path: Path) -> tuple[str, str, int]:
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        n = sum(1 for _ in container.decode(stream))
        return stream.codec_context.name, stream.codec_context.pix_fmt, n


def test_file_source_yields_every_frame_in_order(clip) -> None:
    with VideoFileSource(clip.path) as source:
        frames = list(source)
        assert source.frame_count == FRAMES
        assert source.size == (320, 240)
        assert source.fps == pytest.approx(clip.fps)
    assert [f.index for f in frames] == list(range(FRAMES))
    times = np.array([f.time for f in frames])
    assert times[0] == 0.0 and np.allclose(np.diff(times), 1 / clip.fps, atol=1e-3)
    assert all(f.image.shape == (240, 320, 3) and f.image.dtype == np.uint8 for f in frames)
    # The pan moves the picture: consecutive frames differ, but only a little.
    assert 0 < np.abs(frames[1].image.astype(int) - frames[0].image).mean() < 40


def test_truncated_video_yields_decoded_frames_then_warns(clip, tmp_path: Path) -> None:
    data = clip.path.read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.warns(SourceWarning, match="cut.mp4.*truncated") as caught:
        frames = list(VideoFileSource(cut))
    assert 0 < len(frames) < FRAMES
    assert f"decoded {len(frames)} frame" in str(caught[0].message)
    with pytest.raises(SourceError, match="cut.mp4.*truncated"):
        list(VideoFileSource(cut, strict=True))
    # Cut inside the first frame: nothing decodes, which is an error, not a warning.
    first = tmp_path / "first.mp4"
    first.write_bytes(data[: len(data) // 8])
    with pytest.raises(SourceError, match="first.mp4.*decoded 0 frame"):
        list(VideoFileSource(first))


def test_unreadable_or_missing_file_is_a_clear_error(clip, tmp_path: Path) -> None:
    stub = tmp_path / "stub.mp4"
    stub.write_bytes(clip.path.read_bytes()[:600])  # header only: no index, no frames
    with pytest.raises(SourceError, match="stub.mp4: not a readable video"):
        VideoFileSource(stub)
    text = tmp_path / "notes.mp4"
    text.write_text("not a video at all\n" * 50)
    with pytest.raises(SourceError, match="notes.mp4"):
        VideoFileSource(text)
    with pytest.raises(SourceError, match="nothing.mp4: video file not found"):
        open_source(tmp_path / "nothing.mp4")


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_unreachable_url_is_a_source_error() -> None:
    url = f"rtsp://127.0.0.1:{_closed_port()}/live"
    with pytest.raises(SourceError, match=f"{url}: cannot open"):
        open_source(url, open_timeout=2.0)


def test_silent_server_times_out_instead_of_hanging() -> None:
    # A server that accepts the connection and never answers: only the timeout can end this.
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    try:
        url = f"http://127.0.0.1:{server.getsockname()[1]}/cam.mjpg"
        with pytest.raises(SourceError, match="timed out"):
            StreamSource(url, open_timeout=1.0, read_timeout=1.0)
    finally:
        server.close()


def test_missing_camera_is_a_source_error() -> None:
    with pytest.raises(SourceError, match="camera 99"):
        open_source(99)
    with pytest.raises(SourceError, match="camera 98"):
        CameraSource(98)


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


def test_stream_that_drops_is_reopened_then_gives_up(clip) -> None:
    handler = functools.partial(_QuietHandler, directory=str(clip.path.parent))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_address[1]}/{clip.path.name}"
    source = StreamSource(url, live=True, max_retries=2, backoff=0.05, open_timeout=2.0, read_timeout=2.0)
    indexes = []
    try:
        # The "stream" ends after FRAMES frames; a live source takes that as a drop and reconnects.
        for frame in source:
            indexes.append(frame.index)
            if len(indexes) == FRAMES + 5:
                server.shutdown()
                server.server_close()
        pytest.fail("a stream whose server is gone must end with SourceError")
    except SourceError as exc:
        assert url in str(exc) and "2 reconnect attempt" in str(exc)
    finally:
        source.close()
        if thread.is_alive():
            server.shutdown()
    assert indexes[: 2 * FRAMES] == list(range(2 * FRAMES))  # indexes keep counting across the reconnect
    assert source.reconnects >= 1


def test_writer_makes_browser_playable_h264(clip, tmp_path: Path) -> None:
    frames = [f.image for f in VideoFileSource(clip.path)]
    target = tmp_path / "out" / "annotated.mp4"
    with VideoWriter(target, fps=clip.fps) as writer:
        for image in frames:
            writer.write(image[:239, :319])  # odd size: cropped to even for yuv420p
            assert not target.exists()  # appears only when finished
    assert _codec(target) == ("h264", "yuv420p", FRAMES)
    head = target.read_bytes()[:4096]
    assert b"moov" in head  # +faststart: the index is at the front
    assert [p.name for p in target.parent.iterdir()] == ["annotated.mp4"]  # no temp file left


def test_writer_times_live_frames_and_discards_on_error(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    target = tmp_path / "live.mp4"
    with VideoWriter(target, fps=30) as writer:
        for i in range(10):
            writer.write(rng.integers(0, 255, (64, 96, 3), dtype=np.uint8), time=i * 0.2)
    with av.open(str(target)) as container:
        assert container.duration / 1e6 == pytest.approx(2.0, abs=0.25)  # 10 frames 0.2 s apart
    broken = tmp_path / "broken.mp4"
    with pytest.raises(RuntimeError), VideoWriter(broken) as writer:
        writer.write(np.zeros((64, 64, 3), np.uint8))
        raise RuntimeError("pipeline failed")
    assert list(tmp_path.iterdir()) == [target]
    with pytest.raises(MaskwatchError, match="must be .mp4"):
        VideoWriter(tmp_path / "x.avi")


def test_phone_rotation_tag_is_applied(tmp_path: Path) -> None:
    # Phones store portrait video as landscape frames plus a display rotation; faces must come out upright.
    landscape = np.zeros((48, 96, 3), np.uint8)
    landscape[:16, :16] = 255  # a white corner shows which way the picture turned
    path = tmp_path / "phone.mp4"
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=10)
        stream.width, stream.height, stream.pix_fmt = 96, 48, "yuv420p"
        stream.set_display_rotation(-90)  # shown turned a quarter clockwise
        for i in range(3):
            frame = av.VideoFrame.from_ndarray(landscape, format="rgb24")
            frame.pts = i
            container.mux(stream.encode(frame))
        container.mux(stream.encode())
    frames = list(VideoFileSource(path))
    assert len(frames) == 3
    upright = frames[0].image
    assert upright.shape == (96, 48, 3)
    expected = np.rot90(landscape, k=-1)
    assert np.abs(upright.astype(int) - expected).mean() < 10


def test_open_source_dispatch(clip) -> None:
    assert isinstance(open_source(str(clip.path)), VideoFileSource)
    assert isinstance(open_source(f"file://{clip.path}"), VideoFileSource)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with open_source(clip.path) as source:
            assert next(iter(source)).index == 0
