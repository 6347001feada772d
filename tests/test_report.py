"""`maskwatch report RESULTS`: one self-contained HTML page from real detection results."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import maskwatch
from maskwatch.errors import SourceError
from maskwatch.report import load_results

CHROMIUM = Path("/usr/bin/chromium")
# voc3 scenes with at least one face without a mask (by the annotations), two folders of two
FOLDERS = {
    "north": ["maksssksksss787.jpg", "maksssksksss665.jpg"],
    "south": ["maksssksksss704.jpg", "maksssksksss42.jpg"],
}


@pytest.fixture(scope="module")
def image_results(tmp_path_factory, data_dir: Path) -> Path:
    root = tmp_path_factory.mktemp("report")
    for folder, names in FOLDERS.items():
        (root / "photos" / folder).mkdir(parents=True)
        for name in names:
            shutil.copy(data_dir / "voc3" / "images" / name, root / "photos" / folder / name)
    maskwatch.detect(root / "photos", save_json=root / "results.json", verbose=False)
    return root / "results.json"


@pytest.fixture(scope="module")
def video_results(tmp_path_factory, data_dir: Path) -> Path:
    from maskwatch.detect.evaluation import load_voc_scenes
    from maskwatch.images import load_image
    from maskwatch.video.demo import make_pan_clip

    root = tmp_path_factory.mktemp("report_video")
    scene = next(s for s in load_voc_scenes(data_dir / "voc3") if s.image.name == "maksssksksss787.jpg")
    make_pan_clip(load_image(scene.image), scene.boxes, list(scene.labels), root / "clip.mp4", frames=50)
    maskwatch.detect(root / "clip.mp4", save_json=root / "clip.jsonl", verbose=False)
    return root / "clip.jsonl"


def _self_contained(page: str) -> None:
    sources = re.findall(r'(?:src|href)="([^"]*)"', page)
    assert all(s.startswith("data:") for s in sources), [s[:40] for s in sources if not s.startswith("data:")]
    assert "<script" not in page and "<link" not in page


def test_image_report_counts_chart_and_worst_thumbnails(image_results: Path) -> None:
    records = json.loads(image_results.read_text())
    labels = [face["label"] for r in records for face in r["detections"]]
    path = maskwatch.report(image_results)
    assert path == image_results.with_suffix(".html")
    page = path.read_text()
    _self_contained(page)
    assert f"<b>{len(labels)}</b>" in page, "the faces card shows the number of faces in the results"
    assert f"<b>{labels.count('without_mask')} (" in page
    chart = page[page.index("<svg") : page.index("</svg>")]
    assert chart.count("<title>north:") == 2 and chart.count("<title>south:") == 2, "two bars per folder"
    worst = [r for r in records if any(f["label"] != "with_mask" for f in r["detections"])]
    assert page.count('src="data:image/jpeg;base64,') == min(len(worst), 8) > 0


def test_video_report_plots_over_time_with_frame_thumbnails(video_results: Path) -> None:
    loaded = load_results(video_results)
    assert loaded.kind == "video" and loaded.summary is not None and len(loaded.entries) == 50
    out = maskwatch.report(video_results, output=video_results.parent / "page.html", worst=3)
    page = out.read_text()
    _self_contained(page)
    assert "<polyline" in page and "time (s)" in page
    assert "people (tracks)" in page
    from maskwatch.report import _worst

    worst = _worst(loaded, 3)
    assert len(worst) >= 1 and all(w.badness[0] or w.badness[1] for w in worst)
    assert page.count('src="data:image/jpeg;base64,') == len(worst), "a thumbnail per worst frame, from the video"


def test_a_half_written_last_line_is_skipped_and_said(video_results: Path, tmp_path: Path) -> None:
    cut = tmp_path / "killed.jsonl"
    text = video_results.read_text()
    cut.write_text(text[: len(text) // 2])  # a killed run: no summary, last line cut mid-record
    loaded = load_results(cut)
    assert loaded.kind == "video" and loaded.summary is None and loaded.bad_lines <= 1
    page = maskwatch.report(cut).read_text()
    assert ("unreadable line" in page) == (loaded.bad_lines == 1)
    with open(cut, "a", encoding="utf-8") as handle:
        handle.write('\n{"type": "frame", "fr\n')  # one more cut line
    done = subprocess.run([sys.executable, "-m", "maskwatch.cli", "report", str(cut)], capture_output=True, text=True)
    assert done.returncode == 1, done.stderr  # the page is written, but a line was skipped
    assert f"{cut}: {loaded.bad_lines + 1} unreadable line(s) skipped" in done.stderr
    assert done.stdout.strip() == str(cut.with_suffix(".html"))


def test_missing_or_wrong_results_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="no such results file"):
        load_results(tmp_path / "nope.json")
    (tmp_path / "other.json").write_text('{"hello": 1}\n')
    with pytest.raises(SourceError, match="no image or frame results"):
        load_results(tmp_path / "other.json")
    done = subprocess.run(
        [sys.executable, "-m", "maskwatch.cli", "report", str(tmp_path / "nope.json")], capture_output=True, text=True
    )
    assert done.returncode == 2 and "no such results file" in done.stderr and "Traceback" not in done.stderr


@pytest.mark.browser
@pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian Chromium (/usr/bin/chromium)")
def test_report_page_renders_in_chromium(image_results: Path, artifacts_dir: Path) -> None:
    from playwright.sync_api import sync_playwright

    page_path = maskwatch.report(image_results)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"], headless=True)
        try:
            page = browser.new_page(viewport={"width": 1100, "height": 900})
            page.goto(page_path.as_uri())
            loaded = page.evaluate("[...document.images].filter(i => i.complete && i.naturalWidth > 0).length")
            assert loaded == page.evaluate("document.images.length") > 0
            assert page.locator("svg rect[fill='#ef4444']").count() >= 2
            page.screenshot(path=str(artifacts_dir / "report_images.png"), full_page=True)
        finally:
            browser.close()
