"""Spawning one worker process per measured point, with that point's MPS thread percentage."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from typing import Any

PROFILER_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RUNTIME_DIR = os.path.join(os.path.dirname(PROFILER_DIR), "runtime")


def _sm_env(sm: float) -> str:
    # MPS takes an integer-or-decimal percentage; print integers without a trailing ".0".
    return str(int(sm)) if float(sm).is_integer() else f"{sm:g}"


@dataclass
class WorkerOptions:
    handler: str
    warmup: int = 3
    iterations: int = 20
    backend: str | None = None
    profile: str | None = None
    timeout_s: float = 600.0
    python: str = sys.executable
    cwd: str | None = None
    env: dict[str, str] = field(default_factory=dict)


def worker_env(opts: WorkerOptions, sm: float | None) -> dict[str, str]:
    env = dict(os.environ)
    env.update(opts.env)
    paths = [RUNTIME_DIR, PROFILER_DIR, opts.cwd or os.getcwd()]
    if env.get("PYTHONPATH"):
        paths.append(env["PYTHONPATH"])
    env["PYTHONPATH"] = os.pathsep.join(paths)
    if sm is not None:
        env["CUDA_MPS_ACTIVE_THREAD_PERCENTAGE"] = _sm_env(sm)
    return env


def _args(opts: WorkerOptions, extra: list[str]) -> list[str]:
    args = [opts.python, "-m", "dilu_profiler.worker", "--handler", opts.handler, *extra]
    if opts.backend:
        args += ["--backend", opts.backend]
    if opts.profile:
        args += ["--profile", opts.profile]
    return args


def _last_json(stdout: str) -> dict[str, Any] | None:
    for line in reversed(stdout.strip().splitlines()):
        try:
            doc = json.loads(line)
        except ValueError:
            continue
        if isinstance(doc, dict):
            return doc
    return None


def run_worker(opts: WorkerOptions, sm: float | None, extra: list[str]) -> dict[str, Any]:
    try:
        r = subprocess.run(
            _args(opts, extra),
            env=worker_env(opts, sm),
            cwd=opts.cwd,
            capture_output=True,
            text=True,
            timeout=opts.timeout_s,
        )
    except subprocess.TimeoutExpired:
        return {"error": f"measurement took longer than {opts.timeout_s:g} s"}
    doc = _last_json(r.stdout)
    if doc is None:
        tail = (r.stderr or r.stdout).strip().splitlines()[-5:]
        return {"error": f"worker exited {r.returncode} without a result: {' | '.join(tail)}"}
    if r.returncode != 0 and "error" not in doc:
        doc = {"error": f"worker exited {r.returncode}"}
    return doc


def measure_point(opts: WorkerOptions, batch: int, sm: float) -> dict[str, Any]:
    """Measures (batch, SM %) in a fresh process; returns the worker's result or {"error"}."""
    extra = ["--batch", str(batch), "--warmup", str(opts.warmup), "--iterations", str(opts.iterations)]
    return run_worker(opts, sm, extra)
