"""Synthetic `mask_weared_incorrect` faces, made from photos that exist with and without a mask.

Why: the dev data has only 29 incorrectly worn masks, far too few to learn the class. But
mask2 holds 118 *paired* photos: the same picture in without_mask and, with a mask drawing
pasted on, in with_mask (pixel-aligned, same size, same MANIFEST `group`). Where the two
differ is exactly the mask. Moving those mask pixels DOWN onto the unmasked photo uncovers
the nose (or nose and mouth), which is how people wear masks wrong.

    from maskwatch.data import synthetic
    made = synthetic.make_incorrect_dataset("../shared/data", "runs/synthetic_incorrect")
    # runs/synthetic_incorrect/mask_weared_incorrect/*.jpg + MANIFEST.csv (file, class, source, group)

The manifest gives every image the `group` of its source pair, so `group_split` keeps a
synthetic face on the same side of the split as the two photos it was made from (no leakage).
Read it like any folder dataset:
`load_folder_dataset(out, manifest=out / "MANIFEST.csv", labels=[...])`.

Command line (deterministic for a given seed)::

    maskwatch synthesize ../shared/data runs/synthetic_incorrect

The pixel operations on one pair (mask region, recolouring, the shift) are in `data/mask_shift.py`.
"""

from __future__ import annotations

import csv
import io
import logging
import os
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from maskwatch.atomic import atomic_write_text
from maskwatch.data.mask_shift import choose_shift, mask_region, recolour_mask, region_rows, shift_mask_down
from maskwatch.data.samples import DatasetError
from maskwatch.errors import BadImageError
from maskwatch.images import load_image, save_image

log = logging.getLogger(__name__)

INCORRECT = "mask_weared_incorrect"
#: A plausible mask covers this fraction of the picture; anything else is a failed difference.
AREA_RANGE = (0.01, 0.6)
#: Colours real masks come in (RGB). The pasted masks of mask2 are nearly all light blue, so a
#: model trained on them alone could learn "light blue below the nose" instead of "mask below
#: the nose"; every variant after the first gets one of these colours (shading kept).
MASK_COLOURS = (
    (236, 236, 236),  # white
    (45, 45, 50),  # black
    (130, 130, 135),  # grey
    (40, 55, 100),  # navy
    (120, 185, 200),  # surgical teal
    (225, 170, 185),  # pink
    (175, 205, 235),  # light blue (the original)
)


@dataclass(frozen=True)
class Pair:
    """One photo in both classes: the with_mask and the without_mask file, and their group."""

    with_mask: str
    without_mask: str
    group: str


@dataclass(frozen=True)
class Synthetic:
    """One generated image and where it came from."""

    path: str
    group: str
    with_mask: str
    without_mask: str
    shift: int  # pixels the mask moved down
    shift_fraction: float  # shift / mask height
    nose_y: float | None  # YuNet nose tip row of the without_mask photo, when found


# ---------------------------------------------------------------------------------------------
# Finding the pairs
# ---------------------------------------------------------------------------------------------


