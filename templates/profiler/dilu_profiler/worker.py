"""Measures one (batch, SM %) point in this process and prints one JSON line.

Run by the harness in a fresh process per point, with CUDA_MPS_ACTIVE_THREAD_PERCENTAGE set:
MPS reads the variable when the process creates its CUDA context, so one process can only ever
measure one SM percentage.

    python -m dilu_profiler.worker --handler function.handler --batch 8 [--iterations 20]

Output: {"latencyMs", "throughputRps", "memoryMiB", "gpuModel", "backend", "smLimit",
"loadSeconds", "iterations"} or {"error": "..."} (exit 1).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
import traceback
from typing import Any

from dilu_runtime.config import load_config
from dilu_runtime.gpu import GpuBackend, TorchGpu, select_backend
from dilu_runtime.handler import Handler, Request, load_handler


def _request(handler: Handler) -> Request:
    if handler.example_request is None:
        raise RuntimeError(
            f"{handler.name}: define example_request() so the profiler has an input to measure"
        )
    body = handler.example_request()
    if isinstance(body, (dict, list)):
        body = json.dumps(body)
    if isinstance(body, str):
        body = body.encode("utf-8")
    if not isinstance(body, bytes):
        raise RuntimeError(f"{handler.name}.example_request: must return bytes, str, dict or list")
    return Request(method="POST", path="/", body=body, headers={"content-type": "application/json"})


def _memory_mib(backend: GpuBackend, batch: int, sm: float) -> float | None:
    if isinstance(backend, TorchGpu):
        # Memory the caching allocator reserved at peak; the CUDA context itself (a few hundred
        # MiB, depending on the GPU and driver) comes on top.
        return round(backend.torch.cuda.max_memory_reserved() / 2**20, 1)
    table = getattr(backend, "table", None)
    return None if table is None else table.memory_mib(batch, sm)


def measure(
    handler_spec: str, batch: int, warmup: int, iterations: int, backend_kind: str | None, profile: str | None
) -> dict[str, Any]:
    config = load_config()
    backend = select_backend(backend_kind or config.backend, profile or config.profile_file)
    handler = load_handler(handler_spec)
    sm = config.effective_sm_limit
    ctx = backend.context(batch, sm)
    t0 = time.monotonic()
    model = backend.prepare(handler, ctx)
    load_s = time.monotonic() - t0
    request = _request(handler)
    items = [handler.preprocess(request) for _ in range(batch)]
    for _ in range(warmup):
        backend.run(handler, model, items, ctx)
    latencies = []
    started = time.monotonic()
    for _ in range(iterations):
        latencies.append(backend.run(handler, model, items, ctx).busy_s)
    wall = time.monotonic() - started
    return {
        "latencyMs": round(statistics.median(latencies) * 1000.0, 3),
        "throughputRps": round(batch * iterations / wall, 3),
        "memoryMiB": _memory_mib(backend, batch, sm),
        "gpuModel": backend.gpu_model(),
        "backend": backend.name,
        "smLimit": sm,
        "loadSeconds": round(load_s, 3),
        "iterations": iterations,
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--handler", required=True, help="module (function.handler) or file (path/handler.py)")
    p.add_argument("--batch", type=int, required=True)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--iterations", type=int, default=20)
    p.add_argument("--backend", choices=("auto", "torch", "emulated"))
    p.add_argument("--profile", help="profile for the emulated GPU (else DILU_PROFILE_FILE)")
    p.add_argument("--probe", action="store_true", help="only print the GPU model")
    args = p.parse_args(argv)
    try:
        if args.probe:
            config = load_config()
            backend = select_backend(args.backend or config.backend, args.profile or config.profile_file)
            print(json.dumps({"gpuModel": backend.gpu_model(), "backend": backend.name}))
            return 0
        if args.batch < 1 or args.iterations < 1 or args.warmup < 0:
            raise ValueError("--batch and --iterations must be >= 1, --warmup >= 0")
        print(
            json.dumps(
                measure(args.handler, args.batch, args.warmup, args.iterations, args.backend, args.profile)
            )
        )
        return 0
    except Exception as err:
        traceback.print_exc(file=sys.stderr)
        print(json.dumps({"error": f"{type(err).__name__}: {err}"}))
        return 1


if __name__ == "__main__":
    sys.exit(main())
