"""Bulk detection on Ray Data: a photo archive in, Parquet rows out, resumable.

The Ray Data plan, streaming (memory stays flat however many images there are)::

    from_items(files still to do)
      -> map_batches(read_files)      tasks: read the encoded bytes (local disk, s3://, gs://)
      -> map_batches(FaceLabeller)    actor pool: decode, detect faces, classify (models load once
                                      per actor, in its constructor)
      -> iter_batches on the driver   rows appended to the Parquet folder part by part

Reading runs in tasks that reserve no CPU, so on a 2-core machine the two detection actors can
hold both cores and the reads (I/O-bound, an object store's latency) overlap with them. Images
travel between the two stages still encoded: a JPEG is ~10x smaller in the object store than its
pixels. The driver, not Ray's `write_parquet`, writes the output: it is small (a row per face),
it lets each part appear atomically at a block boundary (so an image is never half written) and
it is where progress (images done / total, faces found) and bad files are counted.

Every file gets rows: faces, a face-less row, or an `error` row naming the problem; one bad file
never fails the job. A rerun into the same output skips every source that already has rows.
"""

from __future__ import annotations

import math
import os
import sys
import time
import warnings
from dataclasses import dataclass, field

import pyarrow as pa

from maskwatch.detect.settings import DetectorSettings
from maskwatch.errors import ConfigError, MaskwatchError, ModelFileError
from maskwatch.scale.cluster import cluster_cpus, quiet_ray_data, ray_session
from maskwatch.scale.inputs import Inputs, resolve_inputs
from maskwatch.scale.rows import error_row, result_rows, rows_table
from maskwatch.scale.store import ResultStore
from maskwatch.settings import options_of

#: Images per detection call. Small, so progress moves and a slow image does not hold up many.
BATCH_SIZE = 4
#: The driver writes a Parquet part at least this often (seconds) and every FLUSH_ROWS rows:
#: what an interruption can lose, and how many parts a big archive makes.
FLUSH_SECONDS = 30.0
FLUSH_ROWS = 50_000
#: Without a terminal, a progress line this often (seconds).
PROGRESS_SECONDS = 30.0


@dataclass
class BulkReport:
    """What a bulk run did. `errors` are this run's bad files, "source: problem" each."""

    output: str
    total: int
    already_done: int
    processed: int = 0
    faces: int = 0
    errors: list[str] = field(default_factory=list)
    seconds: float = 0.0
    parts: list[str] = field(default_factory=list)
    unreadable_parts: list[str] = field(default_factory=list)
    #: Every source key of the input, in order (done before or now).
    sources: list[str] = field(default_factory=list, repr=False)

    @property
    def images_per_second(self) -> float:
        return self.processed / self.seconds if self.seconds > 0 else 0.0

    def to_dict(self) -> dict:
        return {
            "output": self.output,
            "total": self.total,
            "already_done": self.already_done,
            "processed": self.processed,
            "faces": self.faces,
            "errors": list(self.errors),
            "seconds": round(self.seconds, 3),
            "images_per_second": round(self.images_per_second, 3),
            "parts": list(self.parts),
        }


def read_files(batch: pa.Table, filesystems: list) -> pa.Table:
    """Ray Data task: the encoded bytes of each file (or the read error)."""
    keys = batch.column("key").to_pylist()
    paths = batch.column("path").to_pylist()
    fs_index = batch.column("fs").to_pylist()
    data, errors = [], []
    for path, index in zip(paths, fs_index, strict=True):
        try:
            with filesystems[index].open_input_file(path) as handle:
                data.append(handle.read())
            errors.append(None)
        except (OSError, ValueError) as exc:
            data.append(None)
            errors.append(f"cannot read: {exc}")
    return pa.table({"key": keys, "data": pa.array(data, pa.binary()), "error": pa.array(errors, pa.string())})


