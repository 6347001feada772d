"""detect() on images: one or several image / folder / glob sources, one image at a time.

A bad file is named in one warning and skipped, never stopping the run. With save_json the
results stream to disk as images finish (detect.results_file), so a killed run keeps them and
`resume=True` skips the images already done. CSV and COCO files are written at the end.
"""

from __future__ import annotations

import logging
import os
import sys
from collections import Counter
from pathlib import Path

log = logging.getLogger(__name__)


def image_files(sources: list, save_dir) -> list[tuple[Path, Path]]:
    """(file, name below save_dir) for every image of the sources, in order, each file once.

    `sources` are parsed sources (maskwatch.video.sources.Source, given by detect()) of the image
    kinds: their `images()` and `relative_name()` are all this needs.
    """
    pairs: list[tuple[Path, Path]] = []
    seen: set[Path] = set()
    for source in sources:
        for path in source.images():
            key = path.resolve()
            if key not in seen:
                seen.add(key)
                pairs.append((path, source.relative_name(path)))
    if len(sources) > 1:
        # Several sources: names below save_dir are relative to the folder they all share, so
        # a/img.jpg and b/img.jpg given side by side do not overwrite each other.
        try:
            root = Path(os.path.commonpath([str(p.resolve().parent) for p, _ in pairs]))
            pairs = [(p, p.resolve().relative_to(root)) for p, _ in pairs]
        except ValueError:
            pass
    if save_dir is not None:
        # `detect photos --save-dir photos/annotated` must not read back its own outputs next time.
        out = Path(save_dir).resolve()
        pairs = [pair for pair in pairs if not pair[0].resolve().is_relative_to(out)] or pairs
    return pairs


def image_results(
    run,
    pairs: list[tuple[Path, Path]],
    detector,
    save_dir=None,
    save_json=None,
    save_csv=None,
    save_coco=None,
    window=None,
    verbose: bool = False,
    labels: str = "full",
    resume: bool = False,
):
    """Yield an ImageResult per readable image (`run.skipped` gets the unreadable ones).

    `pairs` come from image_files(). Results stream into save_json as they finish; CSV and COCO
    are written when the images are done. Images an earlier run finished (resume) are not
    processed again: their records are kept in the outputs, and not yielded.
    """
    from maskwatch.annotate import FrameAnnotator
    from maskwatch.atomic import check_writable
    from maskwatch.detect.outputs import annotated_path, write_coco, write_csv
    from maskwatch.detect.prefetch import detect_ahead
    from maskwatch.detect.results_file import ResultsFile
    from maskwatch.detections import LABEL, rescaled
    from maskwatch.images import DECODE_PIXELS, read_image, save_image
    from maskwatch.results import ImageResult

    for output in (save_json, save_csv, save_coco):
        if output is not None:
            check_writable(output)
    stream = ResultsFile(save_json, resume=resume) if save_json is not None else None
    done = {record["source"]: record for record in stream.done} if stream is not None else {}
    writing = save_csv is not None or save_coco is not None or stream is not None
    annotator = FrameAnnotator(detector.labels, labels) if (save_dir is not None or window is not None) else None
    records: dict[str, dict] = {}  # kept only for the output files, never the pixels
    count = 0
    counts: Counter[str] = Counter()
    skipped: list[str] = run.skipped
    todo = [pair for pair in pairs if str(pair[0]) not in done]
    if done:
        log.info("resuming: %d of %d image(s) already done", len(pairs) - len(todo), len(pairs))
    names = dict(todo)
    progress = [path for path, _ in todo]
    if verbose and len(todo) > 1:
        from tqdm import tqdm

        progress = tqdm(progress, desc="detect", unit="img", file=sys.stderr, leave=False, disable=None)
    # Large photos are decoded reduced (memory follows DECODE_PIXELS, not the file); boxes are
    # reported in the full image's pixels. Decoding and face detection run a few images ahead in a
    # background thread while this one is labelled and written (detect/prefetch.py).
    split = hasattr(detector, "detect_faces") and hasattr(detector, "classify")
    prepared = detect_ahead(
        progress,
        lambda path: read_image(path, max_decoded=DECODE_PIXELS),
        (lambda image: detector.detect_faces(image.rgb)) if split else (lambda image: None),
    )
    finished = False
    try:
        for item in prepared:
            path, image = item.path, item.image
            if item.error is not None:
                skipped.append(str(item.error))
                log.warning("skipped %s", item.error)
                continue
            detections = detector.classify(image.rgb, item.faces) if split else detector.process(image.rgb)
            full = rescaled(detections, image.scale)
            result = ImageResult(str(path), image.width, image.height, full, detector.labels)
            count += 1
            counts.update(str(label) for label in full.data.get(LABEL, ()))
            if writing:
                record = result.to_dict()
                records[str(path)] = record
                if stream is not None:
                    stream.write(record)
            if annotator is not None:
                drawn = annotator.annotate(image.rgb, detections)
                if save_dir is not None:
                    save_image(annotated_path(save_dir, names.get(path, Path(path.name))), drawn)
                if window is not None:
                    window.show(drawn, wait_ms=0)
            yield result
        finished = True
    finally:
        prepared.close()
        if window is not None:
            window.close()
        if stream is not None and not finished:
            stream.abort()  # what finished stays in the stream file, for --resume
    ordered = [records.get(str(p)) or done[str(p)] for p, _ in pairs if str(p) in records or str(p) in done]
    if stream is not None:
        stream.finish(ordered)
    if save_csv is not None:
        write_csv(ordered, save_csv, detector.labels)
    if save_coco is not None:
        write_coco(ordered, save_coco, detector.labels)
    if verbose:
        _summary(count, counts, skipped, detector.labels, save_dir, resumed=len(pairs) - len(todo))


def _summary(images: int, counts: Counter, skipped, labels, save_dir, resumed: int = 0) -> None:
    per_label = ", ".join(f"{label} {counts.get(label, 0)}" for label in labels)
    line = f"{images} image(s), {sum(counts.values())} face(s): {per_label}"
    if resumed:
        line += f"; {resumed} done by an earlier run"
    if skipped:
        line += f"; {len(skipped)} file(s) skipped"
    if save_dir is not None and images:
        line += f"; annotated images in {save_dir}"
    print(line, file=sys.stderr)
