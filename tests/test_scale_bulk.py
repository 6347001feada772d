"""Bulk detection on a local Ray cluster (2 CPUs, started here, shut down after the module).

The Ray engine must give the local engine's records, resume, report bad files without failing,
and read through a pyarrow filesystem / file:// URI (the stand-in for s3:// and gs://).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import ray
from pyarrow import fs as pafs
from typer.testing import CliRunner

import maskwatch
from maskwatch.cli import app
from maskwatch.scale.bulk import detect_bulk
from maskwatch.scale.engine import read_errors, read_results

SCENES = 40


@pytest.fixture(scope="module")
def local_ray():
    ray.init(
        address="local",  # a new instance, never a cluster `ray start` left on this machine
        num_cpus=2,
        include_dashboard=False,
        object_store_memory=256 * 1024**2,
        log_to_driver=False,
        logging_level="ERROR",
    )
    yield ray
    ray.shutdown()


@pytest.fixture(scope="module")
def scenes(data_dir: Path, tmp_path_factory) -> Path:
    """40 dev scenes (crowd photos with VOC boxes) in a folder of their own, one in a sub-folder."""
    images = sorted((data_dir / "voc3" / "images").glob("*"))[:SCENES]
    folder = tmp_path_factory.mktemp("scenes")
    for i, image in enumerate(images):
        target = folder / ("sub" if i == 0 else "") / image.name
        target.parent.mkdir(exist_ok=True)
        shutil.copy(image, target)
    return folder


@pytest.fixture(scope="module")
def ray_run(local_ray, scenes: Path, tmp_path_factory):
    out = tmp_path_factory.mktemp("bulk") / "faces"
    results = maskwatch.detect(str(scenes), engine="ray", save_parquet=out, verbose=False)
    return out, results


def test_ray_engine_gives_the_local_engines_records_on_40_scenes(ray_run, scenes: Path):
    out, ray_results = ray_run
    local_results = maskwatch.detect(str(scenes), verbose=False)
    assert len(local_results) == SCENES
    assert sum(len(r["detections"]) for r in local_results) > SCENES  # crowd scenes: several faces each
    assert ray_results == local_results
    # The Parquet rows: one per face, one per image without a face, the probabilities as columns.
    table = pq.read_table(out)
    faces = sum(len(r["detections"]) for r in local_results)
    empty = sum(not r["detections"] for r in local_results)
    assert table.num_rows == faces + empty
    assert {"source", "width", "height", "x1", "label", "confidence", "face_score", "p_without_mask"} <= set(
        table.column_names
    )
    assert table.column("error").null_count == table.num_rows


def test_a_rerun_into_the_same_output_processes_nothing_new(ray_run, scenes: Path):
    out, first = ray_run
    parts = sorted(p.name for p in out.glob("*.parquet"))
    report = detect_bulk(str(scenes), out, verbose=False)
    assert (report.processed, report.already_done, report.total) == (0, SCENES, SCENES)
    assert sorted(p.name for p in out.glob("*.parquet")) == parts
    # A file list (one path a line, relative to the list, comments allowed) names the same images.
    listed = sorted(scenes.glob("*.jpg"))[:2]
    file_list = scenes.parent / "list.txt"
    file_list.write_text("# two scenes\n" + "".join(f"{scenes.name}/{p.name}\n" for p in listed))
    report = detect_bulk(str(file_list), out, verbose=False)
    assert (report.processed, report.already_done, report.total) == (0, 2, 2)
    # One new image in the folder: only that one is done. Read this time through an explicit
    # pyarrow filesystem (what an S3FileSystem with its own credentials would be).
    extra = scenes / "extra.jpg"
    shutil.copy(next(scenes.glob("*.jpg")), extra)
    try:
        report = detect_bulk(str(scenes), out, filesystem=pafs.LocalFileSystem(), verbose=False)
        assert (report.processed, report.already_done, report.errors) == (1, SCENES, [])
        assert len(read_results(out)) == SCENES + 1
        assert len(list(out.glob("*.parquet"))) == len(parts) + 1
    finally:
        extra.unlink()


def test_bad_files_are_reported_and_the_rest_are_done(local_ray, data_dir: Path, tmp_path: Path):
    folder = tmp_path / "mixed"
    folder.mkdir()
    images = sorted((data_dir / "voc3" / "images").glob("*"))[:3]
    for image in images:
        shutil.copy(image, folder / image.name)
    (folder / "corrupt.jpg").write_bytes(b"\xff\xd8\xff\xe0 this is not a JPEG at all")
    (folder / "truncated.jpg").write_bytes(images[0].read_bytes()[:300])
    out = tmp_path / "faces"
    result = CliRunner().invoke(
        app,
        ["detect", str(folder), "--engine", "ray", "--save-parquet", str(out), "--save-json", str(tmp_path / "r.json")],
    )
    assert result.exit_code == 1, result.output  # not everything could be processed
    assert "corrupt.jpg" in result.output and "truncated.jpg" in result.output
    errors = read_errors(out)
    assert sorted(Path(s).name for s in errors) == ["corrupt.jpg", "truncated.jpg"]
    done = json.loads((tmp_path / "r.json").read_text())
    assert sorted(Path(r["source"]).name for r in done) == sorted(i.name for i in images)
    # The bad files are known: a rerun does not try them (nor anything else) again.
    assert detect_bulk(str(folder), out, verbose=False).processed == 0


def test_object_store_uri_through_a_local_stand_in(local_ray, ray_run, scenes: Path, tmp_path: Path):
    """file:// goes through pyarrow.fs.FileSystem.from_uri, exactly as s3:// and gs:// do."""
    _, ray_results = ray_run
    wanted = {Path(r["source"]).name: r for r in ray_results}
    names = sorted(p.name for p in scenes.glob("*.jpg"))[:3]
    uri = f"file://{scenes}/*.jpg"
    results = maskwatch.detect(uri, engine="ray", save_parquet=f"file://{tmp_path}/out", verbose=False)
    assert [Path(r["source"]).name for r in results][:3] == names
    assert all(r["source"].startswith("file://") for r in results)
    assert len(results) == SCENES - 1  # the one in sub/ is not matched by *.jpg
    for result in results:
        assert result["detections"] == wanted[Path(result["source"]).name]["detections"]
    assert len(pq.read_table(tmp_path / "out").column("source").unique()) == SCENES - 1


def test_the_ray_engine_refuses_what_it_cannot_do(scenes: Path):
    with pytest.raises(maskwatch.errors.ConfigError, match="save-parquet"):
        maskwatch.detect(str(scenes), engine="ray", verbose=False)
    with pytest.raises(maskwatch.errors.ConfigError, match="engine"):
        maskwatch.detect(str(scenes), engine="spark")
