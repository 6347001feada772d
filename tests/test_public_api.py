"""The beginner's API: three lines detect faces with the shipped model, and never load TensorFlow."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

SCRIPT = """
import json, sys
import maskwatch
results = maskwatch.detect(sys.argv[1], verbose=False)
heavy = sorted(m for m in ("tensorflow", "keras", "torch") if m in sys.modules)
print(json.dumps({"results": [r.to_dict() for r in results], "heavy": heavy}))
"""


def test_three_line_detect_uses_no_training_stack(data_dir: Path) -> None:
    image = data_dir / "voc3" / "images" / "maksssksksss104.jpg"
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(image)], capture_output=True, text=True, timeout=300, check=True
    )
    payload = json.loads(out.stdout.strip().splitlines()[-1])
    assert payload["heavy"] == [], f"inference imported {payload['heavy']}"
    (result,) = payload["results"]
    assert result["source"].endswith("maksssksksss104.jpg")
    assert len(result["detections"]) >= 2  # this scene has several annotated faces
    labels = {"with_mask", "without_mask", "mask_weared_incorrect"}
    assert all(face["label"] in labels for face in result["detections"])
