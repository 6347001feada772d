"""Peak memory of decoding and detecting on large images, each case in a fresh process.

    python bench/bench_memory.py [--scene ../shared/data/voc3/images/maksssksksss805.jpg]

Table 1: peak RSS (MB) of reading a 39.5 Mpx JPEG (a voc3 crowd scene enlarged) and a flat
39.5 Mpx PNG of a few kB (the hostile upload of issue 12): whole (`load_image`) and within the
budget (`read_image`, which decodes above images.DECODE_PIXELS reduced).
Table 2: RSS added by one face-detector call on a grey image of N Mpx: the raw network on the
whole array (what the detector did before PASS_MAX_PIXELS) and `detect()` (shrunk pass + tiles).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from tables import print_table  # bench/tables.py (the script's folder is on sys.path)

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_SCENE = ROOT.parent / "shared" / "data" / "voc3" / "images" / "maksssksksss805.jpg"
BIG = (7900, 5000)

_DECODE = r"""
import json, sys, time

def peak_mb():
    # VmHWM, not ru_maxrss: Linux carries ru_maxrss over from the parent across fork + exec.
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmHWM")) / 1024

from maskwatch.images import load_image, read_image
path, how = sys.argv[1], sys.argv[2]
before = peak_mb()
started = time.perf_counter()
rgb = load_image(path) if how == "whole" else read_image(path).rgb
print(json.dumps({"before": before, "peak": peak_mb(),
                  "seconds": time.perf_counter() - started, "shape": list(rgb.shape)}))
"""

_DETECT = r"""
import json, sys, time

def peak_mb():
    # VmHWM, not ru_maxrss: Linux carries ru_maxrss over from the parent across fork + exec.
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmHWM")) / 1024

import numpy as np
from maskwatch.detect.faces import load_face_detector
from maskwatch.detect.settings import DetectorSettings
mpx, how = float(sys.argv[1]), sys.argv[2]
detector = load_face_detector(settings=DetectorSettings(upscale=1.0), quiet=True)
width = int((mpx * 1e6 * 4 / 3) ** 0.5)
rgb = np.full((width * 3 // 4, width, 3), 128, np.uint8)
detector.detect(np.zeros((240, 320, 3), np.uint8))
before = peak_mb()
started = time.perf_counter()
if how == "one pass":
    detector._raw(np.ascontiguousarray(rgb[..., ::-1]))
else:
    detector.detect(rgb)
print(json.dumps({"before": before, "peak": peak_mb(),
                  "seconds": time.perf_counter() - started}))
"""


def _run(script: str, *args: str) -> dict:
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src") + os.pathsep + os.environ.get("PYTHONPATH", ""))
    done = subprocess.run([sys.executable, "-c", script, *args], capture_output=True, text=True, env=env, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scene", type=Path, default=DEFAULT_SCENE)
    args = parser.parse_args()
    os.environ.setdefault("MASKWATCH_HOME", str(ROOT.parent / "shared" / "weights"))
    from PIL import Image

    with tempfile.TemporaryDirectory() as folder:
        jpeg, png = Path(folder) / "crowd.jpg", Path(folder) / "flat.png"
        Image.open(args.scene).convert("RGB").resize(BIG, Image.Resampling.BICUBIC).save(jpeg, quality=90)
        Image.new("RGB", BIG, (120, 130, 140)).save(png)
        rows = []
        for path in (jpeg, png):
            for how in ("whole", "budget"):
                r = _run(_DECODE, str(path), how)
                shape = f"{r['shape'][1]}x{r['shape'][0]}"
                size = f"{path.stat().st_size / 1e6:.2f} MB"
                rows.append([path.suffix[1:], size, how, shape, f"{r['peak']:.0f}", f"{r['seconds']:.2f}"])
    print_table(
        f"Reading a {BIG[0]}x{BIG[1]} image ({BIG[0] * BIG[1] / 1e6:.1f} Mpx), fresh process each",
        ["file", "size", "decode", "decoded", "peak RSS MB", "s"],
        rows,
    )
    rows = []
    for mpx in (1.0, 2.5, 8.0, 12.0):
        for how in ("one pass", "detect()"):
            r = _run(_DETECT, str(mpx), how)
            rows.append([f"{mpx:g}", how, f"{r['peak'] - r['before']:.0f}", f"{r['seconds']:.2f}"])
    print_table("Face detector on an N Mpx image: RSS added by one call", ["Mpx", "call", "added MB", "s"], rows)


if __name__ == "__main__":
    main()
