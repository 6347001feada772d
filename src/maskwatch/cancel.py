"""Cooperative cancellation of work running on a thread (a server job when the server stops).

A native call (a network run, a decode) cannot be interrupted from outside, but long work is many
short native calls: a detect job on a large photo is a shrunk pass plus up to a dozen tiles, then
one classifier call. The code between those calls asks `check()`; inside `cancel_on(event)` it
raises `Cancelled` once `event` is set, so the job ends within one network run instead of
finishing an answer nobody will get. Outside `cancel_on` (the CLI, library calls) `check()` is a
no-op; the event is per thread, so the other workers are not affected.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager


class Cancelled(Exception):
    """The work was stopped on purpose (the server is shutting down)."""


_local = threading.local()


@contextmanager
def cancel_on(event: threading.Event) -> Iterator[None]:
    """Within the block, `check()` on this thread raises Cancelled once `event` is set."""
    previous = getattr(_local, "event", None)
    _local.event = event
    try:
        check()
        yield
    finally:
        _local.event = previous


def check() -> None:
    """Raise Cancelled if the work of this thread was asked to stop (see cancel_on)."""
    event = getattr(_local, "event", None)
    if event is not None and event.is_set():
        raise Cancelled()
