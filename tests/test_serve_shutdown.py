"""Faults around the real `maskwatch serve` process: a signal during a long video job, and a live
client that leaves before authenticating. The server runs as a subprocess on a free loopback port;
its stderr is read for tracebacks.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

httpx = pytest.importorskip("httpx")
pytest.importorskip("fastapi")

ROOT = Path(__file__).resolve().parents[1]
TOKEN = "shutdown-test-token"
#: How long the server may take to exit after the signal (issue 12: it ran on for 90 s).
EXIT_BOUND_S = 20


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(*extra: str) -> tuple[subprocess.Popen, str, int]:
    port = free_port()
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"), MASKWATCH_TOKEN=TOKEN)
    cmd = [sys.executable, "-m", "maskwatch", "serve", "--host", "127.0.0.1", "--port", str(port), *extra]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()[1][-3000:]
        try:
            if httpx.get(base + "/readyz", timeout=2).status_code == 200:
                return proc, base, port
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    proc.kill()
    pytest.fail("server did not become ready")


def stop(proc: subprocess.Popen) -> tuple[str, str]:
    if proc.poll() is None:
        proc.kill()
    return proc.communicate(timeout=30)


def long_clip(path: Path, data_dir: Path, frames: int = 600) -> Path:
    """A 20 s, 30 frames/s clip panning over a voc3 scene (a job of many seconds on this server)."""
    import av

    from maskwatch.images import load_image

    rgb = load_image(sorted((data_dir / "voc3" / "images").glob("*.jpg"))[0])
    width, height = 320, 240
    canvas = np.zeros((height, rgb.shape[1] + width, 3), np.uint8)
    canvas[: min(height, rgb.shape[0]), : rgb.shape[1]] = rgb[:height]
    with av.open(str(path), "w") as container:
        stream = container.add_stream("mpeg4", rate=30)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        for i in range(frames):
            x = i % rgb.shape[1]
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(canvas[:, x : x + width]), format="rgb24")
            container.mux(stream.encode(frame))
        container.mux(stream.encode())
    return path


def _signal_during_upload(endpoint: str, name: str, body: bytes, sig: signal.Signals, settle: float) -> tuple:
    """Start a 1-worker server, POST `body` to `endpoint`, send `sig` `settle` s into the job.

    Returns (return code, server stderr, the client's answer: {"status", "body"}); fails if the
    server is still running EXIT_BOUND_S after the signal.
    """
    proc, base, _ = start_server("--workers", "1")
    answer: dict = {}
    try:
        headers = {"Authorization": f"Bearer {TOKEN}"}

        def upload() -> None:
            try:
                response = httpx.post(base + endpoint, files={"file": (name, body)}, headers=headers, timeout=120)
                answer.update(status=response.status_code, body=response.text)
            except httpx.HTTPError as exc:  # the server may close the connection as it stops
                answer.update(status=type(exc).__name__)

        client = threading.Thread(target=upload)
        client.start()
        deadline = time.monotonic() + 60
        while httpx.get(base + "/api/v1/stats", headers=headers, timeout=5).json()["in_flight"] < 1:
            assert time.monotonic() < deadline, f"the {endpoint} job never started"
            time.sleep(0.05)
        time.sleep(settle)
        proc.send_signal(sig)
        try:
            proc.wait(timeout=EXIT_BOUND_S)
        except subprocess.TimeoutExpired:
            pytest.fail(f"still running {EXIT_BOUND_S} s after {sig.name}")
        client.join(30)
    finally:
        _, stderr = stop(proc)
    return proc.returncode, stderr, answer


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_signal_during_a_video_job_stops_the_server_quickly_and_cleanly(sig, data_dir: Path, tmp_path: Path) -> None:
    clip = long_clip(tmp_path / "long.mp4", data_dir)
    code, stderr, answer = _signal_during_upload("/api/v1/video", "long.mp4", clip.read_bytes(), sig, 0.5)
    assert code == 0, stderr[-2000:]
    assert "Traceback" not in stderr, stderr[-3000:]
    assert answer.get("status") != 500, answer
    if answer.get("status") == 503:
        assert json.loads(answer["body"])["error"] == "shutting_down"


def large_photo(data_dir: Path, size: tuple[int, int] = (7200, 5400)) -> bytes:
    """A 39 Mpx JPEG of a voc3 crowd scene (2.7 MB): decoded reduced, then a shrunk pass and tiles."""
    import io

    from PIL import Image

    scene = Image.open(sorted((data_dir / "voc3" / "images").glob("*.jpg"))[0]).convert("RGB")
    buffer = io.BytesIO()
    scene.resize(size, Image.BILINEAR).save(buffer, format="JPEG", quality=92)
    return buffer.getvalue()


def test_sigterm_during_a_detect_job_cancels_it_with_503(data_dir: Path) -> None:
    # 0.2 s is inside the job: one such photo is a few network runs, > 1 s here.
    code, stderr, answer = _signal_during_upload(
        "/api/v1/detect", "crowd.jpg", large_photo(data_dir), signal.SIGTERM, 0.2
    )
    assert code == 0, stderr[-2000:]
    assert "Traceback" not in stderr, stderr[-3000:]
    # Cancelled, not finished: the answer nobody would wait for is not computed to the end.
    assert answer.get("status") == 503, answer
    assert json.loads(answer["body"])["error"] == "shutting_down"


def test_live_clients_leaving_early_or_staying_log_no_traceback() -> None:
    from websockets.sync.client import connect

    proc, base, port = start_server("--workers", "1")
    try:
        for _ in range(3):
            with connect(f"ws://127.0.0.1:{port}/api/v1/live", open_timeout=10):
                pass  # closes at once, before the auth message
        with connect(f"ws://127.0.0.1:{port}/api/v1/live", open_timeout=10) as ws:  # the server still serves
            ws.send(json.dumps({"type": "auth", "token": TOKEN}))
            assert json.loads(ws.recv(timeout=30))["type"] == "ready"
            proc.send_signal(signal.SIGTERM)  # with this live client still connected
            try:
                proc.wait(timeout=EXIT_BOUND_S)
            except subprocess.TimeoutExpired:
                pytest.fail(f"an open live socket kept the server up {EXIT_BOUND_S} s after SIGTERM")
    finally:
        _, stderr = stop(proc)
    assert "Traceback" not in stderr, stderr[-3000:]
    assert "Exception" not in stderr, stderr[-3000:]


def test_a_port_in_use_is_one_error_line_and_exit_2() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
        cmd = [sys.executable, "-m", "maskwatch", "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", "1"]
        done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2, done.stderr[-2000:]
    assert "address already in use" in done.stderr and f"127.0.0.1:{port}: the server could not start" in done.stderr
    assert "Traceback" not in done.stderr
