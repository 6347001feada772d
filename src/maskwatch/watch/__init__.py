"""Watch many cameras at once: one pipeline per stream, events to one sink per deployment.

>>> import maskwatch
>>> report = maskwatch.watch("cameras.yaml")                # = `maskwatch watch cameras.yaml`
>>> report = maskwatch.watch("cameras.yaml", engine="ray")  # each stream a Ray actor, restarted if it dies

Modules: `config` (cameras.yaml), `stream` (one camera's pipeline in a thread, polled for events),
`alerts` (the no-mask alert), `sinks` (JSON Lines files, webhook with retries), `runner` (watch()),
`actors` (each stream a Ray actor: `--engine ray`), `cli`.
"""

from __future__ import annotations

from maskwatch.callable_module import lazy_exports, make_callable

_EXPORTS = {
    "watch": "maskwatch.watch.runner",
    "load_config": "maskwatch.watch.config",
    "WatchConfig": "maskwatch.watch.config",
    "StreamWorker": "maskwatch.watch.stream",
    "EventSink": "maskwatch.watch.sinks",
    "WebhookSink": "maskwatch.watch.sinks",
}

__all__ = sorted(_EXPORTS)

__getattr__ = lazy_exports(__name__, _EXPORTS)


make_callable(__name__, "maskwatch.watch.runner", "watch")
