"""The instance's HTTP interface, as one ASGI application.

The same application is served by Hypercorn behind OpenFaaS's of-watchdog and by the Knative
`func` Python middleware, so both templates behave alike:

- `GET /healthz`: 200 with the runtime's status once the model is loaded, 503 while loading,
  draining or after a failed load (the body says which).
- `GET /metrics`: Prometheus text format.
- any other path: one inference request.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from .batcher import Draining, QueueFull
from .handler import Request, Response
from .service import Runtime

log = logging.getLogger("dilu_runtime.http")

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]

HEALTH_PATH = "/healthz"
METRICS_PATH = "/metrics"


def encode_response(value: Any) -> Response:
    """Turns what `postprocess` returned into status, bytes and headers."""
    if isinstance(value, Response):
        resp = Response(value.status, value.body, dict(value.headers))
    else:
        resp = Response(200, value if value is not None else b"")
    body = resp.body
    headers = {k.lower(): v for k, v in resp.headers.items()}
    if isinstance(body, (dict, list)):
        headers.setdefault("content-type", "application/json")
        resp.body = json.dumps(body).encode("utf-8")
    elif isinstance(body, str):
        headers.setdefault("content-type", "text/plain; charset=utf-8")
        resp.body = body.encode("utf-8")
    elif isinstance(body, (bytes, bytearray)):
        headers.setdefault("content-type", "application/octet-stream")
        resp.body = bytes(body)
    else:
        raise TypeError(f"postprocess returned {type(body).__name__}; use dict, list, str, bytes or Response")
    resp.headers = headers
    return resp


async def _send(send: Send, status: int, body: bytes, headers: dict[str, str]) -> None:
    raw = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]
    raw.append((b"content-length", str(len(body)).encode()))
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})


async def _send_json(send: Send, status: int, doc: Any, extra: dict[str, str] | None = None) -> None:
    headers = {"content-type": "application/json", **(extra or {})}
    await _send(send, status, json.dumps(doc).encode("utf-8"), headers)


async def _read_body(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _request_from_scope(scope: Scope, body: bytes) -> Request:
    headers: dict[str, str] = {}
    for k, v in scope.get("headers", []):
        headers[k.decode("latin-1").lower()] = v.decode("latin-1")
    return Request(
        method=scope.get("method", "GET"),
        path=scope.get("path", "/"),
        query=scope.get("query_string", b"").decode("latin-1"),
        headers=headers,
        body=body,
    )


def create_app(
    runtime: Runtime, *, manage_lifespan: bool = True
) -> Callable[[Scope, Receive, Send], Awaitable[None]]:
    """ASGI app for `runtime`. With `manage_lifespan`, ASGI startup/shutdown start and drain it."""
    metrics = runtime.metrics

    async def lifespan(receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                if manage_lifespan:
                    runtime.start()
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if manage_lifespan:
                    await asyncio.get_running_loop().run_in_executor(None, runtime.drain)
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def invoke(scope: Scope, receive: Receive, send: Send) -> None:
        started = time.monotonic()
        code = 500
        metrics.inflight.inc()
        try:
            code = await _invoke(scope, receive, send)
        except asyncio.CancelledError:
            code = 499  # the client went away; its queued request was dropped (nginx's code)
            raise
        finally:
            metrics.inflight.dec()
            metrics.requests.labels(str(code)).inc()
            metrics.request_seconds.observe(time.monotonic() - started)

    async def _invoke(scope: Scope, receive: Receive, send: Send) -> int:
        body = await _read_body(receive)
        health = runtime.health()
        if not health.ready:
            doc = {"error": f"not serving: {health.status}", "detail": health.detail or None}
            await _send_json(send, 503, doc, {"retry-after": "1"})
            return 503
        loop = asyncio.get_running_loop()
        request = _request_from_scope(scope, body)
        try:
            item = await loop.run_in_executor(None, runtime.handler.preprocess, request)
        except Exception as err:
            await _send_json(send, 400, {"error": f"bad request: {err}"})
            return 400
        try:
            future = runtime.submit(item)
        except (QueueFull, Draining) as err:
            await _send_json(send, 503, {"error": str(err)}, {"retry-after": "1"})
            return 503
        try:
            output = await asyncio.wrap_future(future)
            resp = encode_response(await loop.run_in_executor(None, runtime.handler.postprocess, output))
        except Draining as err:
            await _send_json(send, 503, {"error": str(err)}, {"retry-after": "1"})
            return 503
        except Exception as err:
            log.exception("request failed")
            await _send_json(send, 500, {"error": f"{type(err).__name__}: {err}"})
            return 500
        assert isinstance(resp.body, bytes)
        await _send(send, resp.status, resp.body, resp.headers)
        return resp.status

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "lifespan":
            await lifespan(receive, send)
            return
        if kind != "http":
            return
        path = scope.get("path", "/")
        method = scope.get("method", "GET")
        if path == HEALTH_PATH and method in ("GET", "HEAD"):
            health = runtime.health()
            await _send_json(send, 200 if health.ready else 503, runtime.status())
        elif path == METRICS_PATH and method in ("GET", "HEAD"):
            await _send(send, 200, metrics.exposition(), {"content-type": metrics.content_type})
        else:
            await invoke(scope, receive, send)

    return app
