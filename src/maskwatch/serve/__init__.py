"""The maskwatch web app and REST API: `create_app(settings)` builds it, `maskwatch serve` runs it."""

from __future__ import annotations

from maskwatch.serve.settings import ServeSettings

__all__ = ["ServeSettings", "create_app"]


def create_app(settings: ServeSettings | None = None, **kwargs):
    """Build the FastAPI app (imported lazily so `import maskwatch.serve` stays light)."""
    from maskwatch.serve.app import create_app as _create_app

    return _create_app(settings, **kwargs)
