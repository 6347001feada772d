"""Start a local Ray instance or join a cluster, quietly and with a small object store.

`address=None` starts Ray on this machine (and stops it again afterwards), unless RAY_ADDRESS
names a cluster; `"auto"` joins the cluster that `ray start --head` started here; `HOST:PORT` a
cluster's head; `"ray://HOST:PORT"` connects through Ray Client.
When Ray is already initialised (a notebook, a test), that session is used and left running.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager

from maskwatch.errors import ConfigError

#: Object store of a Ray instance maskwatch starts itself. Ray's default is 30% of the RAM; bulk
#: detection streams small blocks (encoded images in, result rows out), so a few hundred MB do.
OBJECT_STORE_BYTES = int(os.environ.get("MASKWATCH_RAY_OBJECT_STORE", 512 * 1024**2))


def require_ray():
    """Import ray, or say in one line how to get it."""
    try:
        import ray
    except ImportError:
        raise ConfigError('the Ray engine needs the cluster extra: pip install "maskwatch[cluster]"') from None
    return ray


def quiet_ray_data() -> None:
    """maskwatch prints its own progress (images done / total, faces); Ray Data's bars would interleave."""
    import ray.data

    ctx = ray.data.DataContext.get_current()
    ctx.enable_progress_bars = False
    ctx.enable_operator_progress_bars = False
    ctx.print_on_execution_start = False
    ctx.enable_auto_log_stats = False
    ctx.verbose_stats_logs = False
    logging.getLogger("ray.data").setLevel(logging.ERROR)


@contextmanager
def ray_session(
    address: str | None = None,
    num_cpus: int | None = None,
    object_store_memory: int | None = None,
) -> Iterator[object]:
    """A Ray session for the duration of the block; yields the ray module.

    Only a Ray instance started here is shut down at the end.
    """
    ray = require_ray()
    if ray.is_initialized():
        yield ray
        return
    # ERROR: Ray's start-up notices (token file written, progress bars off) are not the user's business.
    options: dict = {"log_to_driver": False, "logging_level": logging.ERROR, "include_dashboard": False}
    if address is None and os.environ.get("RAY_ADDRESS"):
        address = os.environ["RAY_ADDRESS"]  # Ray's own way of naming the cluster to use
    if address is None:
        # "local", not None: ray.init(None) would join any cluster `ray start` left on this machine.
        options["address"] = "local"
        options["num_cpus"] = num_cpus
        options["object_store_memory"] = object_store_memory or OBJECT_STORE_BYTES
    elif num_cpus is not None or object_store_memory is not None:
        raise ConfigError("num_cpus / object_store_memory only apply to a Ray instance started here (no address)")
    if address is not None and not (address == "auto" or address.startswith("ray://") or ":" in address):
        raise ConfigError(f"--address {address!r}: use 'auto', 'ray://HOST:PORT' or HOST:PORT")
    if address is not None and address.startswith("ray://"):
        options.pop("include_dashboard")  # a Ray Client connection takes no node options
    options.setdefault("address", address)
    try:
        ray.init(**options)
    except ConnectionError as exc:
        raise ConfigError(f"cannot reach the Ray cluster at {address}: {exc}") from None
    try:
        yield ray
    finally:
        ray.shutdown()


def cluster_cpus(ray) -> int:
    """CPUs the cluster has (at least 1): the size of the detection actor pool."""
    return max(1, int(ray.cluster_resources().get("CPU", 1)))
