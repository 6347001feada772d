"""Admission under overload: a bounded waiting room with a deadline, and a cap on decoded pixels.

The unit tests drive serve.admission.Admission on an event loop with made-up service times, so
each decision (start, wait, refuse with which Retry-After) is checked exactly. The HTTP tests use
the real model for the overload case and a stand-in detector only where the test must know how
many jobs run at the same moment.
"""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import supervision as sv

pytest.importorskip("fastapi")
from fastapi.testclient import TestClient  # noqa: E402

from maskwatch.serve.admission import Admission, Refused  # noqa: E402
from maskwatch.serve.app import create_app  # noqa: E402
from maskwatch.serve.settings import ServeSettings  # noqa: E402

LABELS = ["with_mask", "without_mask", "mask_weared_incorrect"]


def wait_ready(client: TestClient) -> None:
    deadline = time.monotonic() + 120
    while client.get("/readyz").status_code != 200:
        assert time.monotonic() < deadline, "models did not load"
        time.sleep(0.05)


def test_requests_wait_in_line_first_come_first_served() -> None:
    async def scenario() -> list[str]:
        admission = Admission(workers=1, max_waiting=8, max_wait=30, pixel_budget=100)
        order: list[str] = []
        await admission.acquire(10)  # the running job
        assert admission.running == 1

        async def client(name: str) -> None:
            await admission.acquire(10)
            order.append(name)

        waiting = [asyncio.create_task(client(n)) for n in ("a", "b", "c")]
        await asyncio.sleep(0)
        assert admission.waiting == 3 and order == []
        for _ in range(3):
            admission.release(10, 0.1)  # one job ends, the next in line starts
            await asyncio.sleep(0)
        await asyncio.gather(*waiting)
        assert admission.running == 1 and admission.waiting == 0
        return order

    assert asyncio.run(scenario()) == ["a", "b", "c"]


def test_refused_only_when_the_expected_wait_exceeds_the_deadline() -> None:
    async def scenario() -> None:
        admission = Admission(workers=1, max_waiting=50, max_wait=2.5, pixel_budget=100)
        admission.service_time = 1.0  # as measured on earlier jobs
        await admission.acquire(1)
        first = asyncio.create_task(admission.acquire(1))  # expects 1 s: waits
        second = asyncio.create_task(admission.acquire(1))  # expects 2 s: waits
        await asyncio.sleep(0)
        assert admission.waiting == 2
        with pytest.raises(Refused) as refused:  # would expect 3 s > 2.5 s: refused at once
            await admission.acquire(1)
        assert refused.value.reason == "deadline" and refused.value.retry_after == 3
        admission.release(1, 1.0)
        await first
        admission.release(1, 1.0)
        await second
        assert admission.waiting == 0

    asyncio.run(scenario())


def test_full_waiting_room_and_missed_deadline_are_refused() -> None:
    async def scenario() -> None:
        admission = Admission(workers=1, max_waiting=1, max_wait=0.05, pixel_budget=100)
        await admission.acquire(1)
        waiter = asyncio.create_task(admission.acquire(1))
        await asyncio.sleep(0)
        with pytest.raises(Refused) as full:
            await admission.acquire(1)
        assert full.value.reason == "queue_full"
        with pytest.raises(Refused) as late:  # the running job never ends: the wait times out
            await waiter
        assert late.value.reason == "deadline"
        assert admission.waiting == 0 and admission.running == 1

    asyncio.run(scenario())


def test_pixel_budget_runs_big_images_one_at_a_time() -> None:
    async def scenario() -> None:
        admission = Admission(workers=4, max_waiting=8, max_wait=30, pixel_budget=100)
        await admission.acquire(60)
        big = asyncio.create_task(admission.acquire(60))
        await asyncio.sleep(0)
        assert admission.running == 1 and admission.waiting == 1, "two 60 px jobs must not share a 100 px budget"
        admission.release(60, 0.5)
        await big
        assert admission.running == 1 and admission.pixels == 60
        small = asyncio.create_task(admission.acquire(30))  # fits beside it
        await small
        assert admission.running == 2 and admission.pixels == 90

    asyncio.run(scenario())


def test_big_image_is_refused_at_once_when_the_budget_frees_too_late() -> None:
    async def scenario() -> None:
        admission = Admission(workers=2, max_waiting=8, max_wait=5, pixel_budget=40_000_000)
        await admission.acquire(30_000_000)
        admission.release(30_000_000, 6.0)  # big images take 0.2 us per pixel here
        await admission.acquire(30_000_000)  # one is running again
        with pytest.raises(Refused) as refused:  # would wait ~6 s for the budget: no point waiting
            await admission.acquire(30_000_000)
        assert refused.value.reason == "pixel_budget" and refused.value.retry_after == 6
        await admission.acquire(1_000_000)  # a small image still fits beside it
        assert admission.running == 2

    asyncio.run(scenario())