class FaceLabeller:
    """Ray Data actor: decode each image, find and label its faces, return its result rows."""

    #: Detector options, set on a subclass made per run (`with_options`): constructor arguments
    #: would go through the object store, which Ray warns cannot restart actors reliably.
    options: dict = {}

    @classmethod
    def with_options(cls, options: dict) -> type[FaceLabeller]:
        return type(cls.__name__, (cls,), {"options": dict(options), "__module__": cls.__module__})

    def __init__(self) -> None:
        import cv2

        from maskwatch.detect.pipeline import MaskDetector

        cv2.setNumThreads(1)  # one actor per core: OpenCV's own threads would only compete
        options = dict(self.options)
        self.detector = MaskDetector(options.pop("model"), options.pop("face_model"), threads=1, quiet=True, **options)
        self.labels = self.detector.labels

    def __call__(self, batch: pa.Table) -> pa.Table:
        from maskwatch.detections import rescaled
        from maskwatch.images import DECODE_PIXELS, read_image
        from maskwatch.records import image_record

        rows: list[dict] = []
        for key, data, error in zip(*(batch.column(c).to_pylist() for c in ("key", "data", "error")), strict=True):
            if error is not None:
                rows.append(error_row(key, error))
                continue
            try:
                # As the local engine: large photos decoded reduced, boxes in the full image's pixels.
                image = read_image(data, max_decoded=DECODE_PIXELS, name=key)
                detections = rescaled(self.detector.process(image.rgb), image.scale)
            except MaskwatchError as exc:
                rows.append(error_row(key, getattr(exc, "reason", str(exc))))
                continue
            except Exception as exc:  # a file that breaks a library must not stop the archive
                rows.append(error_row(key, f"{type(exc).__name__}: {exc}"))
                continue
            record = image_record(key, (image.height, image.width), detections, self.labels)
            rows.extend(result_rows(record, self.labels))
        return rows_table(rows, self.labels)


def model_labels(model: str | os.PathLike | None) -> list[str]:
    """The labels of the classifier the actors will load (checked on the driver, before Ray starts)."""
    from maskwatch.classifier import default_model_path, read_model_info

    path = model if model is not None else default_model_path()
    if not os.path.isfile(path):
        raise ModelFileError(f"{path}: model file not found")
    return list(read_model_info(path).labels)


@options_of(DetectorSettings)
def detect_bulk(
    source,
    save_parquet: str | os.PathLike,
    *,
    address: str | None = None,
    filesystem=None,
    model: str | os.PathLike | None = None,
    face_model: str | os.PathLike | None = None,
    workers: int | None = None,
    num_cpus: int | None = None,
    batch_size: int = BATCH_SIZE,
    verbose: bool = True,
    **detector_options,
) -> BulkReport:
    """Detect faces in every image of source on Ray and append the rows to the save_parquet folder.

    Args:
        source: folder, glob, image, file list (.txt), object-store URI or a list of these
            (see maskwatch.scale.inputs); `filesystem`: a pyarrow FileSystem source lives in.
        save_parquet: output folder (path or URI); images that already have rows there are skipped.
        address: None = start Ray on this machine for the run; "auto" = the cluster started here
            with `ray start --head`; "ray://HOST:PORT" = a remote cluster (Ray Client).
        model, face_model and detector_options (conf, nms, upscale, tiles, min_face:
            DetectorSettings): as for maskwatch.detect; model paths must exist on every node;
            each actor's classifier runs one thread (`threads` is not an option here).
        workers: detection actors (default: one per CPU of the cluster).
        num_cpus: CPUs of a Ray instance started here (default: all of this machine's).
    """
    settings = DetectorSettings(**detector_options)
    if "threads" in detector_options:
        raise ConfigError("threads: each Ray actor's classifier runs one thread; set workers instead")
    started = time.perf_counter()
    inputs = resolve_inputs(source, filesystem)
    labels = model_labels(model)
    store = ResultStore(save_parquet)
    written = store.labels()
    if written is not None and written != labels:
        raise MaskwatchError(
            f"{save_parquet}: holds results of a model with labels {written}, this model has {labels}; "
            "use a new output folder"
        )
    done = store.done()
    todo = [f for f in inputs.files if f.key not in done]
    report = BulkReport(str(save_parquet), len(inputs), len(inputs) - len(todo))
    report.unreadable_parts = list(store.unreadable)
    report.sources = [f.key for f in inputs.files]
    for problem in store.unreadable:
        _log(f"warning: unreadable part, its images are done again: {problem}", verbose)
    if todo:
        options = {"model": None if model is None else str(model), "face_model": face_model}
        options.update(settings.model_dump(exclude={"threads"}))
        with ray_session(address, num_cpus=num_cpus) as ray:
            _run(ray, Inputs(todo, inputs.filesystems), options, labels, store, report, workers, batch_size, verbose)
    report.seconds = time.perf_counter() - started
    if verbose:
        print(_summary(report), file=sys.stderr)
    return report


