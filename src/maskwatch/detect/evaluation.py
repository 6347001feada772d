"""`maskwatch evaluate-detection`: how well the whole pipeline does on Pascal VOC scenes.

Classification accuracy on ready-made crops (maskwatch evaluate) says nothing about faces the
detector misses, so this runs MaskDetector on full scenes and reports:

* per-class AP@0.5 and mAP@0.5 (supervision.metrics.MeanAveragePrecision, COCO-style 101-point
  interpolation, up to 1000 detections per image because crowds have hundreds of faces), ranked
  by face score x label probability, the score the COCO results file carries;
* face recall at IoU 0.5 regardless of label, for all faces and for faces >= 32 px wide
  (the tiny faces of crowd photos are the detector's main miss; the 32 px split shows it);
* the label confusion on faces the detector found (ground-truth label x predicted label).
"""

from __future__ import annotations

import os
import sys
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import supervision as sv

from maskwatch.classifier import DEFAULT_LABELS
from maskwatch.detect.settings import DetectorSettings
from maskwatch.errors import MaskwatchError, SourceError
from maskwatch.settings import options_of

#: Face-width buckets (pixels in the scene) of the "by_width" report, as in maskwatch.evaluate.breakdown.
WIDTH_BUCKETS = (("<24", 0, 24), ("24-40", 24, 40), ("40-64", 40, 64), (">=64", 64, float("inf")))


def width_bucket(width: float) -> str:
    """The WIDTH_BUCKETS name a face width (pixels) falls in."""
    return next(name for name, low, high in WIDTH_BUCKETS if low <= width < high)


#: Faces at least this wide (pixels) are "not tiny" in the recall split.
MIN_WIDE = 32
IOU_MATCH = 0.5


@dataclass
class VocScene:
    """One annotated scene: image path and its face boxes (xyxy pixels) with labels."""

    image: Path
    boxes: np.ndarray
    labels: list[str]


def read_voc_xml(path: str | os.PathLike) -> tuple[str, np.ndarray, list[str]]:
    """(image file name, boxes (N, 4) xyxy, labels) of one Pascal VOC XML: the data stage's reader
    (`maskwatch.data.voc.parse_voc_xml`, defusedxml), keeping the boxes it can use."""
    from maskwatch.data.scenes import Skip
    from maskwatch.data.voc import parse_voc_xml

    try:
        annotation = parse_voc_xml(path)
    except Skip as exc:
        raise SourceError(f"{path}: unusable VOC annotation ({exc.reason})") from None
    kept = [obj for obj in annotation.objects if obj.box is not None and obj.name]
    filename = annotation.filename or Path(path).with_suffix(".jpg").name
    boxes = np.asarray([obj.box for obj in kept], dtype=np.float32).reshape(-1, 4)
    return filename, boxes, [obj.name for obj in kept]


def _find_image(root: Path, name: str, stem: str) -> Path | None:
    from maskwatch.images import IMAGE_SUFFIXES

    for folder in (root / "images", root / "JPEGImages", root):
        candidate = folder / name
        if candidate.is_file():
            return candidate
        for suffix in IMAGE_SUFFIXES:
            candidate = folder / f"{stem}{suffix}"
            if candidate.is_file():
                return candidate
    return None


def _scenes_from_data_package(root: Path) -> list[VocScene] | None:
    """Scenes via maskwatch.data.load_voc_dataset when that package is installed (one VOC reader)."""
    try:
        from maskwatch.data import load_voc_dataset
    except ImportError:
        return None
    try:
        dataset = load_voc_dataset(root, min_face=0)
    except TypeError:
        return None
    grouped: dict[str, tuple[list, list]] = defaultdict(lambda: ([], []))
    for sample in dataset.samples:
        if sample.box is None:
            continue
        boxes, labels = grouped[str(sample.path)]
        boxes.append(list(sample.box))
        labels.append(sample.label)
    return [
        VocScene(Path(path), np.asarray(boxes, dtype=np.float32).reshape(-1, 4), labels)
        for path, (boxes, labels) in sorted(grouped.items())
    ]


def load_voc_scenes(root: str | os.PathLike, limit: int | None = None) -> list[VocScene]:
    """Annotated scenes of a VOC folder (`annotations/*.xml` + `images/`), sorted by file name."""
    root = Path(root)
    if not root.is_dir():
        raise SourceError(f"{root}: VOC folder not found")
    scenes = _scenes_from_data_package(root)
    if not scenes:
        folder = next((d for d in (root / "annotations", root / "Annotations", root) if d.is_dir()), root)
        scenes = []
        for xml in sorted(folder.glob("*.xml")):
            name, boxes, labels = read_voc_xml(xml)
            image = _find_image(root, name, xml.stem)
            if image is None:
                print(f"skipped {xml}: image {name} not found", file=sys.stderr)
                continue
            scenes.append(VocScene(image, boxes, labels))
    if not scenes:
        raise SourceError(f"{root}: no Pascal VOC annotations (annotations/*.xml) found")
    return scenes[:limit] if limit else scenes


