"""Synthetic mask_weared_incorrect faces: mask found where the pair differs, moved down, group kept."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from maskwatch.data import combine, group_split, load_folder_dataset
from maskwatch.data.mask_shift import mask_region, recolour_mask, region_rows, shift_mask_down
from maskwatch.data.synthetic import (
    INCORRECT,
    NoseFinder,
    find_pairs,
    make_incorrect,
    make_incorrect_dataset,
)
from maskwatch.images import load_image


@pytest.fixture(scope="module")
def pairs(data_dir):
    return find_pairs(Path(data_dir) / "MANIFEST.csv")


def test_find_pairs_are_same_photo_in_both_classes(pairs, manifest_rows, data_dir):
    assert len(pairs) >= 100  # the README documents 118 paired groups
    by_file = {row["file"]: row for row in manifest_rows}
    for pair in pairs[:10]:
        masked = by_file[Path(pair.with_mask).relative_to(data_dir).as_posix()]
        bare = by_file[Path(pair.without_mask).relative_to(data_dir).as_posix()]
        assert masked["class"] == "with_mask" and bare["class"] == "without_mask"
        assert masked["group"] == bare["group"] == pair.group


def test_mask_region_recovers_a_pasted_patch():
    rng = np.random.default_rng(1)
    bare = rng.integers(60, 200, size=(160, 120, 3), dtype=np.uint8)
    masked = bare.copy()
    masked[90:140, 25:95] = (200, 225, 240)  # a flat light-blue "mask"
    region = mask_region(masked, bare)
    truth = np.zeros(bare.shape[:2], dtype=bool)
    truth[90:140, 25:95] = True
    iou = (region & truth).sum() / (region | truth).sum()
    assert iou > 0.85
    assert region_rows(region)[0] in range(86, 95)


def test_shift_moves_mask_pixels_down_and_keeps_the_rest():
    bare = np.full((100, 80, 3), 100, dtype=np.uint8)
    masked = bare.copy()
    masked[50:80, 20:60] = 250
    region = np.zeros((100, 80), dtype=bool)
    region[50:80, 20:60] = True
    out = shift_mask_down(masked, bare, region, shift=12, feather=0)
    assert (out[:62] == bare[:62]).all()  # above the moved mask: the bare photo (the nose shows)
    assert (out[62:92, 20:60] == 250).all()  # the mask, 12 rows lower
    assert (out[:, :20] == bare[:, :20]).all()


def test_recolour_keeps_shading_and_the_rest_of_the_face():
    rng = np.random.default_rng(2)
    rgb = rng.integers(0, 256, size=(60, 50, 3), dtype=np.uint8)
    rgb[30:50, 10:40] = (180, 210, 240)
    rgb[45:50, 10:40] = (90, 105, 120)  # a fold: half as bright
    region = np.zeros((60, 50), dtype=bool)
    region[30:50, 10:40] = True
    out = recolour_mask(rgb, region, (40, 40, 40))
    assert (out[~region] == rgb[~region]).all()
    bright, dark = out[35, 20].astype(int), out[47, 20].astype(int)
    assert np.abs(bright - 40).max() <= 3  # the median brightness gets the new colour
    assert dark.mean() < bright.mean() * 0.7  # the fold stays darker


def test_made_faces_differ_from_both_sources_and_keep_the_upper_face(pairs):
    rng = np.random.default_rng(0)
    for pair in pairs[:3]:
        masked, bare = load_image(pair.with_mask), load_image(pair.without_mask)
        region = mask_region(masked, bare)
        top, bottom = region_rows(region)
        made = make_incorrect(pair, rng, nose_finder=None, variants=3)
        assert not np.array_equal(made[1][0], made[2][0])
        for rgb, shift, fraction, _ in made:
            assert rgb.shape == bare.shape and rgb.dtype == np.uint8
            assert 0.2 <= fraction <= 0.5 and shift == round(fraction * (bottom - top + 1))
            diff_bare = np.abs(rgb.astype(int) - bare).mean()
            diff_masked = np.abs(rgb.astype(int) - masked).mean()
            assert diff_bare > 1.0 and diff_masked > 1.0
            # everything above the moved mask's top edge is the without_mask photo, untouched
            assert np.array_equal(rgb[: top + shift], bare[: top + shift])
            # where the original mask was but the moved one is not, the face shows again
            uncovered = region.copy()
            uncovered[shift:] &= ~region[:-shift]
            assert np.abs(rgb[uncovered].astype(int) - bare[uncovered]).mean() < 3


def test_dataset_keeps_source_groups_and_never_leaks_across_splits(pairs, tmp_path, weights_dir, data_dir):
    weights = Path(weights_dir) / "face" / "face_detection_yunet_2023mar.onnx"
    made = make_incorrect_dataset(data_dir, tmp_path, limit=8, face_weights=weights)
    assert len(made) == 16
    assert any(m.nose_y is not None for m in made)  # YuNet found the nose on these photos
    with open(tmp_path / "MANIFEST.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    expected = {p.group for p in pairs[:8]}
    assert {r["group"] for r in rows} == expected and {r["class"] for r in rows} == {INCORRECT}

    labels = ["with_mask", "without_mask", INCORRECT]
    synth = load_folder_dataset(tmp_path, manifest=tmp_path / "MANIFEST.csv", labels=labels)
    assert {s.group for s in synth.samples} == expected
    mask2 = load_folder_dataset(data_dir / "mask2", manifest=data_dir / "MANIFEST.csv", labels=labels)
    sources = combine(mask2.subset([i for i, s in enumerate(mask2.samples) if s.group in expected]), synth)
    splits = group_split(sources, val=0.25, test=0.25, seed=3)
    for group in expected:
        holding = [name for name, ds in splits.items() if any(s.group == group for s in ds.samples)]
        assert len(holding) == 1, f"group {group} is in {holding}"


def test_nose_finder_finds_the_nose_above_the_mouth(pairs, weights_dir):
    finder = NoseFinder(Path(weights_dir) / "face" / "face_detection_yunet_2023mar.onnx")
    found = [finder(load_image(p.without_mask)) for p in pairs[:5]]
    found = [f for f in found if f is not None]
    assert found
    assert all(nose < mouth for nose, mouth in found)


def test_synthesize_command_is_the_function(data_dir, tmp_path):
    """`maskwatch synthesize` (no argparse of its own) writes what make_incorrect_dataset writes."""
    from PIL import Image
    from typer.testing import CliRunner

    from maskwatch.cli import app

    out = tmp_path / "synth"
    args = ["synthesize", str(data_dir), str(out), "--limit", "2", "--face-weights", "none"]
    result = CliRunner().invoke(app, [*args, "--sheet", str(tmp_path / "sheet.png")])
    assert result.exit_code == 0, result.output + repr(result.exception)
    made = sorted((out / INCORRECT).glob("*.jpg"))
    assert len(made) == 4 and "4 images" in result.output
    assert Image.open(tmp_path / "sheet.png").size == (8 * 128, 128)
