"""The function's code, as the runtime calls it.

A handler is a module (or any object) with these attributes; only `infer` is required:

    load(ctx) -> model                  once, before serving; put the model on ctx.device
    preprocess(request) -> item         per request, on a worker thread (decode, tokenise)
    infer(model, items, ctx) -> outputs one GPU step over a batch; one output per item, in order
    postprocess(output) -> response     per request: dict/list (JSON), str, bytes or Response
    example_request() -> body           a representative request body, used by the profiler

The runtime owns batching, the quota and the HTTP server, so the handler stays plain Python.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any


class HandlerError(ValueError):
    pass


@dataclass
class Request:
    method: str = "POST"
    path: str = "/"
    query: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""

    def text(self) -> str:
        return self.body.decode("utf-8")

    def json(self) -> Any:
        return json.loads(self.body or b"null")


@dataclass
class Response:
    status: int = 200
    body: bytes | str | dict[str, Any] | list[Any] = b""
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class HandlerContext:
    """What `load` and `infer` learn about where they run."""

    #: "cuda" on a real GPU, "cpu" on the emulated one.
    device: str
    #: True when GPU time is emulated (sleeps from a profile) rather than real.
    emulated: bool
    #: Largest batch `infer` receives.
    batch: int
    #: MPS active-thread percentage l of this process.
    sm_limit: float


@dataclass
class Handler:
    infer: Callable[[Any, list[Any], HandlerContext], list[Any]]
    load: Callable[[HandlerContext], Any] = lambda ctx: None
    preprocess: Callable[[Request], Any] = lambda req: req
    postprocess: Callable[[Any], Any] = lambda out: out
    example_request: Callable[[], Any] | None = None
    name: str = "handler"


def handler_from(obj: Any, name: str | None = None) -> Handler:
    infer = getattr(obj, "infer", None)
    if not callable(infer):
        raise HandlerError(f"{name or obj!r}: a handler must define infer(model, items, ctx)")
    kwargs: dict[str, Any] = {"infer": infer, "name": name or getattr(obj, "__name__", "handler")}
    for attr in ("load", "preprocess", "postprocess", "example_request"):
        fn = getattr(obj, attr, None)
        if fn is not None:
            if not callable(fn):
                raise HandlerError(f"{kwargs['name']}.{attr}: must be a function")
            kwargs[attr] = fn
    return Handler(**kwargs)


def load_handler(spec: str) -> Handler:
    """Loads a handler from a module name (`function.handler`) or a file path (`x/handler.py`)."""
    module: ModuleType
    if spec.endswith(".py") or os.sep in spec:
        path = os.path.abspath(spec)
        if not os.path.isfile(path):
            raise HandlerError(f"handler file {spec} does not exist")
        mod_name = "dilu_user_handler_" + str(abs(hash(path)))
        loader_spec = importlib.util.spec_from_file_location(mod_name, path)
        if loader_spec is None or loader_spec.loader is None:
            raise HandlerError(f"cannot import {spec}")
        module = importlib.util.module_from_spec(loader_spec)
        sys.modules[mod_name] = module
        # The handler may import siblings (e.g. a model definition next to it).
        sys.path.insert(0, os.path.dirname(path))
        loader_spec.loader.exec_module(module)
    else:
        module = importlib.import_module(spec)
    return handler_from(module, spec)
