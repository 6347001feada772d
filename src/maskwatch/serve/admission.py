"""Admission to the inference workers: a bounded FIFO waiting room with a deadline and a pixel budget.

Why a waiting room with a deadline rather than refusing whenever every worker is busy: refusing
at once sends clients back within milliseconds, they retry in a storm and the server spends its
CPU turning them away (16 clients got a third of the throughput 4 clients got). Here a request
waits its turn while the wait it can expect stays under `max_wait`; only when the expected wait
(requests ahead of it x the measured service time / workers) is longer, or the room is full, is
it refused at once with 503 and a Retry-After equal to that expected wait. Admitted requests so
finish within about `max_wait` + one service time, which bounds their p99.

Why a pixel budget: memory follows decoded pixels, not upload bytes (a 38 kB PNG decodes to
40 Mpx). Every job declares its pixel cost from the image header before anything is decoded,
and jobs start only while the pixels in flight fit `pixel_budget`; a big image waits for the
budget like any other request waits for a worker, so a burst of them runs one after another
instead of all at once.

Everything here runs on the event loop thread; the only thing a worker thread does is
schedule `_finished` back onto the loop when its job ends (not when an impatient client goes
away, so abandoned jobs still hold their worker and pixels until they really stop).
"""

from __future__ import annotations

import asyncio
import contextlib
import math
from collections import deque
from dataclasses import dataclass, field

#: Jobs from this many decoded pixels on teach the admission how long big images take.
BIG_JOB_PIXELS = 4_000_000


class Refused(Exception):
    """The request cannot start within the deadline; `retry_after` is the wait the server expects."""

    def __init__(self, reason: str, retry_after: float) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = max(1, math.ceil(retry_after))


@dataclass
class _Ticket:
    cost: int
    granted: asyncio.Future = field(repr=False)


class Admission:
    """`workers` jobs at a time, `pixel_budget` decoded pixels at a time, `max_waiting` in line."""

    def __init__(self, workers: int, max_waiting: int, max_wait: float, pixel_budget: int) -> None:
        self.workers = int(workers)
        self.max_waiting = int(max_waiting)
        self.max_wait = float(max_wait)
        self.pixel_budget = int(pixel_budget)
        self.running = 0
        self.pixels = 0
        self._line: deque[_Ticket] = deque()
        #: Mean job duration in seconds (exponentially weighted); None until a job has finished.
        self.service_time: float | None = None
        #: Seconds per decoded pixel of big jobs (>= BIG_JOB_PIXELS), exponentially weighted; None
        #: until one has finished. Predicts how long a big image holds the pixel budget.
        self.pixel_seconds: float | None = None
        self._closed = False

    @property
    def waiting(self) -> int:
        return len(self._line)

    def predicted(self, cost: int) -> float:
        """Seconds a job of `cost` decoded pixels is expected to hold its worker."""
        service = self.service_time if self.service_time is not None else 0.0
        if cost >= BIG_JOB_PIXELS and self.pixel_seconds is not None:
            return max(service, self.pixel_seconds * cost)
        return service

    def expected_wait(self) -> float:
        """Seconds a request joining the line now should expect to wait before it starts."""
        if self.running < self.workers and not self._line:
            return 0.0
        # Everyone ahead (each by its own size) plus one turn of the running jobs drain at
        # `workers` jobs at a time.
        work = sum(self.predicted(ticket.cost) for ticket in self._line) + self.predicted(0)
        return work / self.workers

    def pixel_wait(self, cost: int) -> float:
        """Seconds until `cost` more pixels fit the budget, from the big jobs' measured speed
        (an upper bound: the running jobs have already done part of their work)."""
        if self.pixels == 0 or self.pixels + cost <= self.pixel_budget or self.pixel_seconds is None:
            return 0.0
        return self.pixel_seconds * self.pixels

    def check(self, cost: int = 0) -> None:
        """Refuse now (cheap: before the upload is read) when joining the line is pointless."""
        if self._closed:
            raise Refused("shutting_down", 5)
        waiting_for_pixels = self.pixel_wait(cost)
        if waiting_for_pixels > self.max_wait:
            raise Refused("pixel_budget", waiting_for_pixels)
        if self.running < self.workers and not self._line:
            return
        if self.waiting >= self.max_waiting:
            raise Refused("queue_full", max(self.expected_wait(), 1))
        expected = self.expected_wait()
        if expected > self.max_wait:
            raise Refused("deadline", expected)

    def _fits(self, cost: int) -> bool:
        # A job bigger than the whole budget still runs, alone (settings keep that from happening).
        return self.running < self.workers and (self.pixels == 0 or self.pixels + cost <= self.pixel_budget)

    async def acquire(self, cost: int) -> None:
        """Wait for a worker and `cost` pixels of budget, or raise Refused."""
        self.check(cost)
        if not self._line and self._fits(cost):
            self._start(cost)
            return
        ticket = _Ticket(cost, asyncio.get_running_loop().create_future())
        self._line.append(ticket)
        try:
            await asyncio.wait_for(asyncio.shield(ticket.granted), timeout=self.max_wait)
        except TimeoutError:
            if ticket.granted.done() and not ticket.granted.cancelled():
                return  # granted in the same instant: keep it
            self._drop(ticket)
            raise Refused("deadline", self.expected_wait()) from None
        except BaseException:
            if ticket.granted.done() and not ticket.granted.cancelled() and ticket.granted.exception() is None:
                self.release(cost, 0.0, count=False)  # granted, but the client is gone: give it back
            else:
                self._drop(ticket)
            raise
        if ticket.granted.exception() is not None:
            raise ticket.granted.exception()

    def _drop(self, ticket: _Ticket) -> None:
        with contextlib.suppress(ValueError):
            self._line.remove(ticket)
        if not ticket.granted.done():
            ticket.granted.cancel()
        self._pump()

    def _start(self, cost: int) -> None:
        self.running += 1
        self.pixels += cost

    def release(self, cost: int, seconds: float, count: bool = True) -> None:
        """A job ended after `seconds`: free its worker and pixels, start whoever fits next."""
        self.running -= 1
        self.pixels -= cost
        if count and cost >= BIG_JOB_PIXELS:
            # A big image teaches only the per-pixel speed: counted in the service time of
            # ordinary requests, a burst of them made the server refuse ordinary requests that
            # would have started in time for a dozen jobs afterwards.
            rate = seconds / cost
            self.pixel_seconds = rate if self.pixel_seconds is None else 0.5 * self.pixel_seconds + 0.5 * rate
        elif count:
            self.service_time = seconds if self.service_time is None else 0.8 * self.service_time + 0.2 * seconds
        self._pump()

    def _pump(self) -> None:
        while self._line and self._fits(self._line[0].cost):
            ticket = self._line.popleft()
            if ticket.granted.done():
                continue
            self._start(ticket.cost)
            ticket.granted.set_result(None)

    def close(self) -> None:
        """Refuse everything from now on, and everyone still in line."""
        self._closed = True
        while self._line:
            ticket = self._line.popleft()
            if not ticket.granted.done():
                ticket.granted.set_exception(Refused("shutting_down", 5))
