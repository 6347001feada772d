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

__getattr__, __all__ = lazy_exports(
    __name__,
    {
        "maskwatch.watch.runner": ["watch"],
        "maskwatch.watch.config": ["load_config", "WatchConfig"],
        "maskwatch.watch.stream": ["StreamWorker"],
        "maskwatch.watch.sinks": ["EventSink", "WebhookSink"],
    },
)


make_callable(__name__, "maskwatch.watch.runner", "watch")
