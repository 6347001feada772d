"""The web page in a real browser: Debian Chromium, headless, with a fake camera fed from voc3 faces.

The test builds a .y4m clip (a grid of real voc3 face crops, two per class), starts the real server
(uvicorn on a free loopback port, with a token), opens the page, enters the token and starts the
camera. It checks that frames reach the server (server-side counter), that the page lists the
faces the pipeline finds in that frame with the same labels, that boxes are drawn in the class
colours, and that upload mode works on a phone-sized screen. Screenshots go to artifacts_dir.
"""

from __future__ import annotations

import json
import secrets
import socket
import threading
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
from defusedxml import ElementTree

from maskwatch.annotate import LABEL_COLORS

CHROMIUM = Path("/usr/bin/chromium")
pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(
        not CHROMIUM.exists(), reason="needs Debian Chromium (/usr/bin/chromium): bash scripts/install_browser.sh"
    ),
]
playwright_api = pytest.importorskip("playwright.sync_api")

TOKEN = "page-" + secrets.token_hex(8)
WIDTH, HEIGHT = 640, 480
LAUNCH_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--use-fake-ui-for-media-stream",
    "--use-fake-device-for-media-stream",
]


def _rgb(hex_colour: str) -> tuple[int, int, int]:
    return tuple(int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))


# The page must draw each class in the colour annotated images and videos use.
COLOURS = {label: _rgb(colour) for label, colour in LABEL_COLORS.items()}


def face_crops(data_dir: Path, per_class: int = 2, min_side: float = 60) -> list[np.ndarray]:
    """The first `per_class` faces of each class (>= min_side px, from different scenes), with margin."""
    from maskwatch.images import crop_box, load_image

    found: dict[str, list[np.ndarray]] = {}
    used: set[str] = set()
    for xml in sorted((data_dir / "voc3" / "annotations").glob("*.xml")):
        for obj in ElementTree.parse(xml).getroot().iter("object"):
            name = obj.find("name").text
            bb = obj.find("bndbox")
            box = [float(bb.find(k).text) for k in ("xmin", "ymin", "xmax", "ymax")]
            if min(box[2] - box[0], box[3] - box[1]) < min_side or xml.stem in used:
                continue
            if len(found.setdefault(name, [])) < per_class:
                found[name].append(crop_box(load_image(data_dir / "voc3" / "images" / f"{xml.stem}.jpg"), box, 0.5))
                used.add(xml.stem)
    return [crop for name in sorted(found) for crop in found[name]]


