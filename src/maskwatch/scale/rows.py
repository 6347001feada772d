"""The Parquet rows of bulk detection, and the way back to the shared image records.

One row per face, one row (face = null) per image without a face, one row (error set) per file
that could not be used. The columns are the CSV writer's (`maskwatch.records.csv_columns`), typed,
plus `error`, flat so DuckDB / pandas / Spark query them directly::

    source, width, height, face, x1, y1, x2, y2, label, confidence, face_score,
    p_<label> (one column per model label, the probabilities), error

Rows are made from `maskwatch.records.ImageRecord`s and read back into them, so
`results_from_table` gives exactly the dicts `maskwatch.detect(source)` returns.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import pyarrow as pa

from maskwatch.records import FaceRecord, ImageRecord, csv_columns

PROBABILITY_PREFIX = "p_"
BOX = ("x1", "y1", "x2", "y2")
_TYPES = {"source": pa.string(), "width": pa.int32(), "height": pa.int32(), "face": pa.int32(), "label": pa.string()}


def arrow_schema(labels: Sequence[str]) -> pa.Schema:
    fields = [pa.field(name, _TYPES.get(name, pa.float64()), nullable=name != "source") for name in csv_columns(labels)]
    return pa.schema([*fields, pa.field("error", pa.string())])


def labels_of(schema: pa.Schema) -> list[str]:
    """The model labels a result table was written with (its p_<label> columns, in order)."""
    return [name[len(PROBABILITY_PREFIX) :] for name in schema.names if name.startswith(PROBABILITY_PREFIX)]


def result_rows(image: ImageRecord, labels: Sequence[str]) -> list[dict]:
    """Rows of one image record."""
    base = {"source": image.source, "width": image.width, "height": image.height}
    if not image.detections:
        return [dict(base, face=None)]
    rows = []
    for i, face in enumerate(image.detections):
        row = dict(base, face=i, label=face.label, confidence=face.confidence, face_score=face.face_score)
        row.update(zip(BOX, face.box, strict=True))
        probabilities = face.probabilities or {}
        row.update({PROBABILITY_PREFIX + label: probabilities.get(label) for label in labels})
        rows.append(row)
    return rows


def error_row(source: str, error: str) -> dict:
    return {"source": source, "error": error}


def rows_table(rows: Iterable[dict], labels: Sequence[str]) -> pa.Table:
    return pa.Table.from_pylist(list(rows), schema=arrow_schema(labels))


def _face(row: dict, labels: Sequence[str]) -> FaceRecord:
    """A face as the local engine records it: only the fields it has (records leave out the rest)."""
    fields: dict = {"box": [row[name] for name in BOX]}
    if row["label"] is not None:
        fields.update(label=row["label"], confidence=row["confidence"])
    if row["face_score"] is not None:
        fields["face_score"] = row["face_score"]
    if row["label"] is not None:
        fields["probabilities"] = {label: row[PROBABILITY_PREFIX + label] for label in labels}
    return FaceRecord(**fields)


def results_from_table(table: pa.Table) -> tuple[dict[str, dict], dict[str, str]]:
    """({source: image result dict}, {source: error}) from result rows (any order, any number of parts)."""
    labels = labels_of(table.schema)
    sizes: dict[str, tuple[int, int]] = {}
    errors: dict[str, str] = {}
    faces: dict[str, list[tuple[int, FaceRecord]]] = {}
    for row in table.to_pylist():
        source = row["source"]
        if row.get("error") is not None:
            errors[source] = row["error"]
            continue
        sizes.setdefault(source, (row["width"], row["height"]))
        faces.setdefault(source, [])
        if row["face"] is not None:
            faces[source].append((row["face"], _face(row, labels)))
    results = {
        source: ImageRecord(
            source=source,
            width=width,
            height=height,
            detections=[face for _, face in sorted(faces[source], key=lambda item: item[0])],
        ).to_dict()
        for source, (width, height) in sizes.items()
    }
    return results, errors
