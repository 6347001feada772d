"""`maskwatch watch cameras.yaml`: several file streams at once, event logs, webhook, Ray actors.

The streams are pans over real voc3 crowd photos (maskwatch.video.demo), so people appear, are
tracked and disappear. The webhook receiver is an HTTP server on 127.0.0.1 started here.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

from maskwatch.cli import app
from maskwatch.data.voc import parse_voc_xml
from maskwatch.errors import ConfigError
from maskwatch.images import load_image
from maskwatch.video.demo import make_pan_clip
from maskwatch.watch import load_config, watch

FRAMES = 30
#: The stream the Ray test kills: long enough that it is still running when the kill lands (with
#: 30 frames it sometimes finished first on a loaded machine, and no restart was counted).
LONG_FRAMES = 240
SCENES = {"door": "maksssksksss389", "lobby": "maksssksksss104"}


@pytest.fixture(scope="module")
def clips(data_dir: Path, tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("clips")
    out = {}
    for name, scene in SCENES.items():
        ann = parse_voc_xml(data_dir / "voc3" / "annotations" / f"{scene}.xml")
        image = load_image(data_dir / "voc3" / "images" / f"{scene}.jpg")
        boxes = np.array([o.box for o in ann.objects], dtype=np.float32)
        out[name] = make_pan_clip(
            image, boxes, [o.name for o in ann.objects], folder / f"{name}.mp4", frames=FRAMES
        ).path
    return out


@pytest.fixture(scope="module")
def long_door(data_dir: Path, tmp_path_factory) -> Path:
    scene = SCENES["door"]
    ann = parse_voc_xml(data_dir / "voc3" / "annotations" / f"{scene}.xml")
    image = load_image(data_dir / "voc3" / "images" / f"{scene}.jpg")
    boxes = np.array([o.box for o in ann.objects], dtype=np.float32)
    path = tmp_path_factory.mktemp("long") / "door.mp4"
    return make_pan_clip(image, boxes, [o.name for o in ann.objects], path, frames=LONG_FRAMES).path


def write_config(folder: Path, clips: dict[str, Path], sink: dict) -> Path:
    config = {
        "sink": sink,
        "alerts": {"labels": ["without_mask"], "after": 0.2},
        "cameras": [{"name": name, "source": str(path)} for name, path in clips.items()],
    }
    path = folder / "cameras.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


def read_events(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def without_clock(events: list[dict]) -> list[dict]:
    return [{k: v for k, v in e.items() if k != "wall_time"} for e in events]


class Receiver:
    """A webhook receiver on 127.0.0.1 that answers 503 to its first `fail_first` POSTs."""

    def __init__(self, fail_first: int = 0) -> None:
        self.batches: list[list[dict]] = []
        self.refused = 0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if receiver.refused < fail_first:
                    receiver.refused += 1
                    self.send_response(503)
                else:
                    receiver.batches.append(json.loads(body))
                    self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/events"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()

    @property
    def events(self) -> list[dict]:
        return [event for batch in self.batches for event in batch]


@pytest.fixture(scope="module")
def local_run(clips, tmp_path_factory):
    """Two file streams at once, events to JSON Lines and to a webhook that refuses its first POST."""
    folder = tmp_path_factory.mktemp("watch")
    with Receiver(fail_first=1) as receiver:
        hook = {"url": receiver.url, "retries": 3, "backoff": 0.05}
        config = write_config(folder, clips, {"jsonl": "events", "webhook": hook})
        result = CliRunner().invoke(app, ["watch", str(config), "--save-json", str(folder / "report.json")])
    return folder, result, receiver


def test_watch_runs_two_file_streams_at_once_and_writes_both_event_logs(local_run):
    folder, result, _ = local_run
    assert result.exit_code == 0, result.output
    report = json.loads((folder / "report.json").read_text())
    alerts = 0
    for name in SCENES:
        camera = report["cameras"][name]
        assert (camera["frames"], camera["error"], camera["restarts"]) == (FRAMES, None, 0)
        events = read_events(folder / "events" / f"{name}.jsonl")
        assert events and all(e["camera"] == name for e in events)
        assert camera["events"] == len(events)
        appeared = {e["track_id"] for e in events if e["event"] == "appeared"}
        gone = {e["track_id"] for e in events if e["event"] == "disappeared"}
        assert len(appeared) >= 3 and appeared == gone  # everyone who came in left when the clip ended
        assert camera["summary"]["people"] == len(appeared)
        for alert in (e for e in events if e["event"] == "no_mask_alert"):
            assert alert["label"] == "without_mask" and alert["seconds"] >= 0.2
            alerts += 1
    assert alerts  # the crowds have people without a mask, seen for longer than 0.2 s


def test_the_webhook_receiver_gets_every_event(local_run):
    folder, _, receiver = local_run
    written = [e for name in SCENES for e in read_events(folder / "events" / f"{name}.jsonl")]
    assert receiver.refused == 1  # the first POST was answered 503 and sent again
    key = lambda e: json.dumps(e, sort_keys=True)  # noqa: E731
    assert sorted(map(key, receiver.events)) == sorted(map(key, written))
    hook = json.loads((folder / "report.json").read_text())["sink"]["webhook"]
    assert (hook["sent"], hook["dropped"], hook["retries"]) == (len(written), 0, 1)


def test_a_receiver_that_is_down_does_not_stop_the_streams(clips, tmp_path: Path):
    with socket.socket() as probe:  # a port on 127.0.0.1 nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    hook = {"url": f"http://127.0.0.1:{port}/events", "retries": 2, "backoff": 0.05, "timeout": 0.5}
    config = write_config(tmp_path, clips, {"jsonl": "events", "webhook": hook})
    report = watch(config, verbose=False)
    assert all(c["frames"] == FRAMES and c["error"] is None for c in report["cameras"].values())
    events = sum(len(read_events(tmp_path / "events" / f"{name}.jsonl")) for name in SCENES)
    assert events > 0
    stats = report["sink"]["webhook"]
    assert (stats["sent"], stats["dropped"]) == (0, events)  # retried, then counted as dropped
    assert stats["retries"] >= 2


def test_exit_code_is_1_when_a_stream_failed_and_2_when_all_did(clips, tmp_path: Path):
    gone = tmp_path / "gone.mp4"
    config = write_config(tmp_path, {"door": clips["door"], "gone": gone}, {"jsonl": "events"})
    some = CliRunner().invoke(app, ["watch", str(config), "-q"])
    assert some.exit_code == 1, some.output
    assert "gone.mp4" in some.stderr and "1 stream(s) failed, 1 processed" in some.stderr
    config = write_config(tmp_path, {"gone": gone}, {"jsonl": "events"})
    none = CliRunner().invoke(app, ["watch", str(config), "-q"])
    assert none.exit_code == 2 and "nothing was processed" in none.stderr, none.output


def test_the_ray_engine_runs_each_stream_as_an_actor_and_restarts_it(clips, long_door, local_run, tmp_path: Path):
    ray = pytest.importorskip("ray")
    local_folder = local_run[0]
    config = write_config(tmp_path, {"door": long_door, "lobby": clips["lobby"]}, {"jsonl": "events"})
    ray.init(
        address="local",
        num_cpus=2,
        include_dashboard=False,
        object_store_memory=128 * 1024**2,
        log_to_driver=False,
    )
    try:
        killed = []

        def kill_door_once() -> None:
            deadline = time.monotonic() + 120
            log = tmp_path / "events" / "door.jsonl"
            while time.monotonic() < deadline and not (log.exists() and log.stat().st_size):
                time.sleep(0.1)
            actor = ray.get_actor("maskwatch-stream-door")
            ray.kill(actor, no_restart=False)  # the process dies as in a crash; Ray makes it again
            killed.append(True)

        killer = threading.Thread(target=kill_door_once, daemon=True)
        killer.start()
        report = watch(config, engine="ray", verbose=False)
        killer.join(5)
    finally:
        ray.shutdown()
    assert killed
    door, lobby = report["cameras"]["door"], report["cameras"]["lobby"]
    assert (door["restarts"], door["frames"], door["error"]) == (1, LONG_FRAMES, None)
    assert (lobby["restarts"], lobby["frames"], lobby["error"]) == (0, FRAMES, None)
    # The stream that was not touched gives exactly the events of the local engine.
    lobby_events = read_events(tmp_path / "events" / "lobby.jsonl")
    assert without_clock(lobby_events) == without_clock(read_events(local_folder / "events" / "lobby.jsonl"))
    door_events = read_events(tmp_path / "events" / "door.jsonl")
    assert [e["event"] for e in door_events].count("stream_restarted") == 1


def test_cameras_yaml_is_checked(tmp_path: Path):
    path = tmp_path / "cameras.yaml"
    path.write_text("cameras:\n  - {name: a, source: 0}\n  - {name: a, source: 1, options: {speed: 2}}\n")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert "cameras.yaml" in str(info.value) and "speed" in str(info.value)
    path.write_text("cameras:\n  - {name: a, source: 0}\n  - {name: a, source: 1}\n")
    with pytest.raises(ConfigError, match="unique"):
        load_config(path)
    path.write_text("cameras:\n  - {name: a, source: 0, options: {classify_every: 0}}\n")
    with pytest.raises(ConfigError, match="classify_every"):  # the video settings' own ranges
        load_config(path)
    path.write_text("cameras: []\nsink: {webhook: {url: ftp://x}}\n")
    with pytest.raises(ConfigError, match="http"):
        load_config(path)


def test_the_no_mask_alert_fires_once_per_stretch_after_the_delay():
    from maskwatch.watch.alerts import NoMaskAlerts

    alerts = NoMaskAlerts(["without_mask"], after=1.0)
    fired = []
    # Track 7: no mask from t=0, alert at t=1.0 (not before, not again); mask on at t=2; off again at t=3.
    timeline = [
        (0.0, "without_mask"),
        (0.5, "without_mask"),
        (1.0, "without_mask"),
        (1.5, "without_mask"),
        (2.0, "with_mask"),
        (3.0, "without_mask"),
        (3.9, "without_mask"),
        (4.0, "without_mask"),
    ]
    for frame, (t, label) in enumerate(timeline):
        fired += [(a["time"], a["seconds"]) for a in alerts.update(frame, t, [7, -1], [label, "without_mask"])]
    assert fired == [(1.0, 1.0), (4.0, 1.0)]  # untracked faces (id -1) never alert
