"""Errors maskwatch raises on purpose.

Every error names the file (or source) and what is wrong with it, so a user can act on the
message without a traceback.
"""

from __future__ import annotations


class MaskwatchError(Exception):
    """Base class: something the user can fix (bad input, missing file, bad config)."""


class BadImageError(MaskwatchError):
    """An image could not be used: unreadable, truncated, not an image, or too large."""

    def __init__(self, path: object, reason: str) -> None:
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")


class ConfigError(MaskwatchError, ValueError):
    """A setting is unknown or out of range (maskwatch.settings names the key and the allowed range).

    Also a ValueError, which is what Python code passing a bad argument expects to catch.
    """


class ModelFileError(MaskwatchError):
    """A model file (classifier or face detector) is missing, corrupt or of an unknown kind."""


class SourceError(MaskwatchError):
    """A detection source (file, folder, camera, URL) cannot be opened or read."""
