"""The AIZOO face-mask SSD (../shared/peers/aizoo), run the way its authors do, for side-by-side benches.

Benchmark-only: never imported by the package. The weights are data; the anchor generation, box
decoding and NMS below are our own code, written from the facts in ../shared/peers/README.md:
260x260 RGB input / 255 (whole frame resized, no letterbox), 5972 SSD anchors on 33/17/9/5/3 maps,
variances (0.1, 0.1, 0.2, 0.2), score = max class score > 0.5, one class-agnostic NMS at IoU 0.4.
Class 0 = Mask, 1 = NoMask; there is no "worn incorrectly" class.

Why a second process: the model is a Caffe model, and OpenCV 5 (the project's OpenCV) removed the
Caffe importer. The authors run it on OpenCV 4's DNN module, so the peer runs here in a worker
process on an interpreter with OpenCV 4 (`bench/aizoo_peer.py --setup` makes one in
/tmp/maskwatch-peer-venv). `AizooPeer` (the bench side) sends it RGB frames over a pipe; the worker
times only its own work (blob + forward + decode + NMS), as the bench times maskwatch's.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

PEER_DIR = Path(__file__).resolve().parents[2] / "shared" / "peers" / "aizoo"
PEER_PYTHON = Path(os.environ.get("AIZOO_PYTHON", "/tmp/maskwatch-peer-venv/bin/python"))
INPUT = 260
FEATURE_MAPS = (33, 17, 9, 5, 3)
SIZES = ((0.04, 0.056), (0.08, 0.11), (0.16, 0.22), (0.32, 0.45), (0.64, 0.72))
RATIOS = (1.0, 0.62, 0.42)
VARIANCES = np.array([0.1, 0.1, 0.2, 0.2], dtype=np.float32)
SCORE = 0.5
NMS_IOU = 0.4
#: The peer's two classes, in maskwatch's label names.
LABELS = ["with_mask", "without_mask"]


def anchors() -> np.ndarray:
    """(5972, 4) anchors as (cx, cy, w, h), normalised: maps in order, cells row-major, 4 per cell."""
    out = []
    for size, sizes in zip(FEATURE_MAPS, SIZES, strict=True):
        centres = (np.arange(size, dtype=np.float32) + 0.5) / size
        cx, cy = np.meshgrid(centres, centres)  # (rows = y, cols = x), flattened row-major
        shapes = [(s, RATIOS[0]) for s in sizes] + [(sizes[0], r) for r in RATIOS[1:]]
        wh = np.array([(s * np.sqrt(r), s / np.sqrt(r)) for s, r in shapes], dtype=np.float32)  # (4, 2)
        cells = np.stack([cx.ravel(), cy.ravel()], axis=1)  # (size*size, 2)
        per_map = np.concatenate(
            [np.repeat(cells[:, None, :], len(wh), axis=1), np.broadcast_to(wh, (len(cells), len(wh), 2))], axis=2
        )
        out.append(per_map.reshape(-1, 4))
    return np.concatenate(out).astype(np.float32)


class _Network:
    """Worker side: the OpenCV 4 network plus our decoding; `__call__(rgb) -> (boxes, scores, classes)`."""

    def __init__(self, folder: Path, threads: int) -> None:
        import cv2

        cv2.setNumThreads(threads)
        self.cv2 = cv2
        self.net = cv2.dnn.readNet(
            str(folder / "face_mask_detection.prototxt"), str(folder / "face_mask_detection.caffemodel")
        )
        self.anchors = anchors()

    def __call__(self, rgb: np.ndarray):
        cv2 = self.cv2
        height, width = rgb.shape[:2]
        self.net.setInput(cv2.dnn.blobFromImage(rgb, 1 / 255.0, (INPUT, INPUT)))
        loc, cls = self.net.forward(["loc_branch_concat", "cls_branch_concat"])
        loc, cls = loc.reshape(-1, 4), cls.reshape(-1, 2)
        scores = cls.max(axis=1)
        keep = scores > SCORE
        if not keep.any():
            return np.zeros((0, 4), np.float32), np.zeros(0, np.float32), np.zeros(0, int)
        loc, cls, scores, a = loc[keep] * VARIANCES, cls[keep], scores[keep], self.anchors[keep]
        cx = a[:, 0] + loc[:, 0] * a[:, 2]
        cy = a[:, 1] + loc[:, 1] * a[:, 3]
        w = a[:, 2] * np.exp(loc[:, 2])
        h = a[:, 3] * np.exp(loc[:, 3])
        boxes = np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], axis=1).clip(0.0, 1.0)
        boxes = boxes * np.array([width, height, width, height], dtype=np.float32)
        xywh = np.column_stack([boxes[:, :2], boxes[:, 2:] - boxes[:, :2]])
        kept = np.asarray(cv2.dnn.NMSBoxes(xywh.tolist(), scores.tolist(), SCORE, NMS_IOU), dtype=int).reshape(-1)
        return boxes[kept].astype(np.float32), scores[kept].astype(np.float32), cls[kept].argmax(axis=1)


def _worker(threads: int) -> None:
    """Loop: read a frame header line + raw RGB bytes on stdin, answer one JSON line on stdout."""
    net = _Network(PEER_DIR, threads)
    stdin, stdout = sys.stdin.buffer, sys.stdout
    stdout.write(json.dumps({"ready": True, "opencv": net.cv2.__version__}) + "\n")
    stdout.flush()
    while True:
        header = stdin.readline()
        if not header:
            return
        height, width = (int(v) for v in header.split())
        rgb = np.frombuffer(stdin.read(height * width * 3), dtype=np.uint8).reshape(height, width, 3)
        started, cpu = time.perf_counter(), time.process_time()
        boxes, scores, classes = net(rgb)
        ms = (time.perf_counter() - started) * 1000
        cpu_ms = (time.process_time() - cpu) * 1000
        answer = {
            "ms": ms,
            "cpu_ms": cpu_ms,
            "boxes": boxes.round(1).tolist(),
            "scores": scores.tolist(),
            "classes": classes.tolist(),
        }
        stdout.write(json.dumps(answer) + "\n")
        stdout.flush()


class AizooPeer:
    """Bench side: `process(rgb) -> sv.Detections` (xyxy px, confidence, class_id, class_name, face_score).

    `last_ms` / `last_cpu_ms`: the worker's own wall / CPU time (all its threads) for the last frame.
    """

    name = "aizoo"

    def __init__(self, threads: int = 2, python: Path = PEER_PYTHON) -> None:
        if not python.is_file():
            raise FileNotFoundError(
                f"{python}: no OpenCV 4 interpreter for the peer; run python bench/aizoo_peer.py --setup"
            )
        self._proc = subprocess.Popen(
            [str(python), str(Path(__file__).resolve()), "--worker", str(threads)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        ready = json.loads(self._proc.stdout.readline() or b"{}")
        if not ready.get("ready"):
            raise RuntimeError("AIZOO peer worker did not start")
        self.opencv = ready["opencv"]
        self.labels = list(LABELS)
        self.classifier = None
        self.last_ms = self.last_cpu_ms = 0.0

    def __repr__(self) -> str:
        return f"AIZOO SSD-260 (OpenCV {self.opencv} DNN)"

    def process(self, rgb: np.ndarray):
        import supervision as sv

        rgb = np.ascontiguousarray(rgb, dtype=np.uint8)
        self._proc.stdin.write(f"{rgb.shape[0]} {rgb.shape[1]}\n".encode() + rgb.tobytes())
        self._proc.stdin.flush()
        answer = json.loads(self._proc.stdout.readline())
        self.last_ms = float(answer["ms"])
        self.last_cpu_ms = float(answer["cpu_ms"])
        classes = np.asarray(answer["classes"], dtype=int)
        det = sv.Detections(
            xyxy=np.asarray(answer["boxes"], dtype=np.float32).reshape(-1, 4),
            confidence=np.asarray(answer["scores"], dtype=np.float32),
            class_id=classes,
        )
        det.data["class_name"] = np.array([LABELS[c] for c in classes], dtype=object)
        det.data["face_score"] = det.confidence.copy()
        return det

    __call__ = process

    def close(self) -> None:
        if self._proc.poll() is None:
            self._proc.stdin.close()
            self._proc.wait(timeout=10)


def setup(python: Path = PEER_PYTHON) -> None:
    """Make the peer's interpreter: a venv with OpenCV 4 (from PyPI) and numpy."""
    venv = python.parents[1]
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run([str(python), "-m", "pip", "install", "-q", "opencv-python-headless<5", "numpy<2.3"], check=True)


if __name__ == "__main__":
    if len(sys.argv) >= 2 and sys.argv[1] == "--worker":
        _worker(int(sys.argv[2]) if len(sys.argv) > 2 else 2)
    elif len(sys.argv) >= 2 and sys.argv[1] == "--setup":
        setup()
    else:
        print(__doc__)
