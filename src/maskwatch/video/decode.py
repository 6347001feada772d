"""PyAV decoding: video files and network streams (RTSP, RTMP, HTTP(S), UDP, SRT...) as RGB frames.

PyAV was picked by measurement and by how it fails (bench/bench_video.py, 640x480 H.264): OpenCV
decodes ~0.1 ms/frame faster, but that is noise beside the detector (~10 ms), and PyAV says *why*
it stops (truncated file, bad packet, refused connection) and takes an open/read timeout
(`av.open(timeout=(open, read))`), so an unreachable URL or a silent stream fails in seconds.

A file that breaks mid-way (truncated download, corrupt packets) yields every frame that decodes
and then warns (`SourceWarning`, also logged) naming the file and how many frames it decoded; with
`strict=True`, or when not a single frame decodes, it raises `SourceError` instead. A stream that
drops is reopened (`frames.ReconnectingSource`).
"""

from __future__ import annotations

import contextlib
import logging
import os
import warnings
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import numpy as np

from maskwatch.errors import SourceError
from maskwatch.video.frames import (
    BACKOFF,
    MAX_RETRIES,
    OPEN_TIMEOUT,
    READ_TIMEOUT,
    Frame,
    FrameSource,
    ReconnectingSource,
    SourceWarning,
    failure_reason,
)

log = logging.getLogger("maskwatch.video.sources")

#: Corrupt packets in a row after which a file is treated as unreadable from there on.
MAX_BAD_PACKETS = 25
#: URL schemes of live protocols (an http(s) stream is live when it has no known duration).
LIVE_SCHEMES = ("rtsp", "rtsps", "rtmp", "rtmps", "udp", "rtp", "srt", "tcp")


def _silence_ffmpeg() -> None:
    """FFmpeg prints every corrupt NAL unit to stderr; maskwatch reports problems itself."""
    import av.logging

    av.logging.set_level(av.logging.PANIC)


def _rate(stream) -> float | None:
    rate = stream.average_rate or stream.base_rate or stream.guessed_rate
    if not rate:
        return None
    value = float(rate)
    return value if 0.0 < value < 1000.0 else None


def _open_av(url: str, open_timeout: float, read_timeout: float, options: dict[str, str] | None = None):
    """av.open with timeouts and the options live protocols want; FFmpeg errors -> SourceError."""
    import av

    _silence_ffmpeg()
    opts = dict(options or {})
    scheme = url.split("://", 1)[0].lower() if "://" in url else ""
    if scheme in ("rtsp", "rtsps"):
        # TCP survives NAT and packet loss; UDP RTSP gives grey smeared frames on a lossy link.
        opts.setdefault("rtsp_transport", "tcp")
    try:
        container = av.open(url, mode="r", options=opts, timeout=(open_timeout, read_timeout))
    except (av.FFmpegError, OSError) as exc:
        raise _source_error(url, failure_reason(exc)) from None
    if not container.streams.video:
        container.close()
        raise _source_error(url, "no video stream")
    return container


def _source_error(url: str, reason: str) -> SourceError:
    error = SourceError(f"{url}: cannot open ({reason})")
    error.reason = reason
    return error


def _upright(frame) -> np.ndarray:
    """RGB pixels turned as the container's display matrix says (phones record portrait video as
    landscape frames plus a rotation tag; the face detector needs faces upright)."""
    image = frame.to_ndarray(format="rgb24")
    try:
        quarter_turns = round(float(frame.rotation) / 90.0) % 4
    except (AttributeError, TypeError, ValueError):
        return image
    # rotation is counter-clockwise, as is np.rot90 for positive k.
    return np.ascontiguousarray(np.rot90(image, k=quarter_turns)) if quarter_turns else image


class _AVSource(FrameSource):
    """Shared PyAV decoding: packets -> frames, corrupt packets skipped and counted."""

    def __init__(self, url: str, open_timeout: float, read_timeout: float, threads: int) -> None:
        self.url = url
        self.open_timeout = float(open_timeout)
        self.read_timeout = float(read_timeout)
        self.threads = int(threads)
        self.container = None
        self._open()

    def _open(self) -> None:
        self.container = _open_av(self.url, self.open_timeout, self.read_timeout)
        stream = self.container.streams.video[0]
        if self.threads > 1:
            stream.thread_type = "AUTO"
            stream.codec_context.thread_count = self.threads
        else:
            stream.thread_count = 1
        self.stream = stream
        self.fps = _rate(stream) or self.fps
        if stream.codec_context.width and stream.codec_context.height:
            self.size = (int(stream.codec_context.width), int(stream.codec_context.height))
        self._start_pts: int | None = None

    def _frames(self) -> Iterator[tuple[float | None, np.ndarray]]:
        """(seconds from the first frame or None, RGB) for every frame that decodes.

        Raises av.FFmpegError / OSError when the container itself fails (demuxer error, timeout);
        single corrupt packets are skipped and counted in `bad_packets`.
        """
        import av

        self.bad_packets = 0
        bad_in_a_row = 0
        for packet in self.container.demux(self.stream):
            try:
                frames = packet.decode()
            except av.FFmpegError as exc:
                self.bad_packets += 1
                bad_in_a_row += 1
                self.last_problem = failure_reason(exc)
                if bad_in_a_row >= MAX_BAD_PACKETS:
                    raise
                continue
            bad_in_a_row = 0
            for frame in frames:
                yield self._seconds(frame), _upright(frame)

    def _seconds(self, frame) -> float | None:
        if frame.pts is None or frame.time_base is None:
            return None
        if self._start_pts is None:
            self._start_pts = frame.pts
        return float((frame.pts - self._start_pts) * Fraction(frame.time_base))

    def close(self) -> None:
        if self.container is not None:
            # Closing a broken connection can raise; there is nothing left to save.
            with contextlib.suppress(Exception):
                self.container.close()
            self.container = None