def test_big_images_do_not_make_ordinary_requests_look_slow() -> None:
    async def scenario() -> None:
        admission = Admission(workers=2, max_waiting=32, max_wait=5, pixel_budget=40_000_000)
        for _ in range(4):  # ordinary photos: 0.1 s each
            await admission.acquire(300_000)
            admission.release(300_000, 0.1)
        for _ in range(8):  # then a burst of 39.7 Mpx uploads: 3 s each
            await admission.acquire(39_700_000)
            admission.release(39_700_000, 3.0)
        assert admission.service_time == pytest.approx(0.1)  # the burst taught the per-pixel speed only
        assert admission.pixel_seconds == pytest.approx(3.0 / 39_700_000)
        # 16 clients of ordinary photos: 2 run, 14 wait about 0.75 s; none is turned away.
        for _ in range(2):
            await admission.acquire(300_000)
        waiting = [asyncio.create_task(admission.acquire(300_000)) for _ in range(14)]
        await asyncio.sleep(0)
        assert admission.waiting == 14 and admission.expected_wait() == pytest.approx(0.75)
        # A big image in line counts with its own time (3 s), not as one more ordinary photo.
        big = asyncio.create_task(admission.acquire(10_000_000))
        await asyncio.sleep(0)
        assert admission.expected_wait() == pytest.approx(0.75 + max(0.1, 10_000_000 * 3.0 / 39_700_000) / 2)
        admission.close()
        await asyncio.gather(*waiting, big, return_exceptions=True)

    asyncio.run(scenario())


def test_closing_refuses_waiters_and_newcomers() -> None:
    async def scenario() -> None:
        admission = Admission(workers=1, max_waiting=8, max_wait=30, pixel_budget=100)
        await admission.acquire(1)
        waiter = asyncio.create_task(admission.acquire(1))
        await asyncio.sleep(0)
        admission.close()
        with pytest.raises(Refused) as gone:
            await waiter
        assert gone.value.reason == "shutting_down"
        with pytest.raises(Refused):
            await admission.acquire(1)

    asyncio.run(scenario())


def test_sixteen_clients_are_all_answered(data_dir: Path) -> None:
    """Overload with the default waiting room: 16 clients on 2 workers wait their turn, no 503."""
    images = [p.read_bytes() for p in sorted((data_dir / "voc3" / "images").glob("*.jpg"))[:4]]
    app = create_app(ServeSettings(workers=2, max_wait=120))  # deadline far away: this is about the line
    statuses: list[int] = []
    lock = threading.Lock()
    with TestClient(app) as client:
        wait_ready(client)
        start = threading.Barrier(16)

        def one_client(i: int) -> None:
            start.wait(30)
            for k in range(2):
                status = client.post("/api/v1/detect", content=images[(i + k) % len(images)]).status_code
                with lock:
                    statuses.append(status)

        threads = [threading.Thread(target=one_client, args=(i,)) for i in range(16)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(300)
        metrics = client.get("/metrics").text
    assert statuses == [200] * 32, f"statuses: {sorted(set(statuses))}"
    assert 'maskwatch_requests_total{route="/api/v1/detect",status="200"} 32.0' in metrics
    assert "maskwatch_queue_depth 0.0" in metrics


class CountingDetector:
    """Stand-in detector that records how many calls overlap (the pixel budget's observable)."""

    labels = LABELS
    classifier = None
    lock = threading.Lock()
    active = 0
    most = 0

    def process(self, rgb: np.ndarray) -> sv.Detections:
        cls = type(self)
        with cls.lock:
            cls.active += 1
            cls.most = max(cls.most, cls.active)
        time.sleep(0.3)  # long enough for the other request to arrive while this one runs
        with cls.lock:
            cls.active -= 1
        return sv.Detections.empty()


def test_decoded_pixels_in_flight_are_capped_across_workers(data_dir: Path) -> None:
    image = sorted((data_dir / "voc3" / "images").glob("*.jpg"))[0]
    from PIL import Image

    width, height = Image.open(image).size
    settings = ServeSettings(
        workers=3, max_pixels=width * height, max_pixels_in_flight=int(width * height * 1.5), max_wait=60
    )
    app = create_app(settings, detector_factory=CountingDetector)
    data = image.read_bytes()
    with TestClient(app) as client:
        wait_ready(client)
        results: list[int] = []
        threads = [
            threading.Thread(target=lambda: results.append(client.post("/api/v1/detect", content=data).status_code))
            for _ in range(3)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        peak = client.get("/metrics").text
    assert results == [200, 200, 200]
    assert CountingDetector.most == 1, "images beyond the pixel budget ran at the same time"
    assert "maskwatch_pixels_in_flight 0.0" in peak
