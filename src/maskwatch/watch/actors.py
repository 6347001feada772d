"""`maskwatch watch cameras.yaml --engine ray`: each camera a Ray actor, restarted if it dies.

The actor is maskwatch.watch's StreamWorker: it opens its stream in its constructor, so when its
process dies (a decoder crash, the node lost) Ray makes it again on a node with room and the
stream resumes; the driver sees a new `incarnation` and counts a restart. Each actor reserves
`cpus_per_stream` CPUs, which is what Ray places by. The driver polls every actor without ever
waiting on a slow one: a poll still in flight is simply not asked again until it answers.
"""

from __future__ import annotations

from contextlib import contextmanager

from maskwatch.scale.cluster import ray_session
from maskwatch.watch.config import WatchConfig
from maskwatch.watch.stream import StreamWorker

#: Process deaths an actor survives (each one reopens the stream) before its camera is failed.
MAX_RESTARTS = 10


class RayStreams:
    def __init__(self, ray, config: WatchConfig) -> None:
        self.ray = ray
        remote = ray.remote(StreamWorker)
        self.actors = {}
        for camera in config.cameras:
            detector, pipeline = config.camera_options(camera)
            self.actors[camera.name] = remote.options(
                name=f"maskwatch-stream-{camera.name}",  # one deployment per Ray job (namespace)
                num_cpus=config.cpus_per_stream,
                max_restarts=MAX_RESTARTS,
                max_task_retries=-1,  # a poll sent while the actor restarts waits for the new one
            ).remote(camera.model_dump(), detector, pipeline, config.alerts.model_dump())
        self._pending: dict = {}  # object ref -> camera name

    @classmethod
    @contextmanager
    def session(cls, config: WatchConfig, address: str | None):
        with ray_session(address) as ray:
            streams = cls(ray, config)
            try:
                yield streams
            finally:
                for actor in streams.actors.values():
                    ray.kill(actor, no_restart=True)

    def poll(self, names) -> list[dict]:
        """Answers that came in (within 0.1 s) from the named streams; never waits on a slow one."""
        asked = set(self._pending.values())
        for name in names:
            if name not in asked:
                actor = self.actors[name]
                self._pending[actor.poll.remote()] = name
        if not self._pending:
            return []
        ready, _ = self.ray.wait(list(self._pending), num_returns=len(self._pending), timeout=0.1)
        return [self._answer(ref) for ref in ready]

    def _answer(self, ref) -> dict:
        name = self._pending.pop(ref)
        try:
            return self.ray.get(ref)
        except self.ray.exceptions.RayError as exc:  # restarts used up, or the actor cannot be made
            return {
                "camera": name,
                "incarnation": None,
                "events": [],
                "frames": 0,
                "fps": 0.0,
                "done": True,
                "error": f"stream actor failed: {type(exc).__name__}: {str(exc).strip().splitlines()[0]}",
                "summary": None,
            }

    def stop(self, names) -> list[dict]:
        """Answers to the polls in flight, then each named stream's last poll after stopping it."""
        answers = []
        if self._pending:
            ready, _ = self.ray.wait(list(self._pending), num_returns=len(self._pending), timeout=5.0)
            answers += [self._answer(ref) for ref in ready]
            self._pending.clear()
        refs = {self.actors[name].stop.remote(): name for name in names}
        self._pending.update(refs)
        if refs:
            ready, _ = self.ray.wait(list(refs), num_returns=len(refs), timeout=30.0)
            answers += [self._answer(ref) for ref in ready]
        return answers
