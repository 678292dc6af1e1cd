"""Serving a handler over HTTP with Hypercorn, with a graceful drain on SIGTERM.

Used by the OpenFaaS template (`index.py`), where of-watchdog in http mode forwards requests to
this server (`upstream_url`, default 127.0.0.1:5000). On SIGTERM the instance stops taking new
requests (503, so the gateway retries elsewhere), finishes what is queued, then closes.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
from typing import Any

import hypercorn.asyncio
import hypercorn.config

from .app import create_app
from .config import ConfigError, load_config
from .handler import Handler, handler_from, load_handler
from .log import configure_logging
from .service import Runtime, create_runtime

log = logging.getLogger("dilu_runtime.serve")

DEFAULT_LISTEN = "127.0.0.1:5000"


def parse_listen(value: str) -> tuple[str, int]:
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit() or not (0 <= int(port) <= 65535):
        raise ConfigError("DILU_LISTEN", f"must be host:port with port 0..65535, got {value!r}")
    return host.strip("[]") or "127.0.0.1", int(port)


def bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    return sock


async def _serve(runtime: Runtime, cfg: hypercorn.config.Config) -> None:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)

    async def drained() -> None:
        await stop.wait()
        log.info("signal received: draining")
        clean = await loop.run_in_executor(None, runtime.drain)
        log.info("drained" if clean else "drain timed out", extra={"clean": clean})

    app = create_app(runtime, manage_lifespan=False)
    await hypercorn.asyncio.serve(app, cfg, shutdown_trigger=drained)  # type: ignore[arg-type]


def serve(handler: Handler | Any | str, *, listen: str | None = None) -> None:
    """Loads config from the environment, starts the runtime and serves until SIGTERM."""
    configure_logging()
    h = (
        handler
        if isinstance(handler, Handler)
        else load_handler(handler)
        if isinstance(handler, str)
        else handler_from(handler)
    )
    config = load_config()
    runtime = create_runtime(h, config)
    host, port = parse_listen(listen or os.environ.get("DILU_LISTEN") or DEFAULT_LISTEN)
    sock = bind(host, port)
    bound = sock.getsockname()[1]
    cfg = hypercorn.config.Config()
    cfg.bind = [f"fd://{sock.detach()}"]
    cfg.graceful_timeout = 5.0
    cfg.accesslog = None
    runtime.start()
    log.info(
        "listening",
        extra={"address": f"{host}:{bound}", "backend": runtime.backend.name, "batch": config.batch},
    )
    asyncio.run(_serve(runtime, cfg))
