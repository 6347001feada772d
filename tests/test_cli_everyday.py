"""The `maskwatch` command as people use it every day (issue 12): version, quiet logs, help, set-up."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from maskwatch.version import __version__

SCENE = "maksssksksss42.jpg"


def _run(*args: str, cwd: Path | None = None, env: dict | None = None) -> subprocess.CompletedProcess:
    full_env = dict(os.environ if env is None else env)
    full_env.pop("TF_CPP_MIN_LOG_LEVEL", None)  # as a user's shell has it: unset
    return subprocess.run(
        [sys.executable, "-m", "maskwatch.cli", *args], capture_output=True, text=True, cwd=cwd, env=full_env
    )


def test_version() -> None:
    done = _run("--version")
    assert done.returncode == 0 and done.stdout.strip() == f"maskwatch {__version__}"


def test_every_command_documents_the_exit_codes() -> None:
    for command in ("detect", "classify", "evaluate", "export", "train", "report", "serve"):
        done = _run(command, "--help", env={**os.environ, "COLUMNS": "200"})
        assert done.returncode == 0, done.stderr
        assert "Exit codes: 0 every input was processed; 1 some inputs were skipped" in done.stdout, command


def test_no_native_info_lines_unless_verbose(data_dir: Path, tmp_path: Path) -> None:
    image = tmp_path / SCENE
    shutil.copy(data_dir / "voc3" / "images" / SCENE, image)
    quiet = _run("detect", str(image))
    assert quiet.returncode == 0, quiet.stderr
    noisy = [line for line in quiet.stderr.splitlines() if "INFO" in line or line.startswith(("I0000", "W0000"))]
    assert not noisy, f"INFO lines without --verbose: {noisy}"
    assert "1 image(s)" in quiet.stderr
    verbose = _run("--verbose", "detect", str(image))
    assert verbose.returncode == 0 and "1 image(s)" in verbose.stderr


def test_relative_maskwatch_home_is_resolved_once_against_the_start_folder(tmp_path: Path) -> None:
    (tmp_path / "start" / "cache").mkdir(parents=True)
    (tmp_path / "elsewhere").mkdir()
    code = (
        "import os, maskwatch\n"
        "from maskwatch.detect.model_cache import maskwatch_home\n"
        "os.chdir('../elsewhere')\n"
        "print(maskwatch_home())\n"
    )
    env = {**os.environ, "MASKWATCH_HOME": "cache"}
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path / "start", env=env, check=True
    )
    assert Path(done.stdout.strip()) == tmp_path / "start" / "cache"


@pytest.mark.parametrize("script", ["scripts/install_browser.sh"])
def test_browser_install_has_no_recommends_and_no_silent_upgrade(script: str) -> None:
    text = (Path(__file__).resolve().parents[1] / script).read_text()
    installs = [line for line in text.splitlines() if "apt-get install" in line and not line.lstrip().startswith("#")]
    assert installs and all("--no-install-recommends" in line for line in installs)
    assert all("--no-upgrade" in line for line in installs)
    assert "upgrade -y" not in text and "dist-upgrade" not in text


def test_piped_tables_keep_one_line_per_row(data_dir: Path, tmp_path: Path) -> None:
    folder = tmp_path / ("a_rather_long_folder_name_for_the_archive_of_entrance_photos_" * 2)
    folder.mkdir()
    names = ["maksssksksss42.jpg", "maksssksksss704.jpg"]
    for name in names:
        shutil.copy(data_dir / "voc3" / "images" / name, folder / f"camera_north_gate_2026_{name}")
    done = _run("detect", str(folder))  # stdout is a pipe here
    assert done.returncode == 0, done.stderr
    for name in names:
        rows = [line for line in done.stdout.splitlines() if f"camera_north_gate_2026_{name}" in line]
        assert len(rows) == 1 and str(folder) in rows[0], done.stdout


def test_video_summary_is_a_table_not_a_dict(data_dir: Path, tmp_path: Path) -> None:
    from maskwatch.detect.evaluation import load_voc_scenes
    from maskwatch.images import load_image
    from maskwatch.video.demo import make_pan_clip

    scene = next(s for s in load_voc_scenes(data_dir / "voc3") if s.image.name == SCENE)
    clip = make_pan_clip(load_image(scene.image), scene.boxes, list(scene.labels), tmp_path / "clip.mp4", frames=8)
    done = _run("detect", str(clip.path), "--save-json", str(tmp_path / "clip.jsonl"))
    assert done.returncode == 0, done.stderr
    assert "people (tracks)" in done.stdout and "frames" in done.stdout
    assert "{'type'" not in done.stdout + done.stderr and "'tracks':" not in done.stdout + done.stderr
    assert max(len(line) for line in done.stderr.splitlines() if "frame(s)" in line) < 120


def test_evaluate_on_a_missing_path_says_it_does_not_exist(tmp_path: Path) -> None:
    done = _run("evaluate", str(tmp_path / "runs" / "nope"))
    assert done.returncode == 2
    assert "does not exist" in done.stderr and "needs --data" not in done.stderr and "Traceback" not in done.stderr
