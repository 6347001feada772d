"""Scale out on Ray: bulk detection of photo archives (Ray Data); the Ray session helpers.

>>> import maskwatch
>>> results = maskwatch.detect("archive/", engine="ray", save_parquet="out/faces")   # local Ray
>>> report = detect_bulk("s3://bucket/photos/", "s3://bucket/faces", address="auto")  # a cluster

Needs the `cluster` extra (`pip install "maskwatch[cluster]"`); the core install has no Ray.

Modules: `cluster` (start or join a Ray cluster, quietly), `inputs` (which files a source stands
for, local or object store, through pyarrow filesystems), `rows` (the Parquet row schema: one
row per face, one per image without a face, one per bad file), `store` (the Parquet output folder:
parts written atomically, what is done already), `bulk` (the Ray Data pipeline), `engine`
(`maskwatch.detect(source, engine="ray")`). Many cameras on Ray: maskwatch.watch.actors.
"""

from __future__ import annotations

from maskwatch.callable_module import lazy_exports

__getattr__, __all__ = lazy_exports(
    __name__,
    {
        "maskwatch.scale.bulk": ["detect_bulk", "BulkReport"],
        "maskwatch.scale.cluster": ["ray_session"],
        "maskwatch.scale.store": ["ResultStore"],
    },
)
