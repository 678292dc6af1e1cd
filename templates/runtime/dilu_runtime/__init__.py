"""Quota-aware runtime for GPU deep-learning functions on Knative and OpenFaaS.

Batches requests to DILU_BATCH, enforces the effective SM quota from the node agent's quota
file by duty-cycling GPU work, reports latency and queue metrics, and drains on SIGTERM.
"""

from .config import ConfigError, RuntimeConfig, load_config
from .handler import Handler, HandlerContext, Request, Response, handler_from, load_handler
from .service import Runtime, create_runtime

__all__ = [
    "ConfigError",
    "Handler",
    "HandlerContext",
    "Request",
    "Response",
    "Runtime",
    "RuntimeConfig",
    "create_runtime",
    "handler_from",
    "load_config",
    "load_handler",
]

__version__ = "0.1.0"
