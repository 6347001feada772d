"""The YuNet model cache: resolve order, download (good / corrupt / silent server), offline fallback.

Downloads go to a local http.server in a thread; MASKWATCH_HOME points into tmp_path, so nothing
leaves the machine and the shared weights are never written.
"""

from __future__ import annotations

import hashlib
import http.server
import logging
import socket
import threading
from pathlib import Path

import pytest

from maskwatch.detect import model_cache
from maskwatch.detect.faces import YuFaceDetector, YuNetDetector, load_face_detector
from maskwatch.detect.model_cache import YUNET, cache_path, download_file, resolve_face_model
from maskwatch.errors import ModelFileError
from maskwatch.home import maskwatch_home


@pytest.fixture(scope="module")
def yunet_bytes(weights_dir: Path) -> bytes:
    data = (weights_dir / "face" / YUNET.file).read_bytes()
    assert hashlib.sha256(data).hexdigest() == YUNET.sha256
    return data


@pytest.fixture(scope="module")
def server(yunet_bytes: bytes):
    """http://127.0.0.1:PORT serving /good.onnx (the real file), /corrupt.onnx (one byte flipped), 404 else."""
    corrupt = bytearray(yunet_bytes)
    corrupt[len(corrupt) // 2] ^= 0xFF
    files = {"/good.onnx": yunet_bytes, "/corrupt.onnx": bytes(corrupt)}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server API)
            body = files.get(self.path)
            if body is None:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args) -> None:
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def silent_server():
    """A TCP port that accepts connections (kernel backlog) but never sends a byte."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    yield f"http://127.0.0.1:{sock.getsockname()[1]}/model.onnx"
    sock.close()


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("MASKWATCH_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("MASKWATCH_FACE_MODEL", raising=False)
    monkeypatch.delenv("MASKWATCH_OFFLINE", raising=False)
    return tmp_path / "home"


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_download_good_file_lands_in_cache(home: Path, server: str, yunet_bytes: bytes) -> None:
    path = resolve_face_model(url=f"{server}/good.onnx", quiet=True)
    assert path == home / "face" / YUNET.file == cache_path()
    assert path.read_bytes() == yunet_bytes
    assert _leftovers(home / "face") == [YUNET.file]  # no temp file left behind
    # Second call: served from the cache, the (now dead) URL is not touched.
    assert resolve_face_model(url="http://127.0.0.1:9/never", quiet=True) == path
    assert isinstance(YuNetDetector(path), YuNetDetector)


def test_corrupt_download_is_deleted_and_reported(home: Path, server: str) -> None:
    with pytest.raises(ModelFileError, match="sha256") as info:
        resolve_face_model(url=f"{server}/corrupt.onnx", quiet=True)
    assert "deleted" in str(info.value)
    assert _leftovers(home / "face") == []


def test_silent_server_times_out_with_clear_error(home: Path, silent_server: str) -> None:
    with pytest.raises(ModelFileError, match="timed out") as info:
        download_file(silent_server, home / "face" / YUNET.file, YUNET.sha256, timeout=0.5, quiet=True)
    assert silent_server in str(info.value)
    assert _leftovers(home / "face") == []


def test_http_error_names_url(home: Path, server: str) -> None:
    with pytest.raises(ModelFileError, match="HTTP 404"):
        resolve_face_model(url=f"{server}/missing.onnx", quiet=True)


def test_resolve_order_explicit_then_env_then_cache(
    home: Path, tmp_path: Path, yunet_bytes: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    cached = home / "face" / YUNET.file
    cached.parent.mkdir(parents=True)
    cached.write_bytes(yunet_bytes)
    from_env = tmp_path / "env.onnx"
    from_env.write_bytes(yunet_bytes)
    explicit = tmp_path / "explicit.onnx"
    explicit.write_bytes(yunet_bytes)

    assert resolve_face_model(download=False) == cached
    monkeypatch.setenv("MASKWATCH_FACE_MODEL", str(from_env))
    assert resolve_face_model(download=False) == from_env
    assert resolve_face_model(explicit, download=False) == explicit
    # An explicit path that does not exist is an error, not a silent switch to another file.
    with pytest.raises(ModelFileError, match="not found"):
        resolve_face_model(tmp_path / "nope.onnx")
    with pytest.raises(ModelFileError, match="not found"):
        load_face_detector(tmp_path / "nope.onnx")


def test_cached_file_with_wrong_checksum_is_fetched_again(home: Path, server: str, yunet_bytes: bytes) -> None:
    cached = home / "face" / YUNET.file
    cached.parent.mkdir(parents=True)
    cached.write_bytes(b"not a model")
    assert resolve_face_model(url=f"{server}/good.onnx", quiet=True) == cached
    assert cached.read_bytes() == yunet_bytes


def test_offline_without_file_falls_back_to_yuface(
    home: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("MASKWATCH_OFFLINE", "1")
    with pytest.raises(ModelFileError, match="downloads are off"):
        resolve_face_model()
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="maskwatch"):
        detector = load_face_detector()
    assert isinstance(detector, YuFaceDetector)
    notice = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(notice) == 1 and "yuface" in notice[0].getMessage()


def test_without_the_yuface_wheel_yunet_is_the_detector(
    home: Path, weights_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Python 3.12, macOS, ARM boards: yuface has no wheel there, so YuNet must do (and say so)."""
    import sys

    monkeypatch.setitem(sys.modules, "yuface", None)  # `import yuface` now raises ImportError
    monkeypatch.setenv("MASKWATCH_OFFLINE", "1")
    with pytest.raises(ModelFileError) as caught:
        load_face_detector()
    message = str(caught.value)
    assert "downloads are off" in message and "yuface detector is not installed" in message
    assert "MASKWATCH_HOME" in message
    with pytest.raises(ModelFileError, match="not installed"):
        load_face_detector("yuface")
    cached = cache_path(YUNET)
    cached.parent.mkdir(parents=True, exist_ok=True)
    cached.write_bytes((weights_dir / "face" / YUNET.file).read_bytes())
    assert isinstance(load_face_detector(), YuNetDetector)


def test_unreachable_download_falls_back_to_yuface(
    home: Path, monkeypatch: pytest.MonkeyPatch, silent_server: str, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(model_cache, "YUNET", model_cache.ModelFile(YUNET.file, silent_server, YUNET.sha256))
    monkeypatch.setattr(model_cache, "DOWNLOAD_TIMEOUT", 0.5)
    with caplog.at_level(logging.WARNING, logger="maskwatch"):
        detector = load_face_detector()
    assert isinstance(detector, YuFaceDetector)
    err = "\n".join(r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING)
    assert "timed out" in err and "yuface" in err
    assert _leftovers(home / "face") == []


def test_default_home_is_per_user_cache(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("MASKWATCH_HOME", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    home = maskwatch_home()
    assert home.name == "maskwatch"
    if home.is_relative_to(tmp_path):  # Linux (XDG); macOS/Windows use their own cache folder
        assert home == tmp_path / "xdg" / "maskwatch"