def _run(ray, inputs: Inputs, options, labels, store, report, workers, batch_size, verbose) -> None:
    import ray.data

    quiet_ray_data()
    workers = workers or cluster_cpus(ray)
    items = [{"key": f.key, "path": f.path, "fs": f.fs} for f in inputs.files]
    # Enough blocks for every actor to get work early, few enough for a million files.
    blocks = max(1, min(math.ceil(len(items) / batch_size), 64 * workers))
    ds = ray.data.from_items(items, override_num_blocks=blocks)
    ds = ds.map_batches(
        read_files,
        batch_format="pyarrow",
        batch_size=batch_size,
        fn_kwargs={"filesystems": inputs.filesystems},
        num_cpus=0,
        compute=ray.data.TaskPoolStrategy(size=min(blocks, 2 * workers)),
    )
    ds = ds.map_batches(
        FaceLabeller.with_options(options),
        batch_format="pyarrow",
        batch_size=batch_size,
        num_cpus=1,
        compute=ray.data.ActorPoolStrategy(size=min(blocks, workers)),
    )
    pending: list[pa.Table] = []
    pending_rows, last_flush = 0, time.monotonic()
    bar = _progress(len(items), verbose)
    last_line = time.monotonic()

    def flush() -> None:
        nonlocal pending_rows, last_flush
        if pending:
            report.parts.append(store.append(pa.concat_tables(pending)))
            pending.clear()
        pending_rows, last_flush = 0, time.monotonic()

    try:
        for batch in _quietly(ds.iter_batches(batch_size=None, batch_format="pyarrow")):
            pending.append(batch.cast(rows_table([], labels).schema))
            pending_rows += batch.num_rows
            _count(batch, report, verbose)
            if bar is not None:
                bar.set_postfix(faces=report.faces, bad=len(report.errors), refresh=False)
                bar.update(report.processed - bar.n)
            elif verbose and time.monotonic() - last_line >= PROGRESS_SECONDS:
                last_line = time.monotonic()  # no terminal (a log file, a cluster job): a line now and then
                _log(f"detect (ray): {report.processed}/{len(items)} images, {report.faces} faces", verbose)
            if pending_rows >= FLUSH_ROWS or time.monotonic() - last_flush >= FLUSH_SECONDS:
                flush()
    except MaskwatchError:
        raise
    except Exception as exc:
        raise MaskwatchError(f"the Ray job failed: {type(exc).__name__}: {_first_line(exc)}") from exc
    finally:
        flush()  # whatever was done is kept, even on Ctrl-C: the rerun goes on from there
        if bar is not None:
            bar.close()


def _quietly(batches):
    """Ray Data's hints about pools larger than a small input are not the user's business."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r"The (minimum|maximum) number of concurrent", category=UserWarning)
        yield from batches


def _count(batch: pa.Table, report: BulkReport, verbose: bool) -> None:
    sources = batch.column("source").to_pylist()
    faces = batch.column("face").to_pylist()
    errors = batch.column("error").to_pylist()
    report.processed += len(set(sources))
    report.faces += sum(face is not None for face in faces)
    for source, error in zip(sources, errors, strict=True):
        if error is not None:
            report.errors.append(f"{source}: {error}")
            _log(f"skipped {source}: {error}", verbose)


def _progress(total: int, verbose: bool):
    """A progress bar on a terminal; None elsewhere (then _run prints a line every PROGRESS_SECONDS)."""
    if not verbose or not sys.stderr.isatty():
        return None
    from tqdm import tqdm

    return tqdm(total=total, desc="detect (ray)", unit="img", file=sys.stderr, leave=False)


def _summary(report: BulkReport) -> str:
    line = (
        f"{report.processed} image(s) processed, {report.faces} face(s) found, {report.already_done} already done "
        f"of {report.total}; {report.images_per_second:.1f} img/s; results in {report.output}"
    )
    if report.errors:
        line += f"; {len(report.errors)} file(s) could not be used"
    return line


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[-1] if text else ""


def _log(message: str, verbose: bool) -> None:
    if verbose:
        print(message, file=sys.stderr)
