"""Load-test `maskwatch serve`: throughput, latency percentiles, errors and server memory.

Starts the real server (`python -m maskwatch serve`) on 127.0.0.1 in a subprocess, then:

1. nominal: N concurrent clients POST real voc3 images to /api/v1/detect (bounded by a request
   count and a time limit); every answer must be 200 (the bar: zero errors);
2. bad requests: a burst of refused uploads (junk, empty, decompression bomb, oversize) must all
   get their 4xx JSON and leave the server's memory flat;
3. hostile: concurrent uploads of tiny PNGs that decode to 39.7 Mpx (just under the pixel limit);
   server RSS is sampled every 20 ms: warm before, peak during, settled after;
4. overload: 16 clients (4x the nominal ones) that retry as clients do: on 503 they sleep the
   Retry-After the server sent (plus up to 10 % jitter) and send again (`--overload-retry
   immediate`: at once, as naive retry loops do). Goodput (200/s) is compared with that of the
   nominal clients measured in rounds alternating with it (4, 16, 16, 4 clients, ...), so both
   see the same server state and the same load from the rest of the machine; latency is that of
   the admitted request (p50/p99) and of the whole exchange;
5. live: one WebSocket client streams 640x480 JPEG frames with backpressure (frames/s).

    python bench/bench_serve.py --clients 4 --requests 300 --workers 2
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import random
import socket
import statistics
import struct
import subprocess
import sys
import threading
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("MASKWATCH_SHARED", ROOT.parent / "shared"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def rss_mb(pid: int) -> float:
    """Resident memory of a process, from /proc (Linux)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system, all threads) a process has used, from /proc (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


def start_server(port: int, workers: int, queue: int, model: str | None) -> subprocess.Popen:
    env = dict(os.environ)
    env.setdefault("MASKWATCH_HOME", str(SHARED / "weights"))
    env.pop("MASKWATCH_TOKEN", None)
    cmd = [sys.executable, "-m", "maskwatch", "serve", "--host", "127.0.0.1", "--port", str(port)]
    cmd += ["--workers", str(workers), "--queue", str(queue), "--log-level", "warning"]
    if model:
        cmd += ["--model", model]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited: {proc.stderr.read()[-2000:]}")
        try:
            if httpx.get(base + "/readyz", timeout=2).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    proc.kill()
    raise SystemExit("server did not become ready in 180 s")


def load_phase(
    base: str,
    images: list[tuple[str, bytes]],
    clients: int,
    requests: int,
    seconds: float,
    retry: str | None = None,
    server_pid: int | None = None,
) -> dict:
    """`clients` threads share a budget of `requests` answered POSTs (and a time limit).

    With `retry`, a 503 is not an answer and the same image is sent again: "after" sleeps the
    Retry-After the server sent (+ up to 10 % jitter), as client libraries that honour the header
    do; "immediate" sends again at once, as naive retry loops do.
    """
    latencies: list[float] = []  # the request that got the 200
    exchanges: list[float] = []  # from the first attempt to the 200, retries included
    statuses: dict[int | str, int] = {}
    lock = threading.Lock()
    budget = iter(range(requests))
    stop_at = time.monotonic() + seconds

    def client(seed: int) -> None:
        rng = random.Random(seed)
        with httpx.Client(base_url=base, timeout=120) as http:
            while time.monotonic() < stop_at:
                with lock:  # request n sends image n: the same mix of images whatever the client count
                    n = next(budget, None)
                if n is None:
                    return
                name, data = images[n % len(images)]
                first = time.perf_counter()
                while True:
                    t0 = time.perf_counter()
                    wait = 0.0
                    try:
                        response = http.post("/api/v1/detect", files={"file": (name, data)})
                        status: int | str = response.status_code
                        if status == 503:
                            wait = float(response.headers.get("retry-after", 1))
                    except httpx.HTTPError as exc:
                        status = type(exc).__name__
                    elapsed = time.perf_counter() - t0
                    with lock:
                        statuses[status] = statuses.get(status, 0) + 1
                        if status == 200:
                            latencies.append(elapsed)
                            exchanges.append(time.perf_counter() - first)
                    if not (retry and status == 503) or time.monotonic() + wait >= stop_at:
                        break
                    if retry == "after":
                        time.sleep(wait * (1 + 0.1 * rng.random()))

    cpu_before = cpu_seconds(server_pid) if server_pid else 0.0
    client_before = cpu_seconds(os.getpid())
    started = time.perf_counter()
    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - started
    done = sum(statuses.values())
    return {
        "server_cpu": (cpu_seconds(server_pid) - cpu_before) if server_pid else float("nan"),
        "client_cpu": cpu_seconds(os.getpid()) - client_before,
        "wall": wall,
        "done": done,
        "ok": statuses.get(200, 0),
        "statuses": statuses,
        "latencies": latencies,
        "exchanges": exchanges,
    }


def merge_rounds(rounds: list[dict]) -> dict:
    """Several load_phase results as one (walls and counts summed, latencies pooled)."""
    statuses: dict[int | str, int] = {}
    for r in rounds:
        for key, value in r["statuses"].items():
            statuses[key] = statuses.get(key, 0) + value
    return {
        "wall": sum(r["wall"] for r in rounds),
        "done": sum(r["done"] for r in rounds),
        "ok": sum(r["ok"] for r in rounds),
        "server_cpu": sum(r.get("server_cpu", float("nan")) for r in rounds),
        "client_cpu": sum(r.get("client_cpu", float("nan")) for r in rounds),
        "statuses": statuses,
        "latencies": [x for r in rounds for x in r["latencies"]],
        "exchanges": [x for r in rounds for x in r["exchanges"]],
    }


@dataclass
class RssPeak:
    peak: float = 0.0


@contextlib.contextmanager
def sample_rss(pid: int, interval: float = 0.02) -> Iterator[RssPeak]:
    """A process's largest RSS (MB) while the block runs, sampled every `interval` s in a thread."""
    seen, stop = RssPeak(), threading.Event()

    def sample() -> None:
        while not stop.is_set():
            seen.peak = max(seen.peak, rss_mb(pid))
            stop.wait(interval)

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    try:
        yield seen
    finally:
        stop.set()
        thread.join()


def big_png(width: int, height: int) -> bytes:
    """A real, flat PNG of width x height: ~130 kB that decode to width * height pixels."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (120, 130, 140)).save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def hostile_phase(base: str, pid: int, clients: int, per_client: int) -> dict:
    """`clients` threads each POST `per_client` 39.7 Mpx PNGs at once; RSS sampled throughout."""
    png = big_png(7000, 5670)
    statuses: dict[int | str, int] = {}
    lock = threading.Lock()

    def client() -> None:
        with httpx.Client(base_url=base, timeout=600) as http:
            for _ in range(per_client):
                try:
                    status: int | str = http.post("/api/v1/detect", content=png).status_code
                except httpx.HTTPError as exc:
                    status = type(exc).__name__
                with lock:
                    statuses[status] = statuses.get(status, 0) + 1

    started = time.perf_counter()
    with sample_rss(pid) as sampler:
        threads = [threading.Thread(target=client) for _ in range(clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    return {"statuses": statuses, "peak": sampler.peak, "wall": time.perf_counter() - started, "bytes": len(png)}


def png_declaring(width: int, height: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 4096)) + chunk(b"IEND", b"")
    )


def bad_phase(base: str, count: int) -> dict:
    bad = [
        (b"", 400),
        (b"<html>not an image</html>", 415),
        (png_declaring(60_000, 60_000), 413),
        (b"\xff\xd8\xff\xe0" + b"\0" * (11 * 1024 * 1024), 413),
        (b"\xff\xd8\xff\xe0garbage" * 100, 422),
    ]
    unexpected = 0
    started = time.perf_counter()
    with httpx.Client(base_url=base, timeout=60) as http:
        for i in range(count):
            data, status = bad[i % len(bad)]
            try:
                response = http.post("/api/v1/detect", content=data)
                if response.status_code != status or "error" not in response.json():
                    unexpected += 1
            except httpx.HTTPError:
                unexpected += 1  # an early 413 may close the connection mid-upload; still counted
    return {"count": count, "unexpected": unexpected, "wall": time.perf_counter() - started}


def live_phase(port: int, frame: bytes, frames: int) -> dict:

    from websockets.sync.client import connect

    latencies = []
    with connect(f"ws://127.0.0.1:{port}/api/v1/live", max_size=None) as ws:
        ws.send(json.dumps({"type": "auth", "token": ""}))
        assert json.loads(ws.recv())["type"] == "ready"
        started = time.perf_counter()
        for _ in range(frames):
            t0 = time.perf_counter()
            ws.send(frame)
            answer = json.loads(ws.recv())
            assert answer["type"] == "detections", answer
            latencies.append(time.perf_counter() - t0)
        wall = time.perf_counter() - started
    return {"fps": frames / wall, "p50": percentile(latencies, 50) * 1000}


def live_frame(images: list[tuple[str, bytes]]) -> bytes:
    """A 640x480 JPEG made from a voc3 scene, like the web page sends."""
    from PIL import Image

    img = Image.open(io.BytesIO(images[0][1])).convert("RGB").resize((640, 480))
    buffer = io.BytesIO()
    img.save(buffer, format="JPEG", quality=80)
    return buffer.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--requests", type=int, default=300, help="nominal phase: total requests")
    parser.add_argument("--seconds", type=float, default=120, help="nominal phase: time limit per round")
    parser.add_argument("--rounds", type=int, default=3, help="nominal phase split in rounds (RSS after each)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--queue", type=int, default=32, help="requests that may wait for a worker (server default)")
    parser.add_argument("--images", type=int, default=30, help="voc3 images cycled through")
    parser.add_argument("--bad", type=int, default=200, help="bad-request burst size")
    parser.add_argument("--hostile-clients", type=int, default=4, help="concurrent 39.7 Mpx uploaders")
    parser.add_argument("--hostile-requests", type=int, default=2, help="39.7 Mpx uploads per hostile client")
    parser.add_argument("--overload-clients", type=int, default=16)
    parser.add_argument("--overload-requests", type=int, default=300, help="per overload (and comparison) round")
    parser.add_argument(
        "--overload-rounds", type=int, default=2, help="pairs of rounds: nominal, overload, overload, nominal"
    )
    parser.add_argument(
        "--overload-retry",
        choices=("after", "immediate"),
        default="after",
        help="overload clients on 503: sleep Retry-After, or send again at once",
    )
    parser.add_argument("--live-frames", type=int, default=30)
    parser.add_argument("--model", default=None)
    parser.add_argument(
        "--client-nice",
        type=int,
        default=10,
        help="CPU priority the clients drop to once the server runs (0 = same as the server)",
    )
    args = parser.parse_args()

    files = sorted((SHARED / "data" / "voc3" / "images").glob("*.jpg"))[: args.images]
    if not files:
        raise SystemExit(f"no voc3 images under {SHARED / 'data'}")
    images = [(p.name, p.read_bytes()) for p in files]
    queue = args.queue
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = start_server(port, args.workers, queue, args.model)
    # The clients share the server's two cores: at the same priority 16 client threads take ~2 %
    # of the CPU the server would serve with (client CPU per answer is printed below), which is
    # the load generator's cost, not the server's. Niced, they run when the server leaves a core.
    os.nice(args.client_nice)
    try:
        rss = {"ready": rss_mb(server.pid)}
        load_phase(base, images, 1, 3, 60)  # warm-up
        rss["warm"] = rss_mb(server.pid)
        # In rounds, with RSS after each: growth that stops after the first round is allocator
        # warm-up (new image sizes); growth every round would be a leak.
        rounds = []
        for i in range(args.rounds):
            rounds.append(load_phase(base, images, args.clients, args.requests // args.rounds, args.seconds))
            rss[f"after load round {i + 1}"] = rss_mb(server.pid)
        nominal = merge_rounds(rounds)
        bad = bad_phase(base, args.bad)
        rss["after bad"] = rss_mb(server.pid)
        rss["before hostile"] = rss_mb(server.pid)
        hostile = hostile_phase(base, server.pid, args.hostile_clients, args.hostile_requests)
        rss["peak during hostile"] = hostile["peak"]
        load_phase(base, images, 1, 6, 60)  # ordinary traffic again
        time.sleep(2)
        rss["after hostile"] = rss_mb(server.pid)
        over_rounds, base_rounds = [], []
        with sample_rss(server.pid) as over_rss:
            for i in range(2 * args.overload_rounds):
                # A B B A ...: a drift of the machine's load over the phase falls on both alike.
                overload_turn = i % 4 in (1, 2)
                clients = args.overload_clients if overload_turn else args.clients
                result = load_phase(
                    base,
                    images,
                    clients,
                    args.overload_requests,
                    args.seconds,
                    retry=args.overload_retry,
                    server_pid=server.pid,
                )
                (over_rounds if overload_turn else base_rounds).append(result)
        over, compared = merge_rounds(over_rounds), merge_rounds(base_rounds)
        rss["peak during overload"] = over_rss.peak
        rss["after overload"] = rss_mb(server.pid)
        live = live_phase(port, live_frame(images), args.live_frames)
        rss["after live"] = rss_mb(server.pid)
        alive = httpx.get(base + "/readyz", timeout=5).status_code == 200
    finally:
        server.terminate()
        try:
            server.wait(15)
        except subprocess.TimeoutExpired:
            server.kill()

    lat = nominal["latencies"]
    errors = nominal["done"] - nominal["ok"]
    compared_goodput = compared["ok"] / compared["wall"]
    over_goodput = over["ok"] / over["wall"]
    ratios = [(o["ok"] / o["wall"]) / (b["ok"] / b["wall"]) for o, b in zip(over_rounds, base_rounds, strict=True)]
    over_503 = over["statuses"].get(503, 0)
    print(f"\nmaskwatch serve benchmark  (cpu cores: {os.cpu_count()}, server workers: {args.workers}, queue: {queue})")
    print(f"{'phase':<30} {'value':>12}")
    print("-" * 43)
    rows = [
        ("nominal clients", f"{args.clients}"),
        ("requests done", f"{nominal['done']}"),
        ("requests/s", f"{nominal['ok'] / nominal['wall']:.2f}"),
        ("latency p50 ms", f"{percentile(lat, 50) * 1000:.0f}"),
        ("latency p95 ms", f"{percentile(lat, 95) * 1000:.0f}"),
        ("latency p99 ms", f"{percentile(lat, 99) * 1000:.0f}"),
        ("latency mean ms", f"{statistics.fmean(lat) * 1000:.0f}" if lat else "nan"),
        ("errors (non-200)", f"{errors}  {nominal['statuses'] if errors else ''}".rstrip()),
        ("bad requests sent", f"{bad['count']}"),
        ("bad: wrong/no refusal", f"{bad['unexpected']}"),
        ("hostile uploads (39.7 Mpx)", f"{sum(hostile['statuses'].values())} x {hostile['bytes'] // 1024} kB"),
        ("hostile answers", " ".join(f"{k}:{v}" for k, v in sorted(hostile["statuses"].items(), key=str))),
        ("hostile wall s", f"{hostile['wall']:.1f}"),
        ("overload clients", f"{args.overload_clients} (retry: {args.overload_retry})"),
        ("overload 200", f"{over['ok']}"),
        (f"alternating {args.clients} clients /s", f"{compared_goodput:.2f}"),
        ("overload goodput /s", f"{over_goodput:.2f}"),
        ("goodput overload/nominal", f"{over_goodput / compared_goodput:.2f}"),
        ("  per round pair", " ".join(f"{r:.2f}" for r in ratios)),
        (f"server CPU ms/answer {args.clients} cl", f"{compared['server_cpu'] / max(1, compared['ok']) * 1000:.0f}"),
        (f"server CPU ms/answer {args.overload_clients} cl", f"{over['server_cpu'] / max(1, over['ok']) * 1000:.0f}"),
        (f"server CPU use {args.clients} cl", f"{compared['server_cpu'] / compared['wall']:.2f} cores"),
        (f"server CPU use {args.overload_clients} cl", f"{over['server_cpu'] / over['wall']:.2f} cores"),
        (f"client CPU ms/answer {args.clients} cl", f"{compared['client_cpu'] / max(1, compared['ok']) * 1000:.0f}"),
        (f"client CPU ms/answer {args.overload_clients} cl", f"{over['client_cpu'] / max(1, over['ok']) * 1000:.0f}"),
        ("overload admitted p50 ms", f"{percentile(over['latencies'], 50) * 1000:.0f}"),
        ("overload admitted p99 ms", f"{percentile(over['latencies'], 99) * 1000:.0f}"),
        ("overload exchange p99 ms", f"{percentile(over['exchanges'], 99) * 1000:.0f}"),
        ("overload 503 (busy)", f"{over_503}"),
        ("overload other", f"{over['done'] - over['ok'] - over_503}"),
        ("live frames/s (1 client)", f"{live['fps']:.2f}"),
        ("live frame p50 ms", f"{live['p50']:.0f}"),
        ("server ready after all", "yes" if alive else "NO"),
    ]
    rows += [(f"server RSS MB {k}", f"{v:.0f}") for k, v in rss.items()]
    for name, value in rows:
        print(f"{name:<30} {value:>12}")


if __name__ == "__main__":
    main()
