"""The Parquet output folder of bulk detection: what is done, and new parts written atomically.

The folder (local, or an object-store URI) holds `part-<time>-<id>.parquet` files with the rows
of `maskwatch.scale.rows`. Each part is written under a hidden temporary name and renamed when
complete, so an interrupted run leaves only whole parts; a rerun reads the `source` column of
every part and skips those images. A part that cannot be read (a disk that filled up, a copy
cut short) is reported and its images are simply done again; it is never deleted.
"""

from __future__ import annotations

import contextlib
import os
import time
import uuid
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from maskwatch.errors import ConfigError
from maskwatch.scale.rows import labels_of


class ResultStore:
    """Parts of one output folder. `output`: a folder path or URI; `filesystem`: a pyarrow
    FileSystem the path lives in (None = from the URI, or the local disk)."""

    def __init__(self, output: str | os.PathLike, filesystem=None) -> None:
        from pyarrow import fs as pafs

        from maskwatch.scale.inputs import is_object_store_uri

        text = os.fspath(output)
        self.shown = text
        if filesystem is not None:
            self.fs, self.root = filesystem, text.rstrip("/")
        elif is_object_store_uri(text):
            self.fs, self.root = pafs.FileSystem.from_uri(text)
        else:
            self.fs, self.root = pafs.LocalFileSystem(), str(Path(text).expanduser().resolve())
        info = self.fs.get_file_info(self.root)
        if info.type == pafs.FileType.File:
            raise ConfigError(f"{text}: is a file; the Parquet output is a folder")
        #: Parts that could not be read, with the reason (their images are done again).
        self.unreadable: list[str] = []

    def parts(self) -> list[str]:
        from pyarrow import fs as pafs

        if self.fs.get_file_info(self.root).type != pafs.FileType.Directory:
            return []
        entries = self.fs.get_file_info(pafs.FileSelector(self.root, recursive=False))
        names = [e.path for e in entries if e.type == pafs.FileType.File and e.base_name.endswith(".parquet")]
        return sorted(n for n in names if not Path(n).name.startswith("."))

    def read(self, columns: list[str] | None = None, sources: list[str] | None = None) -> pa.Table | None:
        """All readable parts as one table (None when there are none); only the rows of `sources` if given."""
        filters = None if sources is None else [("source", "in", list(sources))]
        tables, labels = [], None
        self.unreadable = []
        for part in self.parts():
            try:
                table = pq.read_table(part, filesystem=self.fs, columns=columns, filters=filters)
                schema = pq.read_schema(part, filesystem=self.fs) if columns else table.schema
            except (OSError, pa.ArrowException) as exc:
                self.unreadable.append(f"{part}: {exc}")
                continue
            part_labels = labels_of(schema)
            if labels is None:
                labels = part_labels
            elif part_labels != labels:
                raise ConfigError(
                    f"{self.shown}: parts written with different model labels ({labels} vs {part_labels} in "
                    f"{Path(part).name}); use a new output folder for a new model"
                )
            tables.append(table)
        if not tables:
            return None
        return pa.concat_tables(tables, promote_options="default")

    def labels(self) -> list[str] | None:
        """The model labels of the parts already written (None for an empty folder)."""
        for part in self.parts():
            try:
                return labels_of(pq.read_schema(part, filesystem=self.fs))
            except (OSError, pa.ArrowException):
                continue
        return None

    def done(self) -> set[str]:
        """Sources that have rows already (images with results and files reported as bad)."""
        table = self.read(columns=["source"])
        return set() if table is None else set(table.column("source").to_pylist())

    def append(self, table: pa.Table) -> str:
        """Write table as a new part (temporary name, then rename); returns the part's path."""
        self.fs.create_dir(self.root, recursive=True)
        name = f"part-{time.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:8]}.parquet"
        final = f"{self.root}/{name}"
        tmp = f"{self.root}/.{name}.tmp"
        try:
            with self.fs.open_output_stream(tmp) as stream:
                pq.write_table(table, stream, compression="zstd")
            self.fs.move(tmp, final)
        except BaseException:
            with contextlib.suppress(OSError):
                self.fs.delete_file(tmp)
            raise
        return final