def grid_frame(crops: list[np.ndarray]) -> np.ndarray:
    """Crops laid out 3 x 2 on a grey 640 x 480 RGB frame, each scaled to fit its cell."""
    frame = np.full((HEIGHT, WIDTH, 3), 120, dtype=np.uint8)
    cols, rows = 3, 2
    cell_w, cell_h = WIDTH // cols, HEIGHT // rows
    for i, crop in enumerate(crops[: cols * rows]):
        scale = min((cell_w - 12) / crop.shape[1], (cell_h - 12) / crop.shape[0])
        w, h = int(crop.shape[1] * scale), int(crop.shape[0] * scale)
        resized = cv2.resize(crop, (w, h), interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
        x0 = (i % cols) * cell_w + (cell_w - w) // 2
        y0 = (i // cols) * cell_h + (cell_h - h) // 2
        frame[y0 : y0 + h, x0 : x0 + w] = resized
    return frame


def write_y4m(path: Path, rgb: np.ndarray, frames: int = 10, fps: int = 10) -> np.ndarray:
    """Write a YUV 4:2:0 y4m clip of `rgb` repeated; returns the frame as the camera delivers it."""
    yuv = cv2.cvtColor(rgb, cv2.COLOR_RGB2YUV_I420)  # planes Y, U, V stacked: (H * 3/2, W)
    with open(path, "wb") as handle:
        handle.write(f"YUV4MPEG2 W{WIDTH} H{HEIGHT} F{fps}:1 Ip A1:1 C420jpeg\n".encode())
        for _ in range(frames):
            handle.write(b"FRAME\n")
            handle.write(yuv.tobytes())
    return cv2.cvtColor(yuv, cv2.COLOR_YUV2RGB_I420)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def server():
    """The real app under uvicorn in a thread; yields (base URL, app)."""
    import uvicorn

    from maskwatch.serve.app import create_app
    from maskwatch.serve.settings import ServeSettings

    app = create_app(ServeSettings(token=TOKEN, workers=1, queue=1))
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", ws_max_size=11 * 1024 * 1024)
    uv = uvicorn.Server(config)
    thread = threading.Thread(target=uv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 120
    while not (uv.started and app.state.runtime.ready):
        assert thread.is_alive() and time.monotonic() < deadline, "server did not start"
        assert app.state.runtime.load_error is None, app.state.runtime.load_error
        time.sleep(0.1)
    yield f"http://127.0.0.1:{port}", app
    uv.should_exit = True
    thread.join(30)


@pytest.fixture(scope="module")
def camera_clip(tmp_path_factory, data_dir: Path) -> tuple[Path, np.ndarray]:
    crops = face_crops(data_dir)
    assert len(crops) >= 4, "voc3 should have at least two large faces per common class"
    path = tmp_path_factory.mktemp("camera") / "faces.y4m"
    return path, write_y4m(path, grid_frame(crops))


@pytest.fixture(scope="module")
def browser(camera_clip):
    with playwright_api.sync_playwright() as pw:
        args = [*LAUNCH_ARGS, f"--use-file-for-fake-video-capture={camera_clip[0]}"]
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), args=args, headless=True)
        yield chromium
        chromium.close()


def iou(a, b) -> float:
    x1, y1 = max(a[0], b[0]), max(a[1], b[1])
    x2, y2 = min(a[2], b[2]), min(a[3], b[3])
    inter = max(0.0, x2 - x1) * max(0.0, y2 - y1)
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def test_live_mode_draws_labelled_boxes(server, browser, camera_clip, artifacts_dir: Path) -> None:
    from maskwatch.classifier import Classifier
    from maskwatch.serve.engine import live_detector

    base, app = server
    _, camera_rgb = camera_clip
    detector = live_detector(Classifier.load(threads=1))  # what the server runs on live frames
    expected = detector.records(detector.process(camera_rgb))
    # Clear faces must all be shown; their labels must agree unless the model is near a tie,
    # where the browser's JPEG re-encoding of the frame may tip it either way.
    clear = [d for d in expected if d["face_score"] >= 0.8]
    assert len(clear) >= 3, f"the pipeline finds too few faces in the 6-face test frame: {expected}"

    page = browser.new_page(viewport={"width": 1000, "height": 900})
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    frames_before = app.state.runtime.stats.live_frames
    page.goto(base + "/")
    page.click("summary")
    page.fill("#token", TOKEN)
    page.dispatch_event("#token", "change")
    page.click("#start")
    page.wait_for_function("Number(document.querySelector('#detections').dataset.frames) >= 3", timeout=90_000)
    assert page.get_attribute("#status", "data-state") == "live"
    assert app.state.runtime.stats.live_frames - frames_before >= 3, "frames did not reach the server"

    shown = page.eval_on_selector_all(
        "#detections li",
        "els => els.map(e => ({label: e.dataset.label, confidence: Number(e.dataset.confidence),"
        " box: e.dataset.box.split(',').map(Number)}))",
    )
    labels = app.state.runtime.engine.labels
    assert all(d["label"] in labels for d in shown)
    for want in clear:
        match = max(shown, key=lambda d: iou(d["box"], want["box"]), default=None)
        assert match is not None and iou(match["box"], want["box"]) >= 0.5, f"face {want['box']} not shown: {shown}"
        if want["confidence"] >= 0.65:
            assert match["label"] == want["label"], f"{want['box']}: page says {match['label']}, pipeline {want}"
    assert any(d["confidence"] >= 0.65 for d in clear), f"no face with a clear label to compare: {clear}"
    counts = {label: int(page.inner_text(f"#count-{label}")) for label in COLOURS}
    assert sum(counts.values()) == len(shown)

    # Boxes are drawn on the overlay in the class colour (left edge, half way down).
    samples = page.evaluate(
        """(dets) => { const c = document.querySelector('#overlay'); const ctx = c.getContext('2d');
             return dets.map(d => Array.from(ctx.getImageData(Math.round(d.box[0]),
               Math.round((d.box[1] + d.box[3]) / 2), 1, 1).data)); }""",
        shown,
    )
    for det, (r, g, b, a) in zip(shown, samples, strict=True):
        if det["label"] in COLOURS:
            assert a > 0 and np.abs(np.array([r, g, b]) - COLOURS[det["label"]]).max() <= 8, (det, (r, g, b, a))
    fps = float(page.inner_text("#fps"))
    assert fps > 0
    # The chart of faces over time follows the answered frames.
    assert int(page.get_attribute("#live-chart", "data-points")) >= 3
    page.screenshot(path=str(artifacts_dir / "serve_live.png"), full_page=True)
    page.click("#stop")
    assert not errors, errors
    page.close()


def write_clip(path: Path, scene_path: Path, frames: int = 8, fps: int = 4) -> None:
    """A 2 s MP4 panning across a voc3 scene."""
    import av

    from maskwatch.images import load_image

    rgb = load_image(scene_path)
    height, width = (rgb.shape[0] // 2) * 2, (rgb.shape[1] // 2) * 2 - 40
    with av.open(str(path), "w") as container:
        stream = container.add_stream("mpeg4", rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        for i in range(frames):
            shift = 5 * i
            crop = np.ascontiguousarray(rgb[:height, shift : shift + width])
            container.mux(stream.encode(av.VideoFrame.from_ndarray(crop, format="rgb24")))
        container.mux(stream.encode())


def test_upload_mode_on_a_phone_screen(server, browser, data_dir: Path, artifacts_dir: Path, tmp_path: Path) -> None:
    import httpx

    base, _ = server
    image = sorted((data_dir / "voc3" / "images").glob("*.jpg"))[0]
    api = httpx.post(
        base + "/api/v1/detect",
        files={"file": (image.name, image.read_bytes())},
        headers={"Authorization": f"Bearer {TOKEN}"},
        timeout=60,
    ).json()
    context = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True)
    page = context.new_page()
    page.goto(base + "/")
    page.click("#tab-upload")
    page.click("summary")
    page.fill("#token", TOKEN)
    page.dispatch_event("#token", "change")
    page.set_input_files("#file", str(image))  # choosing the file starts detection: no click
    page.wait_for_selector("#raw:not([hidden])", timeout=60_000)
    result = json.loads(page.text_content("#result-json"))
    assert result["detections"] == api["detections"] and result["source"] == image.name
    rows = page.eval_on_selector_all("#result-table tbody tr", "rows => rows.map(r => r.dataset.label)")
    assert rows == [d["label"] for d in api["detections"]], "the table lists every face with its label"
    assert page.get_attribute("#download-media", "download") == f"{image.stem}_annotated.jpg"
    assert page.get_attribute("#download-json", "download") == f"{image.stem}.json"
    assert page.is_visible("#result-canvas")
    # Scaled to the page: the picture is as wide as its column, not its pixel width.
    shown = page.evaluate("document.querySelector('#result-canvas').getBoundingClientRect().width")
    column = page.evaluate("document.querySelector('#result').clientWidth")
    assert abs(shown - column) <= 1
    # Nothing wider than the phone screen.
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.screenshot(path=str(artifacts_dir / "serve_upload_phone.png"), full_page=True)

    # A short video: annotated MP4 shown in the page and offered for download with its JSONL.
    clip = tmp_path / "street.mp4"
    write_clip(clip, image)
    page.set_input_files("#file", str(clip))
    page.wait_for_selector("#result-video:not([hidden])", timeout=90_000)
    assert page.get_attribute("#download-media", "download") == "street_annotated.mp4"
    assert page.get_attribute("#download-json", "download") == "street.jsonl"
    page.wait_for_selector("#raw:not([hidden])", timeout=30_000)
    video = json.loads(page.text_content("#result-json"))
    assert video["frames"] == 8 and video["video_url"].endswith("annotated.mp4")
    assert int(page.get_attribute("#upload-chart", "data-points")) == 8, "one chart point per frame"
    page.wait_for_function("document.querySelector('#result-video').readyState >= 1", timeout=30_000)
    assert page.evaluate("document.querySelector('#result-video').videoWidth") > 0  # the MP4 plays here
    page.screenshot(path=str(artifacts_dir / "serve_upload_video_phone.png"), full_page=True)

    # Without the token the page says what to do instead of failing silently.
    page.fill("#token", "")
    page.dispatch_event("#token", "change")
    page.click("#send")
    page.wait_for_selector("#upload-status.error", timeout=30_000)
    assert "token" in page.inner_text("#upload-status").lower()
    context.close()


def test_docs_page_renders_the_openapi_definition(server, browser, artifacts_dir: Path) -> None:
    """/docs after Swagger UI's scripts ran: the detect operation is listed, no render error."""
    base, _ = server
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(base + "/docs")
    page.wait_for_selector(".opblock-summary-path[data-path='/api/v1/detect']", timeout=60_000)
    text = page.inner_text("body")
    assert "Unable to render this definition" not in text
    assert "/api/v1/video" in text and "/api/v1/classify" in text
    page.screenshot(path=str(artifacts_dir / "serve_docs.png"))
    assert not errors, errors
    page.close()


def test_upload_view_of_a_crowd_photo_on_a_desktop(server, browser, data_dir: Path, artifacts_dir: Path) -> None:
    """The scene with the most faces: result fills the column, every face in the table, favicon set."""
    from defusedxml import ElementTree as ET

    xmls = sorted((data_dir / "voc3" / "annotations").glob("*.xml"))
    crowd = max(xmls[:200], key=lambda x: len(ET.parse(x).getroot().findall("object")))
    image = data_dir / "voc3" / "images" / f"{crowd.stem}.jpg"
    base, _ = server
    page = browser.new_page(viewport={"width": 1100, "height": 900})
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(base + "/")
    assert page.get_attribute("link[rel=icon]", "href") == "/favicon.ico"
    page.click("#tab-upload")
    page.click("summary")
    page.fill("#token", TOKEN)
    page.dispatch_event("#token", "change")
    page.set_input_files("#file", str(image))
    page.wait_for_selector("#raw:not([hidden])", timeout=60_000)
    result = json.loads(page.text_content("#result-json"))
    assert len(result["detections"]) >= 5, "the crowd scene should have many faces"
    assert page.eval_on_selector_all("#result-table tbody tr", "rows => rows.length") == len(result["detections"])
    shown = page.evaluate("document.querySelector('#result-canvas').getBoundingClientRect().width")
    assert shown > 2 * result["width"] * 0.9 or shown >= 900, f"shown at {shown} px for a {result['width']} px photo"
    page.screenshot(path=str(artifacts_dir / "serve_upload_crowd.png"), full_page=True)
    assert not errors, errors
    page.close()