class VideoFileSource(_AVSource):
    """A video file decoded with PyAV. `time` is the frame's presentation time (pts) in seconds.

    >>> with VideoFileSource("clip.mp4") as src:
    ...     for frame in src:
    ...         print(frame.index, frame.time, frame.image.shape)
    """

    live = False

    def __init__(self, path: str | os.PathLike, strict: bool = False, threads: int = 1) -> None:
        self.path = Path(path)
        self.name = str(self.path)
        self.strict = strict
        self.problem: str | None = None
        if not self.path.exists():
            raise SourceError(f"{self.path}: video file not found")
        if not self.path.is_file():
            raise SourceError(f"{self.path}: not a file")
        try:
            super().__init__(str(self.path), OPEN_TIMEOUT, READ_TIMEOUT, threads)
        except SourceError as exc:
            reason = getattr(exc, "reason", str(exc))
            raise SourceError(f"{self.path}: not a readable video ({reason}); truncated, or not a video?") from None
        frames = int(self.stream.frames or 0)
        self.frame_count = frames or None

    def __iter__(self) -> Iterator[Frame]:
        import av

        if self.container is None:
            raise SourceError(f"{self.path}: source is closed")
        index = 0
        failure: str | None = None
        self.last_problem = ""
        try:
            for seconds, image in self._frames():
                if seconds is None:
                    seconds = index / self.fps if self.fps else 0.0
                yield Frame(index, seconds, image)
                index += 1
        except (av.FFmpegError, OSError) as exc:
            failure = failure_reason(exc)
        self.frames_read = index
        problems = []
        if failure:
            problems.append(f"decoding stopped ({failure})")
        if self.bad_packets:
            problems.append(f"{self.bad_packets} corrupt packet(s) skipped ({self.last_problem})")
        if self.frame_count and index < self.frame_count:
            problems.append(f"the file says {self.frame_count} frames")
        if problems:
            details = "; ".join(problems)
            self._report(
                f"{self.path}: video is truncated or corrupt: decoded {index} frame(s); {details}", fatal=index == 0
            )

    def _report(self, message: str, fatal: bool = False) -> None:
        self.problem = message
        if self.strict or fatal:
            raise SourceError(message)
        log.warning(message)
        warnings.warn(message, SourceWarning, stacklevel=3)


class StreamSource(_AVSource, ReconnectingSource):
    """An RTSP/RTMP/HTTP(S)/UDP stream via PyAV, reopened when it drops.

    Opening fails fast: one attempt bounded by `open_timeout`, then `SourceError` (a wrong URL
    should be reported, not retried for a minute). Once frames have flowed, a read error, a
    silence longer than `read_timeout` or an end of stream on a live protocol triggers up to
    `max_retries` reopen attempts with exponential backoff (`backoff`, doubling, capped at 8 s);
    the attempt counter resets after each successful frame. Frame indexes keep counting across
    reconnects; `time` is seconds since the first frame (wall clock), because live pts restart.
    `live=None` guesses from the URL scheme (rtsp/rtmp/udp/... are live; http(s) is live only when
    the stream has no known duration, e.g. MJPEG cameras).
    """

    def __init__(
        self,
        url: str,
        open_timeout: float = OPEN_TIMEOUT,
        read_timeout: float = READ_TIMEOUT,
        max_retries: int = MAX_RETRIES,
        backoff: float = BACKOFF,
        live: bool | None = None,
        threads: int = 1,
    ) -> None:
        import av

        self.name = url
        self._recoverable = (av.FFmpegError, OSError, SourceError)
        self._lost = "stream lost"
        self.max_retries = int(max_retries)
        self.backoff = float(backoff)
        self.reconnects = 0
        super().__init__(url, open_timeout, read_timeout, threads)
        scheme = url.split("://", 1)[0].lower()
        if live is None:
            live = scheme in LIVE_SCHEMES or self.container.duration is None
        self.live = bool(live)
        if not self.live:
            self.frame_count = int(self.stream.frames or 0) or None

    def _session(self) -> Iterator[tuple[float | None, np.ndarray]]:
        if self.container is None:
            self._open()
        yield from self._frames()

    def _gave_up(self, failure: str) -> SourceError:
        return SourceError(
            f"{self.url}: stream lost ({failure}) and not back after {self.max_retries} reconnect attempt(s)"
        )
