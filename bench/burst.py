"""A load generator that costs the machine little: one process of its own, HTTP/1.1 keep-alive over raw sockets.

A benchmark that sends a burst through httpx from its own process spent about 12 ms of CPU per request on the same
two cores as the services it measures (httpx's pool, its request and response models, the JSON of each body): more
than the gateway's own share, so the figure measured the client as much as the stack. Here every request's bytes
are built before the burst starts, each of `connections` keep-alive connections is opened (and used once) before it,
and an answer is read as far as its status line, headers and `Content-Length` body: well under a millisecond of CPU
a request. It runs as `python -m bench.burst` in a process of its own (so its CPU is its own figure, beside the
services'), reads what to send as JSON on stdin and writes each answer's time and status as JSON on stdout.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

try:  # the services run on uvloop (uvicorn's default when it is installed); the client may as well
    import uvloop
except ImportError:  # pragma: no cover - uvloop comes with uvicorn[standard]
    uvloop = None


@dataclass(frozen=True)
class Plan:
    """What to send: one request per body, all to `url` with `method`, `headers` and `connections` sockets."""

    url: str
    method: str
    headers: dict[str, str]
    bodies: list[Any]
    connections: int
    timeout_s: float = 30.0


def request_bytes(plan: Plan, host: str, path: str, body: Any) -> bytes:
    """One request as it goes on the wire: JSON body, keep-alive, Content-Length."""
    payload = json.dumps(body, separators=(",", ":")).encode()
    lines = [f"{plan.method} {path} HTTP/1.1", f"Host: {host}", "Content-Type: application/json",
             f"Content-Length: {len(payload)}", *(f"{name}: {value}" for name, value in plan.headers.items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + payload


async def read_answer(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    """The status and body of one answer (Content-Length framed, as uvicorn answers these)."""
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = 0
    for line in head.split(b"\r\n")[1:]:
        if line[:15].lower() == b"content-length:":
            length = int(line[15:])
    return status, await reader.readexactly(length) if length else b""


async def burst(plan: Plan, ready: Callable[[], None] = lambda: None) -> dict[str, Any]:
    """Open the connections (one warm-up request on each: a GET of /healthz), call `ready` (it returns when the
    burst may start), then send every request at once, each taking a free connection; each answer's time is counted
    from the common start."""
    parts = urlsplit(plan.url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    wire = [request_bytes(plan, parts.netloc, parts.path, body) for body in plan.bodies]
    free: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = asyncio.Queue()

    async def connect() -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        reader, writer = await asyncio.open_connection(host, port)
        writer.write(f"GET /healthz HTTP/1.1\r\nHost: {parts.netloc}\r\n\r\n".encode())
        await read_answer(reader)
        return reader, writer

    for connection in await asyncio.gather(*(connect() for _ in range(plan.connections))):
        free.put_nowait(connection)
    ready()

    async def one(data: bytes, began: float) -> tuple[float, str]:
        reader, writer = await free.get()
        try:
            if reader.at_eof():  # the server closed it while idle (its keep-alive timeout): nothing was sent on it
                writer.close()
                reader, writer = await asyncio.open_connection(host, port)
            writer.write(data)
            status, _ = await asyncio.wait_for(read_answer(reader), plan.timeout_s)
            free.put_nowait((reader, writer))
            return time.perf_counter() - began, str(status)
        except (TimeoutError, OSError, asyncio.IncompleteReadError):
            writer.close()
            return time.perf_counter() - began, "client timeout"

    cpu, began = time.process_time(), time.perf_counter()
    done = await asyncio.gather(*(one(data, began) for data in wire))
    wall, cpu = time.perf_counter() - began, time.process_time() - cpu
    while not free.empty():
        free.get_nowait()[1].close()
    return {"timings": [seconds for seconds, _ in done], "statuses": [status for _, status in done],
            "wall_s": wall, "cpu_s": cpu}


def _ready() -> None:
    """Say so on stdout and wait for the line that starts the burst (the parent reads CPU figures in between)."""
    print("ready", flush=True)
    sys.stdin.readline()


def main() -> None:
    """stdin: the plan as one JSON line, then any line to start; stdout: "ready", then the result as JSON."""
    plan = Plan(**json.loads(sys.stdin.readline()))
    run = uvloop.run if uvloop is not None else asyncio.run
    print(json.dumps(run(burst(plan, _ready))), flush=True)


if __name__ == "__main__":
    main()
