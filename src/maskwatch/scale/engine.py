"""`maskwatch.detect(source, engine="ray")`: bulk detection on Ray, answered like the local engine.

The Ray run appends rows to the Parquet folder (maskwatch.scale.bulk); this reads them back for
the images of source (done in this run or an earlier one) as the same image results the local
engine returns, and writes the JSON / CSV / COCO files asked for with the local engine's writers.
"""

from __future__ import annotations

import os

from maskwatch.errors import ConfigError
from maskwatch.results import ResultStream
from maskwatch.scale.bulk import detect_bulk
from maskwatch.scale.rows import results_from_table
from maskwatch.scale.store import ResultStore

#: Sources read back from the Parquet folder at a time when results stream.
READ_CHUNK = 10_000


def detect_ray(
    source,
    save_parquet: str | os.PathLike | None,
    save_json: str | os.PathLike | None = None,
    save_csv: str | os.PathLike | None = None,
    save_coco: str | os.PathLike | None = None,
    address: str | None = None,
    verbose: bool = True,
    **options,
) -> ResultStream:
    """Run detect_bulk now, then give the image results of source in source order, as a stream.

    The stream reads the Parquet folder READ_CHUNK sources at a time, so a million-image archive
    is never read back into memory at once (`maskwatch detect --engine ray` shows the first rows
    only); `.skipped` lists this run's bad files and `.report` is its BulkReport as a dict, both
    known before the first result. The JSON / CSV / COCO files asked for hold every image.
    """
    if save_parquet is None:
        raise ConfigError(
            "the Ray engine writes its results to a Parquet folder, which also makes reruns resumable: "
            "give --save-parquet DIR (save_parquet=...)"
        )
    report = detect_bulk(source, save_parquet, address=address, verbose=verbose, **options)
    if save_json is not None or save_csv is not None or save_coco is not None:
        results = read_results(save_parquet, order=report.sources)
        from maskwatch.detect.outputs import write_coco, write_csv, write_json

        labels = ResultStore(save_parquet).labels() or []
        if save_json is not None:
            write_json(results, save_json)
        if save_csv is not None:
            write_csv(results, save_csv, labels)
        if save_coco is not None:
            write_coco(results, save_coco, labels)
        del results
    stream = ResultStream(lambda run: _read_in_chunks(save_parquet, report.sources))
    stream.skipped.extend(report.errors)
    stream.report = report.to_dict()
    return stream


def _read_in_chunks(save_parquet: str | os.PathLike, keys: list[str]):
    for start in range(0, len(keys), READ_CHUNK):
        yield from read_results(save_parquet, order=keys[start : start + READ_CHUNK])


def read_results(save_parquet: str | os.PathLike, order: list[str] | None = None) -> list[dict]:
    """Image results from a Parquet folder: for the sources in `order` (in that order), or all."""
    store = ResultStore(save_parquet)
    table = store.read(sources=order if order is not None and len(order) <= 10_000 else None)
    if table is None:
        return []
    results, _errors = results_from_table(table)
    if order is None:
        return list(results.values())
    return [results[key] for key in order if key in results]


def read_errors(save_parquet: str | os.PathLike) -> dict[str, str]:
    """{source: problem} for every file an earlier run could not use."""
    table = ResultStore(save_parquet).read()
    return {} if table is None else results_from_table(table)[1]
