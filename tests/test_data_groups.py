"""Near-duplicate grouping: pHash distance, transitive merging, equal stems."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageEnhance

from maskwatch import data
from maskwatch.data.groups import UnionFind, group_by_stem_and_hash, near_duplicate_pairs, phash_of


def test_pairs_within_distance_six_only() -> None:
    base = 0x0123_4567_89AB_CDEF
    hashes = np.array([base, base ^ 0b111111, base ^ 0b1111111, base ^ (0b111111 << 20)], dtype=np.uint64)
    pairs = near_duplicate_pairs(hashes)
    assert (0, 1) in pairs and (0, 3) in pairs  # 6 bits apart
    assert (0, 2) not in pairs  # 7 bits apart
    assert (1, 2) in pairs  # 1 bit apart
    assert all(i < j for i, j in pairs)
    brute = [(i, j) for i in range(4) for j in range(i + 1, 4) if bin(int(hashes[i]) ^ int(hashes[j])).count("1") <= 6]
    assert sorted(pairs) == brute


def test_near_duplicates_merge_transitively_and_stems_join() -> None:
    base = 0xFFFF_0000_FFFF_0000
    a, b = base, base ^ 0b111111  # a~b
    c = b ^ (0b111111 << 32)  # b~c, but a and c are 12 bits apart
    far = ~base & 0xFFFF_FFFF_FFFF_FFFF
    paths = ["x/a.jpg", "y/b.jpg", "x/c.jpg", "x/far.jpg", "y/far.jpg", "y/alone.jpg"]
    hashes = {"x/a.jpg": a, "y/b.jpg": b, "x/c.jpg": c, "x/far.jpg": far, "y/far.jpg": far ^ 1 << 63}
    groups = group_by_stem_and_hash(paths, hashes)
    assert groups["x/a.jpg"] == groups["y/b.jpg"] == groups["x/c.jpg"] == "a"  # smallest stem names the group
    assert groups["x/far.jpg"] == groups["y/far.jpg"] == "far"
    assert groups["y/alone.jpg"] == "alone"
    assert group_by_stem_and_hash(paths, None)["x/c.jpg"] == "c"

    sets = UnionFind(5)
    sets.union(3, 4)
    sets.union(1, 4)
    assert sets.find(1) == sets.find(3) == 1 and sets.find(0) == 0


def test_phash_groups_real_photo_with_its_edited_copy(
    tmp_path: Path, manifest_rows: list[dict], data_dir: Path
) -> None:
    files = sorted(r["file"] for r in manifest_rows if r["file"].startswith("mask2/without_mask/"))[:2]
    photo, other = (Image.open(data_dir / f).convert("RGB") for f in files)
    root = tmp_path / "ds"
    (root / "with_mask").mkdir(parents=True)
    (root / "without_mask").mkdir()
    photo.save(root / "without_mask" / "original.png")
    edited = ImageEnhance.Brightness(photo.resize((photo.width * 4 // 5, photo.height * 4 // 5))).enhance(1.1)
    edited.save(root / "with_mask" / "edited.jpg", quality=70)
    other.save(root / "with_mask" / "unrelated.jpg")
    Image.fromarray(np.zeros((40, 40, 3), np.uint8)).save(root / "with_mask" / "same_name.png")
    Image.fromarray(np.full((40, 40, 3), 255, np.uint8)).save(root / "without_mask" / "same_name.png")

    distance = phash_of(root / "without_mask" / "original.png") ^ phash_of(root / "with_mask" / "edited.jpg")
    assert bin(distance).count("1") <= 6
    ds = data.load_folder_dataset(root)
    groups = {f"{Path(s.path).parent.name}/{Path(s.path).stem}": s.group for s in ds}
    assert groups["without_mask/original"] == groups["with_mask/edited"] == "edited"
    assert groups["with_mask/unrelated"] == "unrelated"
    assert groups["with_mask/same_name"] == groups["without_mask/same_name"] == "same_name"
    splits = data.group_split(ds, val=0.3, test=0.3, seed=0)
    where: dict[str, set[str]] = {}
    for name, part in splits.items():
        for sample in part:
            where.setdefault(sample.group, set()).add(name)
    assert sum(len(part) for part in splits.values()) == len(ds) == 5
    assert len(where) == 3 and all(len(names) == 1 for names in where.values())