def match_faces(
    pred_boxes: np.ndarray, pred_scores: np.ndarray, gt_boxes: np.ndarray, iou_threshold: float = IOU_MATCH
) -> list[tuple[int, int]]:
    """Greedy one-to-one matching (VOC style): best-scored prediction first takes its best free ground truth."""
    if len(pred_boxes) == 0 or len(gt_boxes) == 0:
        return []
    iou = sv.box_iou_batch(np.asarray(gt_boxes, dtype=np.float32), np.asarray(pred_boxes, dtype=np.float32))
    taken = np.zeros(len(gt_boxes), dtype=bool)
    pairs = []
    for p in np.argsort(-np.asarray(pred_scores), kind="stable"):
        column = np.where(taken, -1.0, iou[:, p])
        g = int(column.argmax())
        if column[g] >= iou_threshold:
            taken[g] = True
            pairs.append((int(p), g))
    return pairs


def face_recall(matched: int, total: int) -> float:
    return matched / total if total else float("nan")


def _label_space(gt_labels: set[str], model_labels: list[str]) -> list[str]:
    ordered = [lab for lab in DEFAULT_LABELS if lab in gt_labels or lab in model_labels]
    extra = sorted((gt_labels | set(model_labels)) - set(ordered))
    return ordered + extra


@options_of(DetectorSettings)
def evaluate_detection(
    voc: str | os.PathLike | list[VocScene],
    detector=None,
    model: str | os.PathLike | None = None,
    face_model: str | os.PathLike | None = None,
    limit: int | None = None,
    save_json: str | os.PathLike | None = None,
    verbose: bool = True,
    **detector_options,
) -> dict:
    """Run MaskDetector on every VOC scene (a VOC folder, or a list of VocScene) and score it.

    See the module docstring; "by_width" adds face recall and label accuracy on found faces per
    face-width bucket (WIDTH_BUCKETS).

    detector_options: conf, nms, upscale, tiles, min_face, threads, as for `maskwatch.detect`
    (DetectorSettings; used when no ready `detector` is given, checked always).
    Returns a JSON-ready dict; prints tables when verbose; writes it to save_json when given.
    """
    settings = DetectorSettings(**detector_options)
    from supervision.metrics import MeanAveragePrecision

    from maskwatch.detect.pipeline import MaskDetector
    from maskwatch.images import BadImageError, load_image

    scenes = list(voc)[:limit] if isinstance(voc, list | tuple) else load_voc_scenes(voc, limit=limit)
    if detector is None:
        detector = MaskDetector(model, face_model, **settings.model_dump())
    gt_names = {lab for scene in scenes for lab in scene.labels}
    space = _label_space(gt_names, detector.labels)
    index = {lab: i for i, lab in enumerate(space)}
    metric = MeanAveragePrecision(max_detection_thresholds=(1, 10, 1000))
    metric_agnostic = MeanAveragePrecision(class_agnostic=True, max_detection_thresholds=(1, 10, 1000))
    confusion = np.zeros((len(space), len(detector.labels)), dtype=int)
    found_all = found_wide = total_all = total_wide = predicted = 0
    by_width = {name: [0, 0, 0] for name, _, _ in WIDTH_BUCKETS}  # faces, found, found with the right label
    skipped: list[str] = []
    started = time.perf_counter()
    progress = _progress(scenes, verbose)
    for scene in progress:
        try:
            rgb = load_image(scene.image)
        except BadImageError as exc:
            skipped.append(str(exc))
            print(f"skipped {exc}", file=sys.stderr)
            continue
        detections = detector.process(rgb)
        predicted += len(detections)
        names = detections.data.get("class_name", np.array([], dtype=object))
        # Rank by P(face) x P(label | face) (outputs.detection_score): on voc3 this gives a higher
        # mAP than the label probability alone (0.455 vs 0.421 with the bootstrap model).
        score = np.asarray(detections.confidence, dtype=np.float32) * detections.data["face_score"]
        prediction = sv.Detections(
            xyxy=detections.xyxy.astype(np.float32),
            confidence=score.astype(np.float32),
            class_id=np.array([index[str(n)] for n in names], dtype=int),
        )
        target = sv.Detections(
            xyxy=scene.boxes.astype(np.float32), class_id=np.array([index[n] for n in scene.labels], dtype=int)
        )
        metric.update(prediction, target)
        metric_agnostic.update(prediction, target)
        pairs = match_faces(detections.xyxy, detections.data["face_score"], scene.boxes)
        wide = (scene.boxes[:, 2] - scene.boxes[:, 0]) >= MIN_WIDE
        total_all += len(scene.boxes)
        total_wide += int(wide.sum())
        found_all += len(pairs)
        found_wide += sum(1 for _, g in pairs if wide[g])
        for p, g in pairs:
            confusion[index[scene.labels[g]], int(detections.class_id[p])] += 1
        found_gt = dict((g, p) for p, g in pairs)
        for g, box in enumerate(scene.boxes):
            counts = by_width[width_bucket(float(box[2] - box[0]))]
            counts[0] += 1
            if g in found_gt:
                counts[1] += 1
                counts[2] += int(detector.labels[int(detections.class_id[found_gt[g]])] == scene.labels[g])
    seconds = time.perf_counter() - started
    if total_all == 0:
        raise MaskwatchError(f"{voc}: no usable annotated faces to evaluate")
    result = metric.compute()
    agnostic = metric_agnostic.compute()
    ap = {space[int(c)]: float(result.ap_per_class[i, 0]) for i, c in enumerate(result.matched_classes)}
    evaluated = len(scenes) - len(skipped)
    report = {
        "voc": str(voc),
        "images": evaluated,
        "skipped": skipped,
        "faces": total_all,
        "faces_min32": total_wide,
        "predicted_faces": predicted,
        "ap50": {lab: round(ap[lab], 4) for lab in space if lab in gt_names and lab in ap},
        "map50": round(float(result.map50), 4),
        "face_ap50": round(float(agnostic.map50), 4),
        "recall": {
            "all": round(face_recall(found_all, total_all), 4),
            "min32": round(face_recall(found_wide, total_wide), 4),
        },
        "confusion": {
            "true_labels": [lab for lab in space if lab in gt_names],
            "predicted_labels": detector.labels,
            "matrix": [confusion[index[lab]].tolist() for lab in space if lab in gt_names],
        },
        "label_accuracy_on_matched": round(
            float(sum(confusion[index[lab], j] for j, lab in enumerate(detector.labels) if lab in index))
            / max(1, int(confusion.sum())),
            4,
        ),
        "by_width": {
            name: {
                "faces": n,
                "recall": round(face_recall(found, n), 4),
                "label_accuracy_on_found": round(right / found, 4) if found else None,
            }
            for name, (n, found, right) in by_width.items()
            if n
        },
        "model": str(getattr(getattr(detector, "classifier", None), "path", "")),
        "face_detector": repr(getattr(detector, "face_detector", detector)),
        "ms_per_image": round(1000 * seconds / max(1, evaluated), 1),
    }
    if verbose:
        print_report(report)
    if save_json is not None:
        import json

        from maskwatch.atomic import atomic_write_text

        atomic_write_text(save_json, json.dumps(report, indent=2) + "\n")
    return report


