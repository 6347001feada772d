"""The Parquet rows of bulk detection, and the way back to the local engine's image results.

One row per face, one row (face = null) per image without a face, one row (error set) per file
that could not be used. Columns, flat so DuckDB / pandas / Spark query them directly::

    source, width, height, face, x1, y1, x2, y2, label, confidence, face_score,
    p_<label> (one column per model label, the probabilities), error

The values are the image records' own (the same rounding), so `results_from_table` gives back
exactly the dicts `maskwatch.detect(source)` returns.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import pyarrow as pa

PROBABILITY_PREFIX = "p_"
BOX = ("x1", "y1", "x2", "y2")


def arrow_schema(labels: Sequence[str]) -> pa.Schema:
    fields = [
        pa.field("source", pa.string(), nullable=False),
        pa.field("width", pa.int32()),
        pa.field("height", pa.int32()),
        pa.field("face", pa.int32()),
        *(pa.field(name, pa.float64()) for name in BOX),
        pa.field("label", pa.string()),
        pa.field("confidence", pa.float64()),
        pa.field("face_score", pa.float64()),
        *(pa.field(PROBABILITY_PREFIX + label, pa.float64()) for label in labels),
        pa.field("error", pa.string()),
    ]
    return pa.schema(fields)


def labels_of(schema: pa.Schema) -> list[str]:
    """The model labels a result table was written with (its p_<label> columns, in order)."""
    return [name[len(PROBABILITY_PREFIX) :] for name in schema.names if name.startswith(PROBABILITY_PREFIX)]


def result_rows(result: dict, labels: Sequence[str]) -> list[dict]:
    """Rows of one image result ({"source", "width", "height", "detections"})."""
    base = {"source": result["source"], "width": result["width"], "height": result["height"]}
    faces = result["detections"]
    if not faces:
        return [dict(base, face=None)]
    rows = []
    for i, face in enumerate(faces):
        row = dict(base, face=i, label=face.get("label"), confidence=face.get("confidence"))
        row.update(zip(BOX, face["box"], strict=True))
        row["face_score"] = face.get("face_score")
        probabilities = face.get("probabilities", {})
        row.update({PROBABILITY_PREFIX + label: probabilities.get(label) for label in labels})
        rows.append(row)
    return rows


def error_row(source: str, error: str) -> dict:
    return {"source": source, "error": error}


def rows_table(rows: Iterable[dict], labels: Sequence[str]) -> pa.Table:
    schema = arrow_schema(labels)
    return pa.Table.from_pylist(list(rows), schema=schema)


def results_from_table(table: pa.Table) -> tuple[dict[str, dict], dict[str, str]]:
    """({source: image result}, {source: error}) from result rows (any order, any number of parts)."""
    labels = labels_of(table.schema)
    results: dict[str, dict] = {}
    errors: dict[str, str] = {}
    faces: dict[str, list[tuple[int, dict]]] = {}
    for row in table.to_pylist():
        source = row["source"]
        if row.get("error") is not None:
            errors[source] = row["error"]
            continue
        if source not in results:
            results[source] = {"source": source, "width": row["width"], "height": row["height"], "detections": []}
        if row["face"] is None:
            continue
        face = {"box": [row[name] for name in BOX]}
        if row["label"] is not None:
            face["label"] = row["label"]
            face["confidence"] = row["confidence"]
        if row["face_score"] is not None:
            face["face_score"] = row["face_score"]
        if row["label"] is not None:
            face["probabilities"] = {label: row[PROBABILITY_PREFIX + label] for label in labels}
        faces.setdefault(source, []).append((row["face"], face))
    for source, found in faces.items():
        results[source]["detections"] = [face for _, face in sorted(found, key=lambda item: item[0])]
    return results, errors
