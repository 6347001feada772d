"""Limits enforced on the work, not on what a client declares: video frames and processing time,
bad live WebSocket messages, wrong query parameters.

Clips are written by the tests (PyAV) from a real voc3 scene, at frame rates a header may claim:
999 frames/s (taken at its word before: 29,970 frames for a 30 s clip) and exactly 1,000 (read as
"unknown" before, so 900 frames were processed and nothing said).
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("fastapi")
from fastapi.testclient import TestClient  # noqa: E402
from starlette.testclient import WebSocketDenialResponse  # noqa: E402
from starlette.websockets import WebSocketDisconnect  # noqa: E402

from maskwatch.serve.app import create_app  # noqa: E402
from maskwatch.serve.settings import ServeSettings  # noqa: E402

FRAME_LIMIT = 40
BAD_FRAMES = 3


@pytest.fixture(scope="module")
def client():
    settings = ServeSettings(workers=1, max_video_frames=FRAME_LIMIT, max_video_seconds=5.0, max_bad_frames=BAD_FRAMES)
    with TestClient(create_app(settings)) as c:
        deadline = time.monotonic() + 120
        while c.get("/readyz").status_code != 200:
            assert time.monotonic() < deadline, "models did not load"
            time.sleep(0.05)
        yield c


@pytest.fixture(scope="module")
def scene(data_dir: Path) -> np.ndarray:
    from maskwatch.images import load_image

    return load_image(sorted((data_dir / "voc3" / "images").glob("*.jpg"))[0])


def write_clip(path: Path, rgb: np.ndarray, frames: int, fps: int, width: int = 160, height: int = 112) -> Path:
    """`frames` frames panning over rgb, in an MP4 whose header says `fps` frames per second."""
    import av

    with av.open(str(path), "w") as container:
        stream = container.add_stream("mpeg4", rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        for i in range(frames):
            x = i % max(1, rgb.shape[1] - width)
            crop = np.ascontiguousarray(rgb[:height, x : x + width])
            container.mux(stream.encode(av.VideoFrame.from_ndarray(crop, format="rgb24")))
        container.mux(stream.encode())
    return path


def post_video(client: TestClient, path: Path) -> dict:
    response = client.post("/api/v1/video", files={"file": (path.name, path.read_bytes())})
    assert response.status_code == 200, response.text
    return response.json()


@pytest.mark.parametrize("fps", [999, 1000])
def test_high_frame_rate_header_is_cut_at_the_frame_limit_with_a_warning(client, scene, tmp_path, fps) -> None:
    clip = write_clip(tmp_path / f"fast{fps}.mp4", scene, frames=200, fps=fps)
    result = post_video(client, clip)
    assert result["frames"] == FRAME_LIMIT
    assert any(f"at most {FRAME_LIMIT} frames" in w for w in result["warnings"]), result["warnings"]
    lines = [json.loads(line) for line in client.get(result["jsonl_url"]).text.splitlines()]
    assert sum(1 for line in lines if line.get("type") == "frame") == FRAME_LIMIT
    assert any(f"at most {FRAME_LIMIT} frames" in w for w in lines[-1]["warnings"]), "the JSONL summary must say it"


def test_clip_within_the_limits_has_no_warning(client, scene, tmp_path) -> None:
    result = post_video(client, write_clip(tmp_path / "ok.mp4", scene, frames=12, fps=6))
    assert result["frames"] == 12 and result["warnings"] == []


def test_processing_time_limit_cuts_the_clip(client, scene, tmp_path) -> None:
    app = client.app
    runtime = app.state.runtime
    original = runtime.settings
    runtime.settings = original.with_(max_video_work_seconds=0.05, max_video_frames=10_000)
    try:
        result = post_video(client, write_clip(tmp_path / "slow.mp4", scene, frames=150, fps=50))
    finally:
        runtime.settings = original
    assert 0 < result["frames"] < 150
    assert any("limit of 0.05 s" in w for w in result["warnings"]), result["warnings"]


def test_bad_binary_frames_close_the_socket_with_1008(client, scene) -> None:
    with client.websocket_connect("/api/v1/live") as ws:
        assert ws.receive_json()["type"] == "ready"
        for _ in range(BAD_FRAMES):
            ws.send_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
            assert ws.receive_json()["type"] == "error"
        ws.send_text(json.dumps({"type": "ping"}))  # answered with pong if the socket stayed open
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_json()
        assert closed.value.code == 1008


def test_garbage_text_is_answered_and_a_good_frame_resets_the_count(client, scene) -> None:
    from maskwatch.images import encode_jpeg

    with client.websocket_connect("/api/v1/live") as ws:
        assert ws.receive_json()["type"] == "ready"
        ws.send_text("hello?")
        ws.send_text(json.dumps({"type": "ping"}))
        first = ws.receive_json()
        assert first["type"] == "error" and first["error"] == "bad_message", first
        assert ws.receive_json()["type"] == "pong"
        for _ in range(BAD_FRAMES - 1):
            ws.send_bytes(b"garbage")
            assert ws.receive_json()["type"] == "error"
        ws.send_bytes(encode_jpeg(scene))
        assert ws.receive_json()["type"] == "detections"
        ws.send_bytes(b"garbage")  # the count starts again after a good frame: still open
        assert ws.receive_json()["type"] == "error"


def test_live_socket_refuses_unknown_query_parameters_with_422(client) -> None:
    with (
        pytest.raises(WebSocketDenialResponse) as denied,
        client.websocket_connect("/api/v1/live?annotate=maybe") as ws,
    ):
        ws.receive_json()
    assert denied.value.status_code == 422
    assert "annotate" in denied.value.json()["detail"]


def test_wrong_typed_query_parameters_get_422(client, scene) -> None:
    from maskwatch.images import encode_jpeg

    response = client.post("/api/v1/detect?annotate=maybe", content=encode_jpeg(scene))
    assert response.status_code == 422 and response.json()["error"] == "invalid_parameter"
    assert "annotate" in response.json()["detail"]


def test_filename_query_names_raw_uploads_within_bounds(client, scene) -> None:
    from maskwatch.images import encode_jpeg

    data = encode_jpeg(scene)
    named = client.post("/api/v1/detect?filename=gate%2F7.jpg", content=data)
    assert named.status_code == 200 and named.json()["source"] == "7.jpg"  # folders stripped
    long = client.post("/api/v1/detect?filename=" + "x" * 300, content=data)
    assert long.status_code == 422 and "filename" in long.json()["detail"]
    spec = client.get("/openapi.json").json()
    params = {p["name"] for p in spec["paths"]["/api/v1/detect"]["post"]["parameters"]}
    assert {"annotate", "filename"} <= params