def _progress(items: list, verbose: bool):
    if not verbose or len(items) < 2:
        return items
    from tqdm import tqdm

    return tqdm(items, desc="evaluating", unit="img", file=sys.stderr, leave=False, disable=None)


def print_report(report: dict) -> None:
    """Tables for a human: AP per class, recall, confusion on matched faces."""
    from rich.table import Table

    from maskwatch.tables import table_console

    console = table_console()
    summary = Table(title=f"{report['images']} scenes, {report['faces']} faces")
    summary.add_column("metric")
    summary.add_column("value", justify="right")
    for label, value in report["ap50"].items():
        summary.add_row(f"AP@0.5 {label}", f"{value:.3f}")
    summary.add_row("mAP@0.5", f"{report['map50']:.3f}")
    summary.add_row("face AP@0.5 (any label)", f"{report['face_ap50']:.3f}")
    summary.add_row("face recall, all", f"{report['recall']['all']:.3f}")
    summary.add_row(f"face recall, >= {MIN_WIDE} px wide ({report['faces_min32']})", f"{report['recall']['min32']:.3f}")
    summary.add_row("label accuracy on found faces", f"{report['label_accuracy_on_matched']:.3f}")
    summary.add_row("ms per image", f"{report['ms_per_image']:.1f}")
    console.print(summary)
    conf = report["confusion"]
    table = Table(title="Labels on found faces (rows: truth, columns: predicted)")
    table.add_column("truth \\ predicted")
    for label in conf["predicted_labels"]:
        table.add_column(label, justify="right")
    for label, row in zip(conf["true_labels"], conf["matrix"], strict=True):
        table.add_row(label, *(str(v) for v in row))
    console.print(table)
    if report.get("by_width"):
        sizes = Table(title="By face width (pixels in the scene)")
        for column in ("width", "faces", "face recall", "label accuracy on found"):
            sizes.add_column(column, justify="left" if column == "width" else "right")
        for name, row in report["by_width"].items():
            accuracy = row["label_accuracy_on_found"]
            sizes.add_row(
                name, str(row["faces"]), f"{row['recall']:.3f}", "-" if accuracy is None else f"{accuracy:.3f}"
            )
        console.print(sizes)
