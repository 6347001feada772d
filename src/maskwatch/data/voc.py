"""Pascal VOC datasets (images/ + annotations/*.xml): one sample per annotated face box.

This is how the andrewmvd face-mask set (shared/data/voc3) and most detection sets ship.
The XML is untrusted input, so it is parsed with defusedxml: entity declarations (billion
laughs) and external references are refused and that file is skipped with the reason.
Boxes are clipped to the real image size (read from the image header, EXIF rotation taken
into account, because `<size>` is sometimes missing or wrong); the crop margin is only
applied when pixels are loaded, exactly as detection crops are made.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from xml.etree.ElementTree import Element

from maskwatch.data.labels import LabelMap, map_label, order_labels
from maskwatch.data.samples import DatasetError, FaceDataset, FaceSample, SkippedFile
from maskwatch.images import IMAGE_SUFFIXES

log = logging.getLogger(__name__)

#: Default smallest face side (pixels) kept. Below 8 px a face (10 px with the 10 % margin) is
#: a few blurred blocks once resized to the model input, and its label is mostly guesswork;
#: in voc3 this drops ~6 % of the boxes (87 of 1,559) but only 1 of the 29 rare
#: mask_weared_incorrect ones, whereas 10 px would drop 11 %.
MIN_FACE = 8

#: A VOC annotation is a few KB; anything this large is not one.
MAX_XML_BYTES = 5_000_000

_EXIF_ORIENTATION = 0x0112


class _Skip(Exception):
    """Internal: this XML file (or one object of it) cannot be used; carries kind and reason."""

    def __init__(self, kind: str, reason: str) -> None:
        super().__init__(reason)
        self.kind = kind
        self.reason = reason


@dataclass(frozen=True)
class VocObject:
    """One `<object>` of an annotation, as written (label not yet mapped, box not yet clipped)."""

    name: str
    box: tuple[float, float, float, float] | None
    problem: str = ""


@dataclass(frozen=True)
class VocAnnotation:
    filename: str
    size: tuple[int, int] | None  # (width, height) as written, None when missing/unusable
    objects: list[VocObject]


def parse_voc_xml(path: str | os.PathLike) -> VocAnnotation:
    """Parse one annotation safely; raises _Skip with the reason when the file cannot be used."""
    import defusedxml
    import defusedxml.ElementTree as SafeET

    try:
        if os.path.getsize(path) > MAX_XML_BYTES:
            raise _Skip("bad_xml", f"annotation is larger than {MAX_XML_BYTES:,} bytes; not a VOC file")
        root = SafeET.parse(path).getroot()
    except defusedxml.DefusedXmlException as exc:
        raise _Skip("unsafe_xml", f"unsafe XML refused ({type(exc).__name__}: {exc})") from None
    except SafeET.ParseError as exc:
        raise _Skip("bad_xml", f"malformed XML ({exc})") from None
    except (OSError, ValueError) as exc:
        raise _Skip("bad_xml", f"cannot read XML ({exc})") from None
    if root.tag != "annotation":
        raise _Skip("bad_xml", f"root element is <{root.tag}>, not <annotation>")
    return VocAnnotation(
        filename=(root.findtext("filename") or "").strip(),
        size=_read_size(root),
        objects=[_read_object(obj) for obj in root.iter("object")],
    )


def _read_size(root: Element) -> tuple[int, int] | None:
    try:
        width, height = int(root.findtext("size/width", "")), int(root.findtext("size/height", ""))
    except ValueError:
        return None
    return (width, height) if width > 0 and height > 0 else None


def _read_object(obj: Element) -> VocObject:
    name = (obj.findtext("name") or "").strip()
    try:
        box = tuple(float(obj.findtext(f"bndbox/{key}", "")) for key in ("xmin", "ymin", "xmax", "ymax"))
    except ValueError:
        return VocObject(name, None, "box missing or not numeric")
    if not all(math.isfinite(v) for v in box):
        return VocObject(name, None, f"box {box} is not finite")
    if box[2] <= box[0] or box[3] <= box[1]:
        return VocObject(name, None, f"box {box} has no area (xmax <= xmin or ymax <= ymin)")
    return VocObject(name, box)  # type: ignore[arg-type]


def find_image(images_dir: Path, filename: str, xml_stem: str) -> Path:
    """The image an annotation describes: `<filename>` in images_dir, else any image with its stem.

    Only the file name is used (never a path from the XML), so an annotation cannot point
    outside the images folder.
    """
    name = Path(filename.replace("\\", "/")).name
    if name and (images_dir / name).is_file():
        return images_dir / name
    for stem in dict.fromkeys(s for s in (Path(name).stem, xml_stem) if s):
        for suffix in sorted(IMAGE_SUFFIXES):
            for candidate in (images_dir / f"{stem}{suffix}", images_dir / f"{stem}{suffix.upper()}"):
                if candidate.is_file():
                    return candidate
    raise _Skip("missing_image", f"image {filename or xml_stem!r} not found in {images_dir}")


def image_size(path: Path) -> tuple[int, int]:
    """(width, height) of an image as load_image returns it (EXIF rotation applied), header only."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as img:
            width, height = img.size
            if img.getexif().get(_EXIF_ORIENTATION) in (5, 6, 7, 8):
                width, height = height, width
    except (OSError, UnidentifiedImageError, ValueError, SyntaxError) as exc:
        raise _Skip("bad_image", f"image {path.name} cannot be read ({exc})") from None
    if width <= 0 or height <= 0:
        raise _Skip("bad_image", f"image {path.name} has zero size")
    return width, height