def find_pairs(manifest: str | os.PathLike) -> list[Pair]:
    """Groups of MANIFEST.csv holding exactly one with_mask and one without_mask file.

    Both files must have the same size: only then is the picture the same and the difference
    of the two the pasted mask (a near-duplicate group of two different photos is skipped).
    """
    manifest = Path(manifest)
    if not manifest.is_file():
        raise DatasetError(f"{manifest}: manifest not found")
    by_group: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    with open(manifest, newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        missing = {"file", "class", "group"} - set(reader.fieldnames or [])
        if missing:
            raise DatasetError(f"{manifest}: needs columns file, class, group; missing {sorted(missing)}")
        for row in reader:
            by_group[row["group"]][row["class"]].append(str(manifest.parent / row["file"]))
    pairs = []
    for group, classes in by_group.items():
        masked, bare = classes.get("with_mask", []), classes.get("without_mask", [])
        if len(masked) == 1 and len(bare) == 1:
            pairs.append(Pair(masked[0], bare[0], group))
    return sorted(pairs, key=lambda p: p.group)


# ---------------------------------------------------------------------------------------------
# Where the nose is (the pixel work itself is in data/mask_shift.py)
# ---------------------------------------------------------------------------------------------


class NoseFinder:
    """Nose tip (and mouth) rows from YuNet's five landmarks, to place the shift on the face.

    Optional: without the ONNX file the shift is a random fraction of the mask height only.
    """

    def __init__(self, weights: str | os.PathLike, score: float = 0.6) -> None:
        from maskwatch.detect.faces import YuNetDetector

        # The face is the whole crop: one pass at its own size, no enlarged pass or tiles.
        self._detector = YuNetDetector(weights, score_threshold=score, upscale=1.0, tiles=0)

    def __call__(self, rgb: np.ndarray) -> tuple[float, float] | None:
        """(nose_y, mouth_y) of the most confident face, or None if no face is found."""
        from maskwatch.detections import FACE_SCORE, LANDMARKS

        faces = self._detector.detect(rgb)
        if len(faces) == 0:
            return None
        best = int(np.argmax(faces.data[FACE_SCORE]))
        # landmarks: right eye, left eye, nose tip, right mouth corner, left mouth corner (x, y)
        points = np.asarray(faces.data[LANDMARKS][best])
        return float(points[2, 1]), float((points[3, 1] + points[4, 1]) / 2)


# ---------------------------------------------------------------------------------------------
# Making the data set
# ---------------------------------------------------------------------------------------------


def make_incorrect(
    pair: Pair,
    rng: np.random.Generator,
    nose_finder: NoseFinder | None = None,
    variants: int = 2,
    recolour: bool = True,
) -> list[tuple[np.ndarray, int, float, float | None]]:
    """`variants` synthetic images of one pair: (rgb, shift px, shift / mask height, nose row).

    The first variant keeps the mask's own colours; with `recolour` the others get a random
    colour from MASK_COLOURS.

    Raises BadImageError (naming the file) when the pair gives no plausible mask region.
    """
    masked = load_image(pair.with_mask)
    bare = load_image(pair.without_mask)
    if masked.shape != bare.shape:
        raise BadImageError(pair.with_mask, f"size {masked.shape[:2]} differs from its pair {bare.shape[:2]}")
    region = mask_region(masked, bare)
    area = float(region.mean())
    if not AREA_RANGE[0] <= area <= AREA_RANGE[1]:
        raise BadImageError(pair.with_mask, f"no plausible mask region (covers {area:.1%} of the image)")
    landmarks = nose_finder(bare) if nose_finder is not None else None
    top, bottom = region_rows(region)
    results = []
    for k in range(variants):
        shift = choose_shift(region, rng, landmarks)
        source = masked
        if recolour and k > 0:
            source = recolour_mask(masked, region, MASK_COLOURS[int(rng.integers(len(MASK_COLOURS)))])
        results.append(
            (
                shift_mask_down(source, bare, region, shift),
                shift,
                shift / (bottom - top + 1),
                None if landmarks is None else landmarks[0],
            )
        )
    return results


def make_incorrect_dataset(
    data_root: str | os.PathLike,
    out_dir: str | os.PathLike,
    *,
    manifest: str | os.PathLike | None = None,
    variants: int = 2,
    seed: int = 0,
    face_weights: str | os.PathLike | None = "auto",
    limit: int | None = None,
    recolour: bool = True,
    sheet: str | os.PathLike | None = None,
) -> list[Synthetic]:
    """Write `out_dir/mask_weared_incorrect/*.jpg` and `out_dir/MANIFEST.csv`; return what was made.

    `maskwatch synthesize DATA_ROOT OUT_DIR` is this function (same arguments). sheet: also write a
    contact sheet PNG of the first 64 images there.
    data_root: the folder holding MANIFEST.csv (paths in it are relative to it). face_weights:
    YuNet ONNX file for nose landmarks; "auto" looks where detection does ($MASKWATCH_FACE_MODEL,
    $MASKWATCH_HOME/face), None disables landmarks. A pair that gives no usable mask is
    skipped with a logged line naming the file, never an exception.
    """
    data_root = Path(data_root)
    out_dir = Path(out_dir)
    pairs = find_pairs(manifest or data_root / "MANIFEST.csv")[:limit]
    if not pairs:
        raise DatasetError(f"{data_root}: no paired with_mask/without_mask groups in the manifest")
    weights = _find_face_weights() if face_weights == "auto" else face_weights
    finder = NoseFinder(weights) if weights else None
    rng = np.random.default_rng(seed)
    class_dir = out_dir / INCORRECT
    class_dir.mkdir(parents=True, exist_ok=True)
    made: list[Synthetic] = []
    for pair in pairs:
        try:
            images = make_incorrect(pair, rng, finder, variants, recolour)
        except BadImageError as exc:
            log.warning("skipped %s: %s", exc.path if hasattr(exc, "path") else pair.with_mask, exc)
            continue
        stem = Path(pair.without_mask).stem
        for k, (rgb, shift, fraction, nose_y) in enumerate(images):
            path = class_dir / f"synth_{stem}_{k}.jpg"
            save_image(path, rgb, quality=90)
            made.append(Synthetic(str(path), pair.group, pair.with_mask, pair.without_mask, shift, fraction, nose_y))
    _write_manifest(out_dir, made)
    log.info("made %d synthetic %s images from %d pairs into %s", len(made), INCORRECT, len(pairs), class_dir)
    if sheet is not None and made:
        contact_sheet([m.path for m in made[:64]], sheet)
    return made


def _write_manifest(out_dir: Path, made: Sequence[Synthetic]) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["file", "class", "source", "group", "shift_px", "shift_fraction"])
    for m in made:
        source = f"{Path(m.with_mask).name}+{Path(m.without_mask).name}"
        rel = Path(m.path).relative_to(out_dir).as_posix()
        writer.writerow([rel, INCORRECT, source, m.group, m.shift, f"{m.shift_fraction:.3f}"])
    atomic_write_text(out_dir / "MANIFEST.csv", buffer.getvalue())


def _find_face_weights() -> Path | None:
    """The YuNet file as detection finds it (MASKWATCH_FACE_MODEL, MASKWATCH_HOME), never downloaded."""
    from maskwatch.detect.model_cache import resolve_face_model
    from maskwatch.errors import ModelFileError

    try:
        return resolve_face_model(download=False, quiet=True)
    except ModelFileError:
        log.info("YuNet weights not found; the mask shift ignores landmarks")
        return None


def contact_sheet(paths: Sequence[str | os.PathLike], out: str | os.PathLike, cell: int = 128, cols: int = 8) -> Path:
    """A grid PNG of images (to look at what was generated)."""
    from maskwatch.atomic import atomic_write_bytes
    from maskwatch.images import resize_face

    cells = [resize_face(load_image(p), (cell, cell)) for p in paths]
    rows = -(-len(cells) // cols)
    sheet = np.full((rows * cell, cols * cell, 3), 255, dtype=np.uint8)
    for i, img in enumerate(cells):
        r, c = divmod(i, cols)
        sheet[r * cell : (r + 1) * cell, c * cell : (c + 1) * cell] = img
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(sheet).save(buffer, format="PNG")
    return atomic_write_bytes(out, buffer.getvalue())
