"""Helpers shared by the runtime tests."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from typing import Any

from dilu_runtime.config import RuntimeConfig
from dilu_runtime.gpu import EmulatedGpu
from dilu_runtime.handler import Handler
from dilu_runtime.profile import LatencyTable, Profile, ProfilePoint
from dilu_runtime.service import Runtime

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
RESNET152_CSV = os.path.join(REPO, "autoscaler", "data", "profiles", "dilu-a100", "bs_sm_resnet152.csv")


class FakeClock:
    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def flat_table(latency_ms: float, sms: tuple[float, ...] = (100.0,)) -> LatencyTable:
    """A profile whose batch latency is the same for every batch size at the given SM values."""
    points = tuple(
        ProfilePoint(batch=b, sm_percent=s, latency_ms=latency_ms, throughput_rps=1000.0 * b / latency_ms)
        for b in (1, 4096)
        for s in sms
    )
    return LatencyTable(Profile(name="flat", gpu_model="test", memory_mib=None, points=points))


def echo_handler(**overrides: Any) -> Handler:
    def infer(model: Any, items: list[Any], ctx: Any) -> list[Any]:
        return [{"echo": item, "batch": len(items)} for item in items]

    return Handler(infer=infer, **overrides)


def make_runtime(
    table: LatencyTable,
    *,
    handler: Handler | None = None,
    busy_log: Any = None,
    **config: Any,
) -> Runtime:
    backend = EmulatedGpu(table, busy_log=busy_log)
    return Runtime(handler or echo_handler(), RuntimeConfig(**config), backend)


def wait_until(predicate: Callable[[], bool], timeout_s: float = 5.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.005)


def write_quota(path: str, quota: float, generation: int, sm_limit: float | None = None) -> None:
    """Writes the quota file as the node agent does: temp file, fsync, rename over."""
    import json

    doc = {
        "version": 1,
        "allocationId": "a-0123456789abcdef",
        "gpuIndex": 0,
        "gpuUuid": "GPU-test",
        "smRequest": 10,
        "smLimit": sm_limit,
        "quota": quota,
        "memoryMiB": 4096,
        "generation": generation,
        "updatedAt": "2026-11-23T10:00:00.000Z",
    }
    tmp = f"{path}.tmp-{threading.get_ident()}-{time.monotonic_ns()}"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(doc, f)
        f.flush()
        os.fsync(f.fileno())
    os.rename(tmp, path)


async def asgi_call(
    app: Any, method: str, path: str, body: bytes = b"", headers: list | None = None
) -> tuple[int, dict, bytes]:
    """Calls an ASGI app once, as a server would; returns status, headers and body."""
    scope = {
        "type": "http",
        "http_version": "1.1",
        "method": method,
        "path": path,
        "query_string": b"",
        "headers": headers or [(b"content-type", b"application/json")],
    }
    sent: list[dict] = []
    delivered = False

    async def receive() -> dict:
        nonlocal delivered
        if not delivered:
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}
        return {"type": "http.disconnect"}

    async def send(message: dict) -> None:
        sent.append(message)

    await app(scope, receive, send)
    start = next(m for m in sent if m["type"] == "http.response.start")
    data = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return start["status"], {k.decode(): v.decode() for k, v in start["headers"]}, data
