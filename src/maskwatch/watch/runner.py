"""`maskwatch watch cameras.yaml`: every camera of a deployment at once, events to one sink.

One StreamWorker (one VideoPipeline) per camera: threads of this process with the local engine,
Ray actors with `engine="ray"` (maskwatch.watch.actors: placed wherever the cluster has room,
restarted if their process dies). Either way this process polls the workers a few times a second
and hands their events to the deployment's sink, so a slow webhook never reaches a camera.
"""

from __future__ import annotations

import os
import sys
import time

from maskwatch.errors import ConfigError
from maskwatch.watch.config import WatchConfig, load_config
from maskwatch.watch.sinks import EventSink
from maskwatch.watch.stream import StreamWorker

POLL_SECONDS = 0.2
RESTARTED = "stream_restarted"


class LocalStreams:
    """Workers as threads of this process."""

    def __init__(self, config: WatchConfig) -> None:
        self.workers = {}
        for camera in config.cameras:
            detector, pipeline = config.camera_options(camera)
            alerts = config.alerts.model_dump()
            self.workers[camera.name] = StreamWorker(camera.model_dump(), detector, pipeline, alerts)

    def poll(self, names) -> list[dict]:
        return [self.workers[name].poll() for name in names]

    def stop(self, names) -> list[dict]:
        for name in names:
            self.workers[name].request_stop()
        return [self.workers[name].stop() for name in names]


def watch(
    config: str | os.PathLike | WatchConfig,
    engine: str = "local",
    address: str | None = None,
    duration: float | None = None,
    save_json: str | os.PathLike | None = None,
    verbose: bool = True,
) -> dict:
    """Run every camera of config until all end (files, max_frames), `duration` seconds pass or Ctrl-C.

    save_json: also write the report there (atomically).

    Returns {"cameras": {name: {"frames", "fps", "events", "restarts", "error", "summary"}},
    "sink": the sink's counts (events written, webhook sent / dropped), "seconds"}.
    """
    if not isinstance(config, WatchConfig):
        config = load_config(config)
    if engine not in ("local", "ray"):
        raise ConfigError(f"engine must be 'local' or 'ray', got {engine!r}")
    if engine == "local" and address is not None:
        raise ConfigError("--address is for --engine ray")
    started = time.monotonic()
    state = {
        c.name: {"frames": 0, "fps": 0.0, "events": 0, "restarts": 0, "error": None, "summary": None, "done": False}
        for c in config.cameras
    }
    incarnations: dict[str, str] = {}
    sink = EventSink(config.sink)
    try:
        if engine == "ray":
            from maskwatch.watch.actors import RayStreams

            with RayStreams.session(config, address) as streams:
                _loop(streams, state, incarnations, sink, started, duration, verbose)
        else:
            _loop(LocalStreams(config), state, incarnations, sink, started, duration, verbose)
    finally:
        sink_stats = sink.close()
    for camera in state.values():
        camera.pop("done")
    report = {"cameras": state, "sink": sink_stats, "seconds": round(time.monotonic() - started, 3)}
    if save_json is not None:
        import json

        from maskwatch.atomic import atomic_write_text

        atomic_write_text(save_json, json.dumps(report, indent=2) + "\n")
    if verbose:
        _print_report(report)
    return report


def _loop(streams, state, incarnations, sink, started, duration, verbose) -> None:
    try:
        while not all(camera["done"] for camera in state.values()):
            for poll in streams.poll([name for name, camera in state.items() if not camera["done"]]):
                _take(poll, state, incarnations, sink, verbose)
            if duration is not None and time.monotonic() - started >= duration:
                break
            time.sleep(POLL_SECONDS)
    except KeyboardInterrupt:
        if verbose:
            print("stopping the streams ...", file=sys.stderr)
    finally:
        running = [name for name, camera in state.items() if not camera["done"]]
        for poll in streams.stop(running):
            _take(poll, state, incarnations, sink, verbose)


def _take(poll: dict, state: dict, incarnations: dict, sink: EventSink, verbose: bool) -> None:
    name = poll["camera"]
    camera = state[name]
    previous = incarnations.get(name)
    if previous is not None and poll["incarnation"] not in (None, previous):
        camera["restarts"] += 1
        sink.emit({"type": "event", "event": RESTARTED, "camera": name, "restarts": camera["restarts"]})
        if verbose:
            print(f"{name}: stream restarted ({camera['restarts']})", file=sys.stderr)
    incarnations[name] = poll["incarnation"]
    for event in poll["events"]:
        sink.emit(event)
    camera["events"] += len(poll["events"])
    camera["frames"] = poll["frames"]
    camera["fps"] = poll["fps"]
    if poll["done"] and not camera["done"]:
        camera["done"] = True
        camera["error"] = poll["error"]
        camera["summary"] = poll["summary"]
        if verbose and poll["error"]:
            print(f"{name}: {poll['error']}", file=sys.stderr)


def _print_report(report: dict) -> None:
    lines = []
    for name, camera in report["cameras"].items():
        people = (camera["summary"] or {}).get("people")
        line = f"{name}: {camera['frames']} frame(s), {camera['fps']:.1f} fps, {camera['events']} event(s)"
        if people is not None:
            line += f", {people} people"
        if camera["restarts"]:
            line += f", {camera['restarts']} restart(s)"
        if camera["error"]:
            line += f", FAILED: {camera['error']}"
        lines.append(line)
    hook = report["sink"].get("webhook")
    if hook:
        lines.append(f"webhook {hook['url']}: {hook['sent']} sent, {hook['dropped']} dropped")
    print("\n".join(lines), file=sys.stderr)
