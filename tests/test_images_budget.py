"""Decoding within a memory budget (issue 12, finding 1): the header decides, large photos are
decoded reduced, the detector never runs one huge pass, and boxes stay in full-image pixels.

Peak memory is measured in a fresh subprocess (ru_maxrss), so the figures belong to one decode.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from maskwatch.images import DECODE_PIXELS, MAX_PIXELS, read_image

#: Budgets for a 39.5 Mpx image (7900 x 5000, just under MAX_PIXELS); a PNG cannot be decoded in
#: parts, so its Pillow buffer (4 bytes/px, ~160 MB) is part of them. Before this change a whole
#: decode peaked at ~713 MB and `maskwatch.detect` on it added ~3.4 GB over the loaded models.
DECODE_BUDGET_MB = 350
DETECT_BUDGET_MB = 500
BIG = (7900, 5000)
SCENE = "maksssksksss805.jpg"  # voc3 scene with 9 annotated faces, all >= 40 px wide

_CHILD = r"""
import json, sys
import numpy as np

def peak_mb():
    # VmHWM, not ru_maxrss: Linux carries ru_maxrss over from the parent across fork + exec.
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmHWM")) / 1024

path, what = sys.argv[1], sys.argv[2]
if what == "decode":
    from maskwatch.images import read_image
    before = peak_mb()
    image = read_image(path)
    print(json.dumps({"before": before, "peak": peak_mb(), "shape": list(image.rgb.shape)}))
else:
    import maskwatch
    from maskwatch.detect.pipeline import MaskDetector
    detector = MaskDetector(quiet=True)
    detector.process(np.zeros((480, 640, 3), np.uint8))  # models loaded and warm
    before = peak_mb()
    results = maskwatch.detect(path, detector=detector, verbose=False)
    print(json.dumps({"before": before, "peak": peak_mb(), "result": results[0].to_dict()}))
