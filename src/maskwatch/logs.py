"""How much the `maskwatch` command says: maskwatch's own lines and other libraries' warnings by
default (`-q` of a command keeps warnings and errors only), everything with --verbose.

TensorFlow, absl, LiteRT's XNNPACK delegate and OpenCV print INFO lines from C++ as they load
(37 of them before `maskwatch export` printed its table). Their levels are set through the
environment before those libraries are imported, which is why this runs first in the CLI. As a
library maskwatch configures nothing: its loggers have a NullHandler (see maskwatch/__init__.py),
so an application decides what is shown.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import threading
from collections.abc import Iterator

#: Environment variables that make the native libraries quiet below warnings.
QUIET_ENV = {
    "TF_CPP_MIN_LOG_LEVEL": "1",  # TensorFlow / LiteRT C++: hide INFO (I0000 ..., XNNPACK delegate)
    "GRPC_VERBOSITY": "ERROR",
    "GLOG_minloglevel": "1",
    "OPENCV_LOG_LEVEL": "WARNING",
    "OPENCV_FFMPEG_LOGLEVEL": "16",  # AV_LOG_ERROR
}
VERBOSE_ENV = {"TF_CPP_MIN_LOG_LEVEL": "0", "OPENCV_LOG_LEVEL": "INFO"}


class _Stderr(logging.StreamHandler):
    """Writes to whatever sys.stderr is at the time (test runners and CliRunner swap it)."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, value) -> None:
        pass


class _Formatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        if record.levelno >= logging.WARNING:
            return f"{record.levelname.lower()}: {message}"
        return message


def configure(verbose: bool = False) -> None:
    """Set the native libraries' log levels (before they load) and show maskwatch's own log lines."""
    os.environ[_QUIET_NATIVE] = "0" if verbose else "1"
    for name, value in (VERBOSE_ENV if verbose else QUIET_ENV).items():
        if verbose:
            os.environ[name] = value
        else:
            os.environ.setdefault(name, value)
    handler = _Stderr()
    handler.setFormatter(_Formatter())
    root = logging.getLogger("maskwatch")
    root.handlers = [h for h in root.handlers if not isinstance(h, _Stderr)] + [handler]
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    for noisy in ("absl", "tensorflow", "h5py", "matplotlib", "PIL"):
        logging.getLogger(noisy).setLevel(logging.INFO if verbose else logging.WARNING)


#: "0" (set by `maskwatch --verbose`, or by a program) lets native INFO lines that no setting
#: controls through; by default they are swallowed, for the CLI and library calls alike.
_QUIET_NATIVE = "MASKWATCH_QUIET_NATIVE"
_native_lock = threading.Lock()


def is_verbose() -> bool:
    """True when the `maskwatch` command runs with --verbose."""
    return os.environ.get(_QUIET_NATIVE) == "0"


@contextlib.contextmanager
def quiet_native_stderr() -> Iterator[None]:
    """Send file descriptor 2 to /dev/null for the block, unless verbose.

    LiteRT prints "INFO: Created TensorFlow Lite XNNPACK delegate for CPU." from C++ when it first
    allocates tensors, whatever TF_CPP_MIN_LOG_LEVEL says (google-ai-edge/LiteRT#7420), so the
    only way to hide it is at the file descriptor, for that one call (milliseconds, once per batch
    size; output of other threads in that window is lost too). MASKWATCH_QUIET_NATIVE=0 keeps it.
    """
    if os.environ.get(_QUIET_NATIVE) == "0":
        yield
        return
    with _native_lock:
        sys.stderr.flush()
        saved = os.dup(2)
        try:
            with open(os.devnull, "w") as null:
                os.dup2(null.fileno(), 2)
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)


def quiet() -> None:
    """A command's -q: maskwatch's own INFO lines go too; warnings and errors (skipped files) stay."""
    logging.getLogger("maskwatch").setLevel(logging.WARNING)
