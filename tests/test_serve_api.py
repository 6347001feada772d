"""The REST API on real data: correct JSON for voc3 scenes and mask2 crops, and every refusal.

One app (real default model, one worker, a token, small limits) serves the whole module; the
saturation test with a slow stand-in detector lives in test_serve_limits.py.
"""

from __future__ import annotations

import io
import json
import logging
import secrets
import struct
import threading
import time
import zlib
from pathlib import Path

import numpy as np
import pytest
from defusedxml import ElementTree
from PIL import Image

pytest.importorskip("fastapi")
from fastapi.testclient import TestClient  # noqa: E402

from maskwatch.serve.app import RedactTokenFilter, create_app  # noqa: E402
from maskwatch.serve.settings import ServeSettings  # noqa: E402

TOKEN = "tok-" + secrets.token_hex(12)
MAX_BODY = 512 * 1024
MAX_PIXELS = 1_000_000
ALLOWED_ORIGIN = "https://allowed.example"


def wait_ready(client: TestClient, timeout: float = 120.0) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        response = client.get("/readyz")
        if response.status_code == 200:
            return response.json()
        body = response.json()
        assert body["error"] == "not_ready", body  # a load failure should fail the test at once
        time.sleep(0.1)
    pytest.fail("models did not load in time")


@pytest.fixture(scope="module")
def client():
    settings = ServeSettings(
        token=TOKEN,
        workers=1,
        queue=1,
        max_body_bytes=MAX_BODY,
        max_pixels=MAX_PIXELS,
        cors_origins=(ALLOWED_ORIGIN,),
        max_video_bytes=2 * 1024 * 1024,
        max_video_seconds=3.0,
    )
    with TestClient(create_app(settings)) as c:
        wait_ready(c)
        c.headers["Authorization"] = f"Bearer {TOKEN}"
        yield c


@pytest.fixture(scope="module")
def mask_detector():
    """The same pipeline, run in-process, as the reference for what the API must answer."""
    from maskwatch.classifier import Classifier
    from maskwatch.detect import MaskDetector

    return MaskDetector(classifier=Classifier.load(threads=1), quiet=True)


def voc_boxes(xml_path: Path) -> tuple[np.ndarray, list[str]]:
    root = ElementTree.parse(xml_path).getroot()
    boxes, names = [], []
    for obj in root.iter("object"):
        bb = obj.find("bndbox")
        boxes.append([float(bb.find(k).text) for k in ("xmin", "ymin", "xmax", "ymax")])
        names.append(obj.find("name").text)
    return np.array(boxes, dtype=np.float32).reshape(-1, 4), names


@pytest.fixture(scope="module")
def scene(data_dir: Path) -> tuple[Path, np.ndarray]:
    """A voc3 scene with at least three annotated faces of 30 px or more (first in name order)."""
    for xml in sorted((data_dir / "voc3" / "annotations").glob("*.xml")):
        boxes, _ = voc_boxes(xml)
        big = boxes[(boxes[:, 2] - boxes[:, 0] >= 30) & (boxes[:, 3] - boxes[:, 1] >= 30)]
        if len(big) >= 3:
            return data_dir / "voc3" / "images" / f"{xml.stem}.jpg", boxes
    pytest.fail("no voc3 scene with three faces of 30 px")


def iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU of every box in a against every box in b (xyxy)."""
    x1 = np.maximum(a[:, None, 0], b[None, :, 0])
    y1 = np.maximum(a[:, None, 1], b[None, :, 1])
    x2 = np.minimum(a[:, None, 2], b[None, :, 2])
    y2 = np.minimum(a[:, None, 3], b[None, :, 3])
    inter = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    return inter / (area_a[:, None] + area_b[None, :] - inter)


def assert_refusal(response, status: int, error: str) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert body["error"] == error, body
    assert isinstance(body["detail"], str) and len(body["detail"]) > 10
    assert TOKEN not in response.text
    return body


def png_declaring(width: int, height: int) -> bytes:
    """A tiny PNG whose header declares width x height pixels (a decompression bomb's header)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    # A few compressed rows of zeros: the file stays tiny whatever the declared size.
    idat = zlib.compress(b"\x00" * (1 + 3 * min(width, 4096)) * 4, 9)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


# ----------------------------------------------------------------------------- correct answers


def test_health_and_readiness_need_no_token(client: TestClient) -> None:
    bare = {"Authorization": ""}
    assert client.get("/healthz", headers=bare).json() == {"status": "ok"}
    ready = client.get("/readyz", headers=bare)
    assert ready.status_code == 200 and ready.json()["status"] == "ready" and ready.json()["workers"] == 1


def test_detect_voc3_scene_matches_pipeline(client: TestClient, scene, mask_detector) -> None:
    from maskwatch.images import load_image
    from maskwatch.records import face_records

    path, gt_boxes = scene
    labels = client.get("/api/v1/model").json()["labels"]
    response = client.post("/api/v1/detect", files={"file": (path.name, path.read_bytes(), "image/jpeg")})
    assert response.status_code == 200, response.text
    result = response.json()
    rgb = load_image(path)
    assert result["source"] == path.name
    assert (result["width"], result["height"]) == (rgb.shape[1], rgb.shape[0])
    detections = result["detections"]
    assert detections, "no face found on a scene with three large annotated faces"
    for det in detections:
        assert det["label"] in labels
        assert set(det["probabilities"]) == set(labels)
        assert det["confidence"] == pytest.approx(max(det["probabilities"].values()), abs=1e-4)
        assert det["probabilities"][det["label"]] == pytest.approx(det["confidence"], abs=1e-4)
        assert sum(det["probabilities"].values()) == pytest.approx(1.0, abs=1e-2)
        x1, y1, x2, y2 = det["box"]
        assert -1 <= x1 < x2 <= result["width"] + 1 and -1 <= y1 < y2 <= result["height"] + 1
        assert 0 < det["face_score"] <= 1
    overlaps = iou(np.array([d["box"] for d in detections], dtype=np.float32), gt_boxes)
    assert (overlaps.max(axis=0) >= 0.3).sum() >= 2, "fewer than two annotated faces were found"
    # The API answers exactly what the Python pipeline gives for the same file, in the same
    # shape as `maskwatch detect --save-json` (the Python API maskwatch.detect mirrors the CLI).
    assert detections == [face.to_dict() for face in face_records(mask_detector.process(rgb), mask_detector.labels)]
    import maskwatch

    saved = maskwatch.detect(str(path))[0]
    assert set(saved) == set(result) and saved["detections"] == detections


def test_raw_body_equals_multipart_and_annotate_draws_boxes(client: TestClient, scene) -> None:
    path, _ = scene
    data = path.read_bytes()
    multipart = client.post("/api/v1/detect", files={"file": ("x.jpg", data)}).json()
    raw = client.post(f"/api/v1/detect?filename={path.name}", content=data)
    assert raw.status_code == 200
    assert raw.json()["detections"] == multipart["detections"]
    assert raw.json()["source"] == path.name

    annotated = client.post("/api/v1/detect?annotate=true", content=data)
    assert annotated.status_code == 200 and annotated.headers["content-type"] == "image/jpeg"
    assert int(annotated.headers["x-maskwatch-faces"]) == len(multipart["detections"])
    drawn = np.asarray(Image.open(io.BytesIO(annotated.content)).convert("RGB"), dtype=np.int16)
    original = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"), dtype=np.int16)
    assert drawn.shape == original.shape
    x1, y1, x2, y2 = (int(round(v)) for v in multipart["detections"][0]["box"])
    edge = np.abs(drawn[y1 : y2 + 1, x1 : x1 + 2] - original[y1 : y2 + 1, x1 : x1 + 2]).mean()
    assert edge > 20, "no box outline drawn where a face was detected"


def test_classify_mask2_crops_matches_classifier(client: TestClient, data_dir: Path, manifest_rows) -> None:
    from maskwatch.classifier import Classifier
    from maskwatch.images import load_image

    clf = Classifier.load(threads=1)
    rows = [r for r in manifest_rows if r["class"] == "with_mask"][:2] + [
        r for r in manifest_rows if r["class"] == "without_mask"
    ][:2]
    for row in rows:
        path = data_dir / row["file"]
        response = client.post("/api/v1/classify", files={"file": (path.name, path.read_bytes())})
        assert response.status_code == 200, response.text
        result = response.json()
        expected = clf.predict([load_image(path)])[0]
        assert result["label"] == clf.labels[int(expected.argmax())]
        assert result["confidence"] == pytest.approx(float(expected.max()), abs=1e-3)
        assert list(result["probabilities"]) == clf.labels
        assert sum(result["probabilities"].values()) == pytest.approx(1.0, abs=1e-2)


def test_model_endpoint_describes_loaded_model(client: TestClient) -> None:
    import maskwatch
    from maskwatch.classifier import Classifier

    clf = Classifier.load(threads=1)
    info = client.get("/api/v1/model").json()
    assert info["labels"] == clf.labels
    assert info["input_size"] == list(clf.input_size)
    assert info["model"]["file"] == clf.path.name and info["model"]["runtime"] == clf.runtime
    assert info["model"]["backbone"] == clf.info.backbone
    assert info["versions"]["maskwatch"] == maskwatch.__version__
    assert info["versions"]["runtime"]["version"]
    assert info["face_detector"]["name"]
    assert "source_checkpoint" not in info["model"]


def test_openapi_documents_every_route(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    for path in ("/api/v1/detect", "/api/v1/classify", "/api/v1/model", "/api/v1/video", "/healthz", "/readyz"):
        assert path in spec["paths"], path
    body = spec["paths"]["/api/v1/detect"]["post"]["requestBody"]["content"]
    assert {"multipart/form-data", "application/octet-stream"} <= set(body)
    assert "413" in spec["paths"]["/api/v1/detect"]["post"]["responses"]
    docs = client.get("/docs")
    assert docs.status_code == 200 and "swagger" in docs.text.lower()
    # The docs page works offline: its scripts come from this server, not a CDN.
    assert "cdn." not in docs.text and "/docs-static/swagger-ui-bundle.js" in docs.text
    assert client.get("/docs-static/swagger-ui-bundle.js").status_code == 200
    page = client.get("/")
    assert page.status_code == 200 and "/static/app.js" in page.text
    assert client.get("/static/app.js").status_code == 200
    icon = client.get("/favicon.ico")
    assert icon.status_code == 200 and icon.headers["content-type"].startswith("image/")


def test_metrics_in_prometheus_format(client: TestClient, scene, mask_detector) -> None:
    from prometheus_client.parser import text_string_to_metric_families

    from maskwatch.images import load_image

    def scrape() -> dict[str, list]:
        response = client.get("/metrics", headers={"Authorization": ""})  # no token: scrapers have none
        assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
        return {family.name: family.samples for family in text_string_to_metric_families(response.text)}

    def value(samples: list, name: str, **labels) -> float:
        return sum(s.value for s in samples if s.name == name and labels.items() <= s.labels.items())

    before = scrape()
    assert client.post("/api/v1/detect", content=scene[0].read_bytes()).status_code == 200
    expected = mask_detector.records(mask_detector.process(load_image(scene[0])))
    after = scrape()
    route = {"route": "/api/v1/detect"}
    requests = "maskwatch_requests_total"
    assert value(after["maskwatch_requests"], requests, status="200", **route) == (
        value(before.get("maskwatch_requests", []), requests, status="200", **route) + 1
    )
    hist = after["maskwatch_request_seconds"]
    assert value(hist, "maskwatch_request_seconds_count", **route) >= 1
    assert any(s.name == "maskwatch_request_seconds_bucket" and s.labels.get("le") == "+Inf" for s in hist)
    for label in {d["label"] for d in expected}:
        grown = value(after["maskwatch_faces"], "maskwatch_faces_total", label=label) - value(
            before.get("maskwatch_faces", []), "maskwatch_faces_total", label=label
        )
        assert grown == sum(d["label"] == label for d in expected), label
    for gauge in ("maskwatch_queue_depth", "maskwatch_jobs_running", "maskwatch_pixels_in_flight"):
        assert gauge in after
    assert "maskwatch_busy_refusals" in after


# ----------------------------------------------------------------------------- refusals


def test_token_is_required_on_api(client: TestClient, scene) -> None:
    data = scene[0].read_bytes()
    missing = client.post("/api/v1/detect", content=data, headers={"Authorization": ""})
    assert_refusal(missing, 401, "unauthorized")
    assert missing.headers["www-authenticate"].startswith("Bearer")
    wrong = client.post("/api/v1/detect", content=data, headers={"Authorization": "Bearer " + TOKEN[:-1] + "x"})
    assert_refusal(wrong, 401, "unauthorized")
    assert_refusal(client.get("/api/v1/model", headers={"Authorization": "Basic abc"}), 401, "unauthorized")


def test_declared_oversize_body_is_refused(client: TestClient) -> None:
    body = b"\xff\xd8\xff\xe0" + b"\0" * MAX_BODY
    detail = assert_refusal(client.post("/api/v1/detect", content=body), 413, "body_too_large")["detail"]
    assert f"{MAX_BODY:,}" in detail


def test_streamed_oversize_body_is_cut_off(client: TestClient) -> None:
    chunks = (b"\xff\xd8\xff\xe0" + b"\0" * (64 * 1024 - 4) for _ in range(40))  # 2.5 MB, no Content-Length
    assert_refusal(client.post("/api/v1/detect", content=chunks), 413, "body_too_large")


def test_decompression_bombs_are_refused_before_decoding(client: TestClient) -> None:
    huge = png_declaring(60_000, 60_000)
    assert len(huge) < 1000
    assert_refusal(client.post("/api/v1/detect", files={"file": ("bomb.png", huge)}), 413, "too_many_pixels")
    above_limit = png_declaring(2000, 2000)  # 4 MP: fine for Pillow, above this server's 1 MP
    detail = assert_refusal(client.post("/api/v1/classify", content=above_limit), 413, "too_many_pixels")["detail"]
    assert "2000x2000" in detail


def test_type_is_sniffed_from_bytes_not_name(client: TestClient) -> None:
    pdf = b"%PDF-1.4\n" + b"1 0 obj << /Type /Catalog >> endobj\n" * 20
    response = client.post("/api/v1/detect", files={"file": ("face.jpg", pdf, "image/jpeg")})
    assert_refusal(response, 415, "unsupported_media_type")
    mp4 = b"\x00\x00\x00\x18ftypmp42" + b"\0" * 200
    body = assert_refusal(
        client.post("/api/v1/detect", content=mp4, headers={"Content-Type": "image/jpeg"}),
        415,
        "unsupported_media_type",
    )
    assert "/api/v1/video" in body["detail"]


def test_empty_and_missing_uploads(client: TestClient) -> None:
    assert_refusal(client.post("/api/v1/detect", content=b""), 400, "empty_body")
    assert_refusal(client.post("/api/v1/detect", files={"file": ("face.jpg", b"")}), 400, "empty_body")
    assert_refusal(client.post("/api/v1/detect", files={"image": ("face.jpg", b"abc")}), 400, "missing_file")


def test_corrupt_image_is_422(client: TestClient, scene) -> None:
    truncated = scene[0].read_bytes()[:700]
    assert_refusal(client.post("/api/v1/detect", content=truncated), 422, "bad_image")


def test_burst_of_bad_requests_leaves_server_healthy(client: TestClient, scene) -> None:
    before = client.get("/api/v1/stats").json()
    bad = [
        (b"", 400),
        (b"not an image at all", 415),
        (png_declaring(50_000, 50_000), 413),
        (scene[0].read_bytes()[:500], 422),
        (b"\xff\xd8\xff" + b"\0" * (MAX_BODY + 10), 413),
    ]
    for i in range(150):
        data, status = bad[i % len(bad)]
        assert client.post("/api/v1/detect", content=data).status_code == status
    after = client.get("/api/v1/stats").json()
    refused = sum(after["refused"].values()) - sum(before["refused"].values())
    assert refused == 150
    assert after["in_flight"] == 0
    good = client.post("/api/v1/detect", content=scene[0].read_bytes())
    assert good.status_code == 200 and good.json()["detections"]


def test_cors_allows_only_configured_origin(client: TestClient) -> None:
    preflight = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization"}
    ok = client.options("/api/v1/detect", headers={"Origin": ALLOWED_ORIGIN, **preflight})
    assert ok.status_code == 200 and ok.headers["access-control-allow-origin"] == ALLOWED_ORIGIN
    evil = client.options("/api/v1/detect", headers={"Origin": "https://evil.example", **preflight})
    assert evil.headers.get("access-control-allow-origin") != "https://evil.example"
    simple = client.get("/api/v1/model", headers={"Origin": ALLOWED_ORIGIN})
    assert simple.headers["access-control-allow-origin"] == ALLOWED_ORIGIN


# ----------------------------------------------------------------------------- live WebSocket


def test_websocket_needs_token_then_answers_frames(client: TestClient, scene) -> None:
    with client.websocket_connect("/api/v1/live") as ws:
        ws.send_json({"type": "auth", "token": "wrong"})
        assert ws.receive_json()["error"] == "unauthorized"
    from maskwatch.classifier import Classifier
    from maskwatch.images import load_image
    from maskwatch.serve.engine import live_detector

    data = scene[0].read_bytes()
    live = live_detector(Classifier.load(threads=1))  # live frames: video settings (no enlarged pass)
    rest = {"detections": live.records(live.process(load_image(scene[0])))}
    with client.websocket_connect("/api/v1/live") as ws:
        ws.send_json({"type": "auth", "token": TOKEN})
        ready = ws.receive_json()
        assert ready["type"] == "ready" and ready["labels"] == client.get("/api/v1/model").json()["labels"]
        ws.send_bytes(data)
        answer = ws.receive_json()
        assert answer["type"] == "detections" and answer["frame"] == 1
        assert answer["detections"] == rest["detections"]
        assert sum(answer["counts"].values()) == len(rest["detections"])
        ws.send_bytes(b"GIF89a-not-really")
        refused = ws.receive_json()
        assert refused["type"] == "error" and refused["error"] in ("bad_image", "unsupported_media_type")
        ws.send_bytes(data)  # a bad frame does not end the session
        assert ws.receive_json()["type"] == "detections"
    with client.websocket_connect(f"/api/v1/live?token={TOKEN}") as ws:
        assert ws.receive_json()["type"] == "ready"


def test_token_never_reaches_the_logs(client: TestClient, scene, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    client.post("/api/v1/detect", content=scene[0].read_bytes())
    client.post("/api/v1/detect", content=b"junk")
    with client.websocket_connect(f"/api/v1/live?token={TOKEN}") as ws:
        ws.receive_json()
    assert TOKEN not in caplog.text
    # uvicorn's access line for a WebSocket URL carrying the token is redacted.
    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5", "GET", f"/api/v1/live?token={TOKEN}&x=1", "1.1", 101),
        None,
    )
    RedactTokenFilter().filter(record)
    assert TOKEN not in record.getMessage() and "token=***" in record.getMessage()


def test_settings_hide_token_and_read_environment() -> None:
    settings = ServeSettings.from_env(
        {"MASKWATCH_TOKEN": TOKEN, "MASKWATCH_CORS": "https://a.example/, https://b.example"}
    )
    assert settings.token == TOKEN and TOKEN not in repr(settings)
    assert settings.cors_origins == ("https://a.example", "https://b.example")
    assert ServeSettings.from_env({"MASKWATCH_TOKEN": TOKEN}, token="flag").token == "flag"


def test_concurrent_clients_all_answered(client: TestClient, scene) -> None:
    """More clients than workers + queue: every request ends as 200 or 503 busy, nothing else."""
    data = scene[0].read_bytes()
    statuses: list[int] = []
    lock = threading.Lock()

    def one() -> None:
        response = client.post("/api/v1/detect", content=data)
        if response.status_code == 503:
            assert response.json()["error"] == "busy" and int(response.headers["retry-after"]) >= 1
        with lock:
            statuses.append(response.status_code)

    threads = [threading.Thread(target=one) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(statuses) == 6 and set(statuses) <= {200, 503} and 200 in statuses
    assert client.get("/api/v1/stats").json()["in_flight"] == 0


# ----------------------------------------------------------------------------- video upload


def write_clip(path: Path, scene_path: Path, seconds: float, fps: int = 5) -> int:
    """A short MP4 panning across a real voc3 scene (faces move, so tracking has work to do)."""
    import av

    from maskwatch.images import load_image

    rgb = load_image(scene_path)
    height, width = (rgb.shape[0] // 2) * 2, (rgb.shape[1] // 2) * 2 - 40
    frames = int(seconds * fps)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("mpeg4", rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        for i in range(frames):
            shift = int(40 * i / max(1, frames - 1))
            frame = av.VideoFrame.from_ndarray(
                np.ascontiguousarray(rgb[:height, shift : shift + width]), format="rgb24"
            )
            container.mux(stream.encode(frame))
        container.mux(stream.encode())
    return frames


def test_video_upload_gives_annotated_mp4_and_jsonl(client: TestClient, scene, tmp_path: Path) -> None:
    import av

    pytest.importorskip("maskwatch.video")
    clip = tmp_path / "clip.mp4"
    frames = write_clip(clip, scene[0], seconds=2.0)
    labels = client.get("/api/v1/model").json()["labels"]
    response = client.post("/api/v1/video", files={"file": ("street.mp4", clip.read_bytes(), "video/mp4")})
    assert response.status_code == 200, response.text
    result = response.json()
    assert result["frames"] == frames and result["source"] == "street.mp4"
    assert set(result["counts"]) == set(labels) and result["people"] >= 1

    mp4 = client.get(result["video_url"])
    assert mp4.status_code == 200 and mp4.headers["content-type"] == "video/mp4"
    (tmp_path / "out.mp4").write_bytes(mp4.content)
    with av.open(str(tmp_path / "out.mp4")) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == "h264"
        assert sum(1 for _ in container.decode(stream)) == frames
    lines = [json.loads(line) for line in client.get(result["jsonl_url"]).text.splitlines()]
    frame_lines = [line for line in lines if line["type"] == "frame"]
    assert len(frame_lines) == frames
    assert any(line["detections"] for line in frame_lines)
    assert {d["label"] for line in frame_lines for d in line["detections"]} <= set(labels)

    assert_refusal(client.get("/api/v1/results/0123456789abcdef/annotated.mp4"), 404, "not_found")
    assert_refusal(client.get(f"/api/v1/results/{result['id']}/..%2Fsecret"), 404, "not_found")
    no_token = client.get(result["video_url"], headers={"Authorization": ""})
    assert_refusal(no_token, 401, "unauthorized")


def test_video_limits(client: TestClient, scene, tmp_path: Path) -> None:
    pytest.importorskip("maskwatch.video")
    long_clip = tmp_path / "long.mp4"
    write_clip(long_clip, scene[0], seconds=5.0, fps=4)
    body = assert_refusal(client.post("/api/v1/video", content=long_clip.read_bytes()), 413, "video_too_long")
    assert "trim" in body["detail"]
    image = scene[0].read_bytes()
    assert_refusal(client.post("/api/v1/video", files={"file": ("x.mp4", image)}), 415, "unsupported_media_type")
    assert_refusal(client.post("/api/v1/video", content=b""), 400, "empty_body")
    broken = b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 5000
    assert_refusal(client.post("/api/v1/video", content=broken), 422, "bad_video")
    oversize = b"\x00\x00\x00\x18ftypmp42" + b"\x00" * (2 * 1024 * 1024)
    assert_refusal(client.post("/api/v1/video", content=oversize), 413, "body_too_large")