def clip_box(
    box: tuple[float, float, float, float], width: int, height: int
) -> tuple[float, float, float, float] | None:
    """The box clipped to the image, or None when nothing of it is inside."""
    x1, y1 = min(max(box[0], 0.0), width), min(max(box[1], 0.0), height)
    x2, y2 = min(max(box[2], 0.0), width), min(max(box[3], 0.0), height)
    return (x1, y1, x2, y2) if x2 > x1 and y2 > y1 else None


def _subfolder(root: Path, names: Sequence[str]) -> Path:
    for name in names:
        if (root / name).is_dir():
            return root / name
    raise DatasetError(f"{root}: no {' or '.join(names)} folder (expected a Pascal VOC layout: images/ + annotations/)")


def load_voc_dataset(
    root: str | os.PathLike,
    margin: float = 0.1,
    min_face: int = MIN_FACE,
    label_map: LabelMap | None = None,
    *,
    labels: Sequence[str] | None = None,
    source: str | None = None,
) -> FaceDataset:
    """One sample per face box of root/annotations/*.xml (images in root/images/).

    Args:
        root: folder with `images/` and `annotations/` (or VOC's `JPEGImages/` + `Annotations/`).
        margin: fraction of the box size added on each side when the face is cut out
            (the evaluation crops use 0.1).
        min_face: faces whose shorter side (after clipping) is below this many pixels are skipped.
        label_map: rename classes (old -> new); a class mapped to None is dropped.
        labels: label order; default sorted class names.
        source: name stored in every sample (default: the root folder's name).

    Every face of one image shares the group (the image stem), so a scene never straddles
    splits. Bad XML files, missing images and unusable boxes are skipped and listed in
    `dataset.skipped`; a dataset without any usable face raises DatasetError.
    """
    root = Path(root).absolute()
    if not root.is_dir():
        raise DatasetError(f"{root}: VOC dataset folder not found")
    annotations = _subfolder(root, ("annotations", "Annotations"))
    images_dir = _subfolder(root, ("images", "JPEGImages"))
    xml_files = sorted(p for p in annotations.glob("*.xml") if not p.name.startswith("."))
    if not xml_files:
        raise DatasetError(f"{annotations}: no .xml annotation files")

    samples: list[FaceSample] = []
    skipped: list[SkippedFile] = []
    found: set[str] = set()
    dropped = size_fixed = 0
    for xml in xml_files:
        try:
            ann = parse_voc_xml(xml)
            image = find_image(images_dir, ann.filename, xml.stem)
            width, height = image_size(image)
        except _Skip as skip:
            log.warning("skipped %s: %s", xml, skip.reason)
            skipped.append(SkippedFile(str(xml), skip.reason, skip.kind))
            continue
        size_fixed += ann.size != (width, height)
        for k, obj in enumerate(ann.objects):
            label = map_label(obj.name, label_map) if obj.name else ""
            if label is None:
                dropped += 1
                continue
            where = f"object {k} ({obj.name or 'no name'})"
            problem, kind, box = _check_object(obj, label, width, height, min_face)
            if problem:
                log.debug("skipped %s %s: %s", xml, where, problem)
                skipped.append(SkippedFile(str(xml), f"{where}: {problem}", kind))
                continue
            found.add(label)
            samples.append(FaceSample(str(image), label, image.stem, box, source or root.name, margin))

    if size_fixed:
        log.info("%s: %d annotations had a missing or wrong <size>; the image's own size was used", root, size_fixed)
    if dropped:
        log.info("%s: %d faces dropped by label_map", root, dropped)
    if not samples:
        raise DatasetError(f"{root}: no usable face box in {len(xml_files)} annotation files")
    return FaceDataset(samples, order_labels(found, labels, str(root)), skipped)


def _check_object(
    obj: VocObject, label: str, width: int, height: int, min_face: int
) -> tuple[str, str, tuple[float, float, float, float] | None]:
    """(problem, kind, clipped box); problem is "" when the face is usable."""
    if not label:
        return "object has no <name>", "bad_label", None
    if obj.box is None:
        return obj.problem, "bad_box", None
    box = clip_box(obj.box, width, height)
    if box is None:
        return f"box {obj.box} is outside the {width}x{height} image", "box_outside", None
    face_w, face_h = box[2] - box[0], box[3] - box[1]
    if min(face_w, face_h) < min_face:
        return f"face is {face_w:g}x{face_h:g} px, smaller than min_face={min_face}", "small_face", None
    return "", "", box
