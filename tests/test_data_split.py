"""group_split, combine, re-sampling and describe on real slices of mask2/voc3 and on made-up datasets."""

from __future__ import annotations

import csv
import logging
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np
import pytest

from maskwatch import data
from maskwatch.data import FaceDataset, FaceSample, SkippedFile
from maskwatch.errors import ConfigError


@pytest.fixture(scope="module")
def mask2_slice(tmp_path_factory, data_dir: Path, manifest_rows: list[dict]) -> Path:
    """A few hundred real mask2 files (every paired group plus others) with their own manifest."""
    rows = [r for r in manifest_rows if r["file"].startswith("mask2/")]
    classes_per_group = defaultdict(set)
    for r in rows:
        classes_per_group[r["group"]].add(r["class"])
    paired = [r for r in rows if len(classes_per_group[r["group"]]) > 1]
    others = sorted((r for r in rows if len(classes_per_group[r["group"]]) == 1), key=lambda r: r["sha256"])[:250]
    chosen = paired + others
    root = tmp_path_factory.mktemp("slice")
    for r in chosen:
        link = root / r["file"]
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(data_dir / r["file"])
    with open(root / "MANIFEST.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(chosen[0]))
        writer.writeheader()
        writer.writerows(chosen)
    return root


def _split_of(splits: dict[str, FaceDataset]) -> dict[str, set[str]]:
    """Group id -> the split names it appears in."""
    where: dict[str, set[str]] = defaultdict(set)
    for name, ds in splits.items():
        for s in ds:
            where[s.group].add(name)
    return where


def test_mask2_slice_split_keeps_groups_and_pairs_together(mask2_slice: Path) -> None:
    ds = data.load_folder_dataset(mask2_slice / "mask2", manifest=mask2_slice / "MANIFEST.csv")
    with open(mask2_slice / "MANIFEST.csv", newline="") as handle:
        manifest = {Path(r["file"]).name: r["group"] for r in csv.DictReader(handle)}
    assert len(ds) == len(manifest) >= 400
    assert {Path(s.path).name: s.group for s in ds} == manifest
    paired = {g for g, labels in _labels_per_group(ds).items() if len(labels) == 2}
    assert len(paired) >= 100

    splits = data.group_split(ds, val=0.15, test=0.15, seed=0)
    assert set(splits) == {"train", "val", "test"}
    assert sorted(s.path for d in splits.values() for s in d) == sorted(s.path for s in ds)
    where = _split_of(splits)
    assert all(len(names) == 1 for names in where.values()), "a group straddles splits"
    for name, part in splits.items():
        assert part.labels == ds.labels
        share = len(part) / len(ds)
        assert abs(share - {"train": 0.7, "val": 0.15, "test": 0.15}[name]) < 0.05
        with_mask = part.counts()["with_mask"] / len(part)
        assert abs(with_mask - ds.counts()["with_mask"] / len(ds)) < 0.05
        pairs_here = {s.group for s in part} & paired
        assert all({s.label for s in part if s.group == g} == {"with_mask", "without_mask"} for g in pairs_here)

    again = data.group_split(ds, val=0.15, test=0.15, seed=0)
    assert all([s.path for s in again[k]] == [s.path for s in splits[k]] for k in splits)
    other = data.group_split(ds, val=0.15, test=0.15, seed=1)
    assert [s.path for s in other["val"]] != [s.path for s in splits["val"]]


def test_each_source_is_represented_in_proportion(data_dir: Path) -> None:
    """Big VOC scenes (many faces per group) must not all land in train: held-out splits need real scenes."""
    crops = data.load_folder_dataset(data_dir / "mask2", manifest=data_dir / "MANIFEST.csv")
    scenes = data.load_voc_dataset(data_dir / "voc3")
    splits = data.group_split(data.combine(crops, scenes), val=0.15, test=0.15, seed=0)
    voc_faces = {name: sum(s.source == scenes.samples[0].source for s in ds.samples) for name, ds in splits.items()}
    total = sum(voc_faces.values())
    for name, fraction in (("train", 0.7), ("val", 0.15), ("test", 0.15)):
        assert abs(voc_faces[name] / total - fraction) < 0.05, voc_faces


def _labels_per_group(ds: FaceDataset) -> dict[str, set[str]]:
    labels: dict[str, set[str]] = defaultdict(set)
    for s in ds:
        labels[s.group].add(s.label)
    return labels


def test_voc3_rare_class_lands_in_every_split(data_dir: Path) -> None:
    voc = data.load_voc_dataset(data_dir / "voc3")
    for seed in range(3):
        splits = data.group_split(voc, val=0.15, test=0.15, seed=seed)
        assert all(len(names) == 1 for names in _split_of(splits).values())
        for part in splits.values():
            assert all(n > 0 for n in part.counts().values()), part.counts()


def _synthetic(groups: dict[str, int], seed: int = 0) -> FaceDataset:
    """label -> number of single-sample groups; plus a few multi-label groups (scenes)."""
    samples = [
        FaceSample(f"{label}{i}.jpg", label, f"{label}{i}", None, "synthetic")
        for label, n in groups.items()
        for i in range(n)
    ]
    rng = np.random.default_rng(seed)
    for k in range(10):  # scenes mixing the common classes
        for j in range(int(rng.integers(2, 6))):
            samples.append(FaceSample(f"scene{k}.jpg", ["a", "b"][j % 2], f"scene{k}", (j, 0, j + 9, 9), "synthetic"))
    return FaceDataset(samples, list(groups))


@pytest.mark.parametrize("seed", range(5))
def test_rare_label_with_three_groups_reaches_every_split(seed: int) -> None:
    ds = _synthetic({"a": 150, "b": 60, "rare": 3}, seed)
    splits = data.group_split(ds, val=0.1, test=0.1, seed=seed)
    assert [splits[k].counts()["rare"] for k in data.SPLITS] == [1, 1, 1]
    assert all(len(names) == 1 for names in _split_of(splits).values())


def test_too_rare_label_warns_and_split_options(caplog) -> None:
    ds = _synthetic({"a": 50, "b": 30, "rare": 2})
    with caplog.at_level(logging.WARNING, logger="maskwatch.data"):
        splits = data.group_split(ds, val=0.2, test=0.2, seed=0)
    assert any("'rare' has only 2 group" in r.getMessage() for r in caplog.records)
    assert sum(splits[k].counts()["rare"] for k in data.SPLITS) == 2

    no_test = data.group_split(ds, val=0.2, test=0.0, seed=0)
    assert len(no_test["test"]) == 0 and no_test["test"].labels == ds.labels
    assert len(no_test["train"]) + len(no_test["val"]) == len(ds)
    for val, test in ((0.5, 0.5), (-0.1, 0.1), (1.0, 0.0)):
        with pytest.raises(ConfigError):
            data.group_split(ds, val=val, test=test)


def test_combine_keeps_first_label_order() -> None:
    first = FaceDataset(
        [FaceSample("1.jpg", "with_mask", "1")], ["with_mask", "without_mask"], [SkippedFile("x", "bad")]
    )
    second = FaceDataset(
        [FaceSample("2.jpg", "mask_weared_incorrect", "2", (1, 2, 30, 40)), FaceSample("3.jpg", "without_mask", "3")],
        ["mask_weared_incorrect", "with_mask", "without_mask"],
    )
    both = data.combine(first, second)
    assert both.labels == ["with_mask", "without_mask", "mask_weared_incorrect"]
    assert [s.path for s in both] == ["1.jpg", "2.jpg", "3.jpg"]
    assert list(both.label_indices()) == [0, 2, 1]
    assert both.skipped == first.skipped
    with pytest.raises(data.DatasetError):
        FaceDataset([FaceSample("1.jpg", "cat", "1")], ["with_mask"])


def test_sample_per_class_caps_each_class() -> None:
    ds = _synthetic({"a": 100, "b": 30, "rare": 4})
    capped = data.sample_per_class(ds, 20, seed=1)
    assert capped.counts() == {"a": 20, "b": 20, "rare": 4}
    assert len({s for s in capped.samples}) == len(capped)  # no repeats
    positions = [ds.samples.index(s) for s in capped if s.box is None]
    assert positions == sorted(positions)  # dataset order kept
    per_label = data.sample_per_class(ds, {"a": 5}, seed=1).counts()
    assert per_label["a"] == 5 and per_label["b"] == ds.counts()["b"]
    assert data.sample_per_class(ds, 20, seed=1).samples == capped.samples
    assert data.sample_per_class(ds, 20, seed=2).samples != capped.samples


def test_class_weights_are_balanced() -> None:
    ds = _synthetic({"a": 90, "b": 30, "rare": 6})
    counts = ds.counts()
    weights = data.class_weights(ds)
    assert set(weights) == {0, 1, 2}
    for i, label in enumerate(ds.labels):
        assert weights[i] == pytest.approx(len(ds) / (3 * counts[label]))
    empty_class = FaceDataset(ds.samples, [*ds.labels, "unused"])
    assert data.class_weights(empty_class)[3] == 1.0


def test_oversample_repeats_rare_samples_evenly() -> None:
    ds = _synthetic({"a": 100, "b": 30, "rare": 7})
    big = data.oversample(ds, seed=0, ratio=0.5)
    counts, largest = big.counts(), max(ds.counts().values())
    assert counts["a"] == ds.counts()["a"]
    assert counts["rare"] == int(np.ceil(0.5 * largest)) and counts["b"] >= 0.5 * largest
    repeats = Counter(s.path for s in big if s.label == "rare")
    assert set(repeats) == {s.path for s in ds if s.label == "rare"}
    assert max(repeats.values()) - min(repeats.values()) <= 1
    with pytest.raises(ConfigError):
        data.oversample(ds, ratio=0)


def test_describe_prints_counts_per_split_and_skips() -> None:
    ds = _synthetic({"a": 40, "b": 20, "rare": 3})
    ds.skipped = [SkippedFile("x.jpg", "truncated", "bad_image"), SkippedFile("y.xml", "tiny", "small_face")] * 2
    splits = data.group_split(ds, seed=0)
    text = data.describe(splits, skipped=ds.skipped)
    lines = text.splitlines()
    assert lines[0].split() == ["split", "a", "b", "rare", "total", "groups"]
    for name, part in splits.items():
        row = next(line.split() for line in lines if line.startswith(name))
        assert row[1:5] == [f"{part.counts()[k]:,}" for k in ("a", "b", "rare")] + [f"{len(part):,}"]
    total = next(line.split() for line in lines if line.startswith("total"))
    assert total[4] == f"{len(ds):,}"
    assert "skipped 4: bad_image 2, small_face 2" in text
    assert "skipped: none" in data.describe(FaceDataset(ds.samples, ds.labels))
    assert "rare 3" in ds.summary()
