"""Adapter for the Knative `func` Python middleware (func_python.http).

The middleware calls `new()` for an instance with `start(cfg)`, `handle(scope, receive, send)`,
`stop()`, `alive()` and `ready()`, and serves /health/liveness and /health/readiness itself from
the last two. `GpuFunction` maps them onto the runtime: readiness is "model loaded and not
draining", and `stop()` (called on SIGTERM, after the server stopped accepting) drains the queue.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any

from .app import Receive, Scope, Send, _send_json, create_app
from .config import load_config
from .handler import Handler, handler_from
from .log import configure_logging
from .service import Runtime, create_runtime

log = logging.getLogger("dilu_runtime.knative")


class GpuFunction:
    def __init__(self, handler: Handler | Any) -> None:
        self._handler = handler if isinstance(handler, Handler) else handler_from(handler)
        self.runtime: Runtime | None = None
        self._app: Any = None

    def start(self, cfg: Mapping[str, str]) -> None:
        configure_logging(cfg.get("DILU_LOG_LEVEL"))
        self.runtime = create_runtime(self._handler, load_config(cfg))
        self._app = create_app(self.runtime, manage_lifespan=False)
        self.runtime.start()

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self._app is None:
            await _send_json(send, 503, {"error": "not started"}, {"retry-after": "1"})
            return
        await self._app(scope, receive, send)

    def stop(self) -> None:
        if self.runtime is not None:
            self.runtime.drain()

    def alive(self) -> tuple[bool, str]:
        if self.runtime is None:
            return True, "starting"
        h = self.runtime.health()
        return h.status != "failed", h.detail or h.status

    def ready(self) -> tuple[bool, str]:
        if self.runtime is None:
            return False, "not started"
        return self.runtime.health().ready, json.dumps(self.runtime.status())
