"""Where maskwatch keeps the files it downloads, and whether it may download at all.

One answer for every stage: the YuNet face model (`detect`), ImageNet backbone weights (`models`)
and the synthetic-data tool all read `MASKWATCH_HOME` and `MASKWATCH_OFFLINE` through here.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

_FALSE = ("", "0", "false", "no", "off")


def maskwatch_home() -> Path:
    """Env MASKWATCH_HOME, else the per-user cache folder (`~/.cache/maskwatch` on Linux)."""
    override = os.environ.get("MASKWATCH_HOME")
    if override:
        return Path(override).expanduser()
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local")
        return base / "maskwatch" / "Cache"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Caches" / "maskwatch"
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "maskwatch"


def offline() -> bool:
    """True when env MASKWATCH_OFFLINE forbids downloads (any value but empty, 0, false, no, off)."""
    return os.environ.get("MASKWATCH_OFFLINE", "").strip().lower() not in _FALSE