"""


def _child(path: Path, what: str) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, str(path), what], capture_output=True, text=True, timeout=300, env=os.environ
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def big_files(tmp_path_factory, data_dir: Path) -> dict[str, Path]:
    """A 39.5 Mpx crowd photo (a voc3 scene enlarged) as JPEG, and a flat 39.5 Mpx PNG of a few kB."""
    folder = tmp_path_factory.mktemp("big")
    scene = Image.open(data_dir / "voc3" / "images" / SCENE).convert("RGB")
    scene.resize(BIG, Image.Resampling.BICUBIC).save(folder / "crowd.jpg", quality=90)
    Image.new("RGB", BIG, (120, 130, 140)).save(folder / "flat.png")
    return {"jpeg": folder / "crowd.jpg", "png": folder / "flat.png"}


@pytest.mark.parametrize("kind", ["jpeg", "png"])
def test_decoding_a_40_mpx_image_stays_within_budget(big_files, kind: str) -> None:
    report = _child(big_files[kind], "decode")
    height, width = report["shape"][:2]
    assert width * height <= DECODE_PIXELS
    assert width / height == pytest.approx(BIG[0] / BIG[1], rel=0.01)
    assert report["peak"] < DECODE_BUDGET_MB, f"decode peak {report['peak']:.0f} MB"


def test_detect_on_a_folder_of_40_mpx_photos_is_bounded_with_full_size_boxes(big_files, data_dir) -> None:
    from maskwatch.detect.evaluation import load_voc_scenes, match_faces

    report = _child(big_files["jpeg"].parent, "detect")  # the folder: crowd.jpg, then flat.png
    added = report["peak"] - report["before"]
    assert added < DETECT_BUDGET_MB, f"detect added {added:.0f} MB over the loaded models"
    result = report["result"]
    assert (result["width"], result["height"]) == BIG
    scene = next(s for s in load_voc_scenes(data_dir / "voc3") if s.image.name == SCENE)
    width, height = Image.open(scene.image).size
    truth = scene.boxes * np.array([BIG[0] / width, BIG[1] / height] * 2)
    boxes = np.array([face["box"] for face in result["detections"]], dtype=np.float32).reshape(-1, 4)
    scores = np.array([face["face_score"] for face in result["detections"]], dtype=np.float32)
    pairs = match_faces(boxes, scores, truth)
    # Boxes are in the 7900 x 5000 image's pixels: most annotated faces are matched at IoU >= 0.5.
    assert len(pairs) >= 0.6 * len(truth), f"{len(pairs)} of {len(truth)} faces matched"


def test_header_size_refused_before_decoding(tmp_path: Path) -> None:
    from maskwatch.errors import BadImageError

    path = tmp_path / "huge.png"
    Image.new("L", (9000, 5000)).save(path)
    with pytest.raises(BadImageError, match=f"maskwatch's limit of {MAX_PIXELS:,}"):
        read_image(path)


def test_pillow_bomb_message_quotes_maskwatchs_limit(tmp_path: Path) -> None:
    from maskwatch.errors import BadImageError

    path = tmp_path / "bomb.png"
    Image.new("1", (15000, 13000)).save(path)  # 195 Mpx: Pillow itself refuses this at open
    with pytest.raises(BadImageError) as caught:
        read_image(path)
    assert f"{MAX_PIXELS:,}" in str(caught.value) and "bomb.png" in str(caught.value)


def test_reduced_decode_keeps_exif_rotation(tmp_path: Path) -> None:
    path = tmp_path / "rotated.jpg"
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to show upright
    Image.new("RGB", (6000, 4000), (200, 10, 10)).save(path, exif=exif)
    image = read_image(path, max_decoded=3_000_000)
    assert (image.width, image.height) == (4000, 6000)
    assert image.rgb.shape[0] > image.rgb.shape[1] and image.reduced
    assert image.scale == pytest.approx(image.rgb.shape[0] / 6000, rel=0.01)


def test_small_images_decode_whole(data_dir: Path) -> None:
    path = data_dir / "voc3" / "images" / SCENE
    image = read_image(path)
    assert not image.reduced and image.scale == 1.0
    assert image.rgb.shape[:2] == (image.height, image.width)


def _count_passes(detector) -> list[tuple[int, int]]:
    sizes: list[tuple[int, int]] = []
    raw = detector._raw

    def counting(bgr):
        sizes.append(bgr.shape[:2])
        return raw(bgr)

    detector._raw = counting
    return sizes


def test_enlarged_pass_only_when_faces_need_it(data_dir: Path) -> None:
    from maskwatch.detect.faces import load_face_detector
    from maskwatch.detect.settings import DetectorSettings
    from maskwatch.images import load_image

    detector = load_face_detector(settings=DetectorSettings(upscale=2.0), quiet=True)
    sizes = _count_passes(detector)
    portrait = load_image(data_dir / "voc3" / "images" / SCENE)
    crowd = load_image(data_dir / "voc3" / "images" / "maksssksksss264.jpg")
    detector.detect(crowd)
    assert len(sizes) == 2, "a crowd scene with small faces gets the enlarged pass"
    sizes.clear()
    close_up = Image.fromarray(portrait).crop((0, 0, portrait.shape[1] // 2, portrait.shape[0] // 2))
    close_up = np.asarray(close_up.resize((800, 533)))
    found = detector.detect(close_up)
    widths = found.xyxy[:, 2] - found.xyxy[:, 0]
    assert len(found) >= 1 and widths.min() >= 48
    assert len(sizes) == 1, "large faces only: no enlarged pass"


def test_large_images_never_run_one_huge_pass() -> None:
    from maskwatch.detect.faces import load_face_detector
    from maskwatch.detect.multipass import PASS_MAX_PIXELS
    from maskwatch.detect.settings import DetectorSettings

    detector = load_face_detector(settings=DetectorSettings(upscale=2.0), quiet=True)
    sizes = _count_passes(detector)
    detector.detect(np.full((3000, 4000, 3), 90, np.uint8))
    assert len(sizes) > 1 and max(h * w for h, w in sizes) <= PASS_MAX_PIXELS
