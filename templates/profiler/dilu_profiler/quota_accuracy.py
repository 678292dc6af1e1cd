"""Measures how closely the runtime holds a quota: GPU share used vs quota q, per q.

One process with CUDA_MPS_ACTIVE_THREAD_PERCENTAGE = l runs the function's handler under the
runtime with a saturating client, and for each quota writes the quota file as the node agent
does (temp file, fsync, rename), lets the duty cycle settle, and measures over a window:

- host share: time the GPU step was running (launch to synchronize) / window * l;
- device share (PyTorch only): the same batches timed by CUDA events / window * l.

    python -m dilu_profiler quota-accuracy --handler H --sm-limit 100 --quotas 10,20,...,100
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import sys
import tempfile
import threading
import time
from typing import Any

from dilu_runtime.config import RuntimeConfig, load_config
from dilu_runtime.handler import load_handler
from dilu_runtime.service import create_runtime

from .worker import _request


def write_quota_file(path: str, quota: float, generation: int, sm_limit: float) -> None:
    doc = {"version": 1, "quota": quota, "smLimit": sm_limit, "generation": generation}
    tmp = f"{path}.tmp-{os.getpid()}-{generation}"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(doc, f)
        f.flush()
        os.fsync(f.fileno())
    os.rename(tmp, path)


def measure_quotas(
    handler_spec: str,
    batch: int,
    quotas: list[float],
    seconds: float,
    settle_s: float,
    backend: str | None,
    profile: str | None,
) -> list[dict[str, Any]]:
    env_config = load_config()
    sm_limit = env_config.effective_sm_limit
    handler = load_handler(handler_spec)
    with tempfile.TemporaryDirectory(prefix="dilu-quota-") as tmp:
        quota_file = os.path.join(tmp, "quota.json")
        write_quota_file(quota_file, sm_limit, 1, sm_limit)
        config = RuntimeConfig(
            batch=batch,
            batch_wait_ms=0,
            sm_limit=sm_limit,
            quota_file=quota_file,
            quota_poll_ms=20,
            backend=backend or env_config.backend,
            profile_file=profile or env_config.profile_file,
        )
        runtime = create_runtime(handler, config)
        runtime.start(background=False)
        if not runtime.model_loaded:
            raise RuntimeError(runtime.health().detail)
        item = handler.preprocess(_request(handler))
        stop = threading.Event()

        def feed() -> None:
            pending: collections.deque[Any] = collections.deque()
            while not stop.is_set():
                while len(pending) < 3 * batch:
                    pending.append(runtime.submit(item))
                pending.popleft().result(60)

        feeder = threading.Thread(target=feed, daemon=True)
        feeder.start()
        rows = []
        try:
            for gen, q in enumerate(quotas, start=2):
                write_quota_file(quota_file, q, gen, sm_limit)
                time.sleep(settle_s)
                t0 = time.monotonic()
                time.sleep(seconds)
                t1 = time.monotonic()
                host = runtime.backend.busy_log.busy_fraction(t0, t1) * sm_limit
                device_log = getattr(runtime.backend, "device_log", None)
                row = {
                    "smLimit": sm_limit,
                    "quota": q,
                    "windowSeconds": round(t1 - t0, 3),
                    "hostShare": round(host, 3),
                    "hostErrorPercent": round(100 * (host - q) / q, 2),
                }
                if device_log is not None:
                    device = device_log.busy_fraction(t0, t1) * sm_limit
                    row["deviceShare"] = round(device, 3)
                    row["deviceErrorPercent"] = round(100 * (device - q) / q, 2)
                rows.append(row)
                print(json.dumps(row), flush=True)
        finally:
            stop.set()
            runtime.stop()
        return rows


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="one process: measure quota accuracy at this process's MPS limit")
    p.add_argument("--handler", required=True)
    p.add_argument("--batch", type=int, default=4)
    p.add_argument("--quotas", required=True, help="comma-separated percentages")
    p.add_argument("--seconds", type=float, default=10.0)
    p.add_argument("--settle", type=float, default=1.0)
    p.add_argument("--backend", choices=("auto", "torch", "emulated"))
    p.add_argument("--profile")
    a = p.parse_args(argv)
    quotas = [float(q) for q in a.quotas.split(",") if q.strip()]
    measure_quotas(a.handler, a.batch, quotas, a.seconds, a.settle, a.backend, a.profile)
    return 0


if __name__ == "__main__":
    sys.exit(main())
