"""Server limits in isolation: saturation (503 + Retry-After), early 413, magic-number sniffing, the pool.

The saturation test is the only place a stand-in detector is used: it blocks until released, so
the test can hold the single worker busy for certain and watch the next request be refused.
"""

from __future__ import annotations

import asyncio
import io
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import supervision as sv
from PIL import Image

pytest.importorskip("fastapi")
from fastapi.testclient import TestClient  # noqa: E402

from maskwatch.serve.app import create_app  # noqa: E402
from maskwatch.serve.limits import BodyLimitMiddleware, sniff  # noqa: E402
from maskwatch.serve.pool import InferencePool  # noqa: E402
from maskwatch.serve.settings import ServeSettings  # noqa: E402


class BlockingDetector:
    """Stand-in for MaskDetector that holds its worker until `release` is set."""

    labels = ["with_mask", "without_mask", "mask_weared_incorrect"]
    classifier = None

    def __init__(self, started: threading.Event, release: threading.Event) -> None:
        self.started = started
        self.release = release

    def process(self, rgb: np.ndarray) -> sv.Detections:
        self.started.set()
        assert self.release.wait(30), "test never released the detector"
        return sv.Detections.empty()


def voc_image(data_dir: Path) -> bytes:
    return sorted((data_dir / "voc3" / "images").glob("*.jpg"))[0].read_bytes()


def test_saturated_server_answers_503_with_retry_after(data_dir: Path) -> None:
    started, release = threading.Event(), threading.Event()
    settings = ServeSettings(workers=1, queue=0, retry_after=3)
    app = create_app(settings, detector_factory=lambda: BlockingDetector(started, release))
    image = voc_image(data_dir)
    with TestClient(app) as client:
        deadline = time.monotonic() + 30
        while client.get("/readyz").status_code != 200:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        first: dict = {}
        worker = threading.Thread(target=lambda: first.update(r=client.post("/api/v1/detect", content=image)))
        worker.start()
        try:
            assert started.wait(30), "first request never reached the detector"
            busy = client.post("/api/v1/detect", content=image)
            assert busy.status_code == 503
            assert busy.json()["error"] == "busy" and "retry" in busy.json()["detail"]
            assert busy.headers["retry-after"] == "3"
            with client.websocket_connect("/api/v1/live") as ws:
                assert ws.receive_json()["type"] == "ready"
                ws.send_bytes(image)
                answer = ws.receive_json()
                assert answer["type"] == "busy" and answer["retry_after"] == 3
            assert client.get("/api/v1/stats").json()["in_flight"] == 1
        finally:
            release.set()
            worker.join(30)
        assert first["r"].status_code == 200 and first["r"].json()["detections"] == []
        assert client.post("/api/v1/detect", content=image).status_code == 200  # the slot came back
        stats = client.get("/api/v1/stats").json()
        assert stats["refused"]["busy"] == 2 and stats["in_flight"] == 0


def _run_asgi(app, headers: list[tuple[bytes, bytes]], chunks: list[bytes]) -> tuple[int, bytes, int]:
    """Send one POST through an ASGI app; returns (status, body, how many body chunks were read)."""
    reads = 0
    sent: list[dict] = []

    async def receive():
        nonlocal reads
        if reads < len(chunks):
            reads += 1
            return {"type": "http.request", "body": chunks[reads - 1], "more_body": reads < len(chunks)}
        return {"type": "http.disconnect"}

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": "/api/v1/detect", "headers": headers}
    asyncio.run(app(scope, receive, send))
    status = next(m["status"] for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return status, body, reads


async def _read_all(scope, receive, send) -> None:
    """A trivial app that reads the whole body (and would buffer anything it is given)."""
    from maskwatch.serve.errors import ApiError

    try:
        while True:
            message = await receive()
            if not message.get("more_body"):
                break
    except ApiError as exc:
        await send({"type": "http.response.start", "status": exc.status_code, "headers": []})
        await send({"type": "http.response.body", "body": exc.error.encode()})
        return
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"ok"})


def test_body_limit_refuses_declared_length_without_reading() -> None:
    app = BodyLimitMiddleware(_read_all, limit_for=lambda path: 1000)
    chunks = [b"x" * 500] * 10
    status, body, reads = _run_asgi(app, [(b"content-length", b"5000")], chunks)
    assert status == 413 and b"body_too_large" in body
    assert reads == 0, "the body was read although Content-Length already exceeded the limit"


def test_body_limit_stops_an_undeclared_stream_at_the_limit() -> None:
    app = BodyLimitMiddleware(_read_all, limit_for=lambda path: 1000)
    status, body, reads = _run_asgi(app, [], [b"x" * 400] * 50)  # 20 kB, chunked
    assert status == 413 and body == b"body_too_large"
    assert reads == 3, f"read {reads} chunks; should stop at the first one past 1000 bytes"
    ok_status, _, _ = _run_asgi(app, [], [b"x" * 400, b"x" * 400])
    assert ok_status == 200


def test_sniffing_reads_magic_numbers_of_real_files(data_dir: Path, tmp_path: Path) -> None:
    rgb = np.asarray(Image.open(io.BytesIO(voc_image(data_dir))).convert("RGB"))
    assert sniff(voc_image(data_dir)) == ("image", "jpeg")
    for fmt, kind in (("PNG", "png"), ("WEBP", "webp"), ("BMP", "bmp"), ("GIF", "gif"), ("TIFF", "tiff")):
        buffer = io.BytesIO()
        Image.fromarray(rgb).save(buffer, format=fmt)
        assert sniff(buffer.getvalue()) == ("image", kind), fmt
    import av

    path = tmp_path / "clip.mp4"
    with av.open(str(path), "w") as container:
        stream = container.add_stream("mpeg4", rate=5)
        stream.width, stream.height = 64, 48
        for _ in range(3):
            frame = av.VideoFrame.from_ndarray(rgb[:48, :64].copy(), format="rgb24")
            container.mux(stream.encode(frame))
        container.mux(stream.encode())
    assert sniff(path.read_bytes()) == ("video", "mp4")
    assert sniff(b"<html><body>hi</body></html>") is None
    assert sniff(b"") is None


def test_pool_gives_each_job_its_own_engine() -> None:
    gate = threading.Event()
    pool = InferencePool(lambda: object(), workers=2)
    try:
        first = pool.submit(lambda engine: (gate.wait(10), engine)[1])
        second = pool.submit(lambda engine: engine)
        other = second.result(10)
        gate.set()
        assert first.result(10) is not other, "two running jobs shared one engine"
        assert {id(first.result()), id(other)} == {id(e) for e in pool.engines}
    finally:
        pool.close()


def test_serve_command_is_registered() -> None:
    from typer.testing import CliRunner

    from maskwatch.cli import app

    result = CliRunner().invoke(app, ["serve", "--help"])
    assert result.exit_code == 0
    for option in ("--token", "--cors", "--workers", "--port", "--host", "--max-upload-mb"):
        assert option in result.output
