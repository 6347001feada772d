"""What every scene source (VOC, YOLO, whole photos) shares: the skip signal, image size, box checks.

A scene is a whole photo with face boxes in it. The boxes come from a file written by someone
else (VOC XML, YOLO text) or from the face detector (whole photos), so each box is checked the
same way before it becomes a sample: clipped to the real image size (read from the header, EXIF
rotation applied, because annotation tools often get the size wrong) and dropped when too small
to carry a label. Every dropped box or file is reported with its reason, never raised.
The annotated formats (VOC, YOLO) differ only in how their files are read: `scene_loader` builds
each one's public loader from its reader, with the same parameters and the same rules for a box
(`SceneBoxes`), so the formats cannot drift apart.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence
from pathlib import Path

from maskwatch.data.labels import LabelMap, map_label, order_labels
from maskwatch.data.samples import DatasetError, FaceDataset, FaceSample, SkippedFile

log = logging.getLogger(__name__)

#: Default smallest face side (pixels) kept. Below 8 px a face (10 px with the 10 % margin) is
#: a few blurred blocks once resized to the model input, and its label is mostly guesswork;
#: in voc3 this drops ~6 % of the boxes (87 of 1,559) but only 1 of the 29 rare
#: mask_weared_incorrect ones, whereas 10 px would drop 11 %.
MIN_FACE = 8

_EXIF_ORIENTATION = 0x0112

Box = tuple[float, float, float, float]


class Skip(Exception):
    """This file (or one box of it) cannot be used; carries the kind and the human reason."""

    def __init__(self, kind: str, reason: str) -> None:
        super().__init__(reason)
        self.kind = kind
        self.reason = reason


def image_size(path: Path) -> tuple[int, int]:
    """(width, height) of an image as load_image returns it (EXIF rotation applied), header only."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as img:
            width, height = img.size
            if img.getexif().get(_EXIF_ORIENTATION) in (5, 6, 7, 8):
                width, height = height, width
    except Image.DecompressionBombError:
        raise Skip("bad_image", f"image {path.name} has more pixels than maskwatch's decoding limit") from None
    except PermissionError:
        raise Skip("bad_image", f"image {path.name} cannot be read (permission denied)") from None
    except (OSError, UnidentifiedImageError, ValueError, SyntaxError) as exc:
        raise Skip("bad_image", f"image {path.name} cannot be read ({exc})") from None
    if width <= 0 or height <= 0:
        raise Skip("bad_image", f"image {path.name} has zero size")
    return width, height


def clip_box(box: Box, width: int, height: int) -> Box | None:
    """The box clipped to the image, or None when nothing of it is inside."""
    x1, y1 = min(max(box[0], 0.0), width), min(max(box[1], 0.0), height)
    x2, y2 = min(max(box[2], 0.0), width), min(max(box[3], 0.0), height)
    return (x1, y1, x2, y2) if x2 > x1 and y2 > y1 else None


def check_box(box: Box, width: int, height: int, min_face: int) -> Box:
    """The box clipped to the image; raises Skip when it is outside or smaller than min_face."""
    clipped = clip_box(box, width, height)
    if clipped is None:
        raise Skip("box_outside", f"box {tuple(round(v, 1) for v in box)} is outside the {width}x{height} image")
    face_w, face_h = clipped[2] - clipped[0], clipped[3] - clipped[1]
    if min(face_w, face_h) < min_face:
        raise Skip("small_face", f"face is {face_w:.0f}x{face_h:.0f} px, smaller than min_face={min_face}")
    return clipped


class SceneBoxes:
    """The face boxes one scene dataset load collects, under the same rules for every format.

    A format's reader (VOC XML, YOLO text) reads its files and hands each box here: `label`
    renames it through the label map (None: dropped, counted) and refuses a class outside
    `labels`, `add` clips it (`check_box`) and makes the sample, `skip` reports a file or a box
    with its reason (logged, listed in `dataset.skipped`, never raised).
    """

    def __init__(
        self,
        root: Path,
        margin: float,
        min_face: int,
        label_map: LabelMap | None,
        labels: Sequence[str] | None,
        source: str | None,
    ) -> None:
        self.root, self.margin, self.min_face = root, margin, min_face
        self.label_map, self.labels, self.source = label_map, labels, source or root.name
        self.samples: list[FaceSample] = []
        self.skipped: list[SkippedFile] = []
        self.found: set[str] = set()
        self.dropped = 0

    def label(self, name: str) -> str | None:
        """The project label of a box's class; None when the label map drops it."""
        label = map_label(name, self.label_map)
        if label is None:
            self.dropped += 1
        elif self.labels is not None and label not in self.labels:
            raise Skip("unknown_label", f"class {label!r} is not in labels {list(self.labels)}")
        return label

    def add(self, image: Path, label: str, box: Box, width: int, height: int) -> None:
        """One face sample (grouped by the image stem, so a scene never straddles splits)."""
        box = check_box(box, width, height, self.min_face)
        self.found.add(label)
        self.samples.append(FaceSample(str(image), label, image.stem, box, self.source, self.margin))

    def skip(self, path: Path, skip: Skip, where: str | None = None) -> None:
        """Report a file (or, with `where`, one box of it) left out."""
        if where is None:
            log.warning("skipped %s: %s", path, skip.reason)
            self.skipped.append(SkippedFile(str(path), skip.reason, skip.kind))
        else:
            log.warning("skipped %s %s: %s", path, where, skip.reason)
            self.skipped.append(SkippedFile(str(path), f"{where}: {skip.reason}", skip.kind))


#: A format's reader: reads the files below root into the SceneBoxes and says what it read
#: ("300 annotation files"), for the error when no box is usable.
SceneReader = Callable[[Path, SceneBoxes], str]


def scene_loader(read: SceneReader, kind: str, doc: str):
    """The public loader of a scene format (`load_voc_dataset`, `load_yolo_dataset`): one signature,
    one set of rules; the formats differ only in `read`."""

    def load(
        root: str | os.PathLike,
        margin: float = 0.1,
        min_face: int = MIN_FACE,
        label_map: LabelMap | None = None,
        *,
        labels: Sequence[str] | None = None,
        source: str | None = None,
    ) -> FaceDataset:
        root = Path(root).absolute()
        if not root.is_dir():
            raise DatasetError(f"{root}: {kind} dataset folder not found")
        boxes = SceneBoxes(root, margin, min_face, label_map, labels, source)
        what = read(root, boxes)
        if boxes.dropped:
            log.info("%s: %d faces dropped by label_map", root, boxes.dropped)
        if not boxes.samples:
            raise DatasetError(f"{root}: no usable face box in {what}")
        return FaceDataset(boxes.samples, order_labels(boxes.found, labels, str(root)), boxes.skipped)

    load.__name__ = load.__qualname__ = f"load_{kind.lower()}_dataset"
    load.__module__, load.__doc__ = read.__module__, doc
    return load
