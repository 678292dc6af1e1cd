"""Runtime configuration, read once from the environment.

The webhook and the device plugin set these variables on the function's GPU container (see
docs/contracts/annotations.md and docs/contracts/quota-file.md); users may set the tuning ones
themselves. Every value is checked here, and a bad one stops the process with a message that
names the variable and what it allows, because a function that silently falls back to defaults
would be sized wrongly by the autoscaler.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

BACKENDS = ("auto", "torch", "emulated")


class ConfigError(ValueError):
    """A configuration variable has a value the runtime cannot use."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


@dataclass(frozen=True)
class RuntimeConfig:
    #: Largest batch the GPU step receives (DILU_BATCH, set by the webhook from the profile).
    batch: int = 1
    #: Longest time the first request of a batch waits for more to arrive (DILU_BATCH_WAIT_MS).
    batch_wait_ms: float = 5.0
    #: Requests queued beyond this are refused with 503 so load moves elsewhere (DILU_MAX_QUEUE).
    max_queue: int = 1024
    #: Latency SLO of one request, informative: exported as a metric (DILU_SLO_MS).
    slo_ms: float | None = None
    #: The per-allocation quota file written by the node agent (DILU_QUOTA_FILE).
    quota_file: str | None = None
    #: How often the quota file's identity is checked (DILU_QUOTA_POLL_MS; the contract says ≤ 100).
    quota_poll_ms: float = 50.0
    #: The MPS active-thread percentage l of this process (CUDA_MPS_ACTIVE_THREAD_PERCENTAGE).
    sm_limit: float | None = None
    #: SM request r, informative (DILU_SM_REQUEST).
    sm_request: float | None = None
    #: Length of one duty-cycle window: the longest burst after idle (DILU_DUTY_WINDOW_MS).
    duty_window_ms: float = 100.0
    #: Which GPU step to use (DILU_GPU_BACKEND): torch, emulated, or auto (torch when usable).
    backend: str = "auto"
    #: Profile the emulated GPU takes its latencies from (DILU_PROFILE_FILE).
    profile_file: str | None = None
    #: How long SIGTERM waits for queued requests to finish (DILU_DRAIN_TIMEOUT_S).
    drain_timeout_s: float = 30.0

    @property
    def effective_sm_limit(self) -> float:
        """l as the process sees it: MPS gives a client without the variable the whole GPU."""
        return self.sm_limit if self.sm_limit is not None else 100.0


def _number(
    env: Mapping[str, str],
    name: str,
    lo: float,
    hi: float,
    *,
    integer: bool = False,
    default: float | None = None,
) -> float | None:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    kind = "an integer" if integer else "a number"
    allowed = f"{kind} in {lo:g}..{hi:g}"
    try:
        value = int(raw) if integer else float(raw)
    except ValueError:
        raise ConfigError(name, f"must be {allowed}, got {raw!r}") from None
    if not (lo <= value <= hi):
        raise ConfigError(name, f"must be {allowed}, got {raw!r}")
    return value


def _path(env: Mapping[str, str], name: str) -> str | None:
    raw = env.get(name)
    return raw if raw is not None and raw.strip() != "" else None


def load_config(env: Mapping[str, str] | None = None) -> RuntimeConfig:
    """Reads and validates the runtime's variables (from os.environ unless given)."""
    e = os.environ if env is None else env
    backend = (e.get("DILU_GPU_BACKEND") or "auto").strip().lower()
    if backend not in BACKENDS:
        raise ConfigError("DILU_GPU_BACKEND", f"must be one of {', '.join(BACKENDS)}, got {backend!r}")
    sm_limit = _number(e, "CUDA_MPS_ACTIVE_THREAD_PERCENTAGE", 1, 100)
    if sm_limit is None:
        # DILU_SM_LIMIT is what the webhook records; it is only a fallback, because MPS applies
        # CUDA_MPS_ACTIVE_THREAD_PERCENTAGE and nothing else to this process.
        sm_limit = _number(e, "DILU_SM_LIMIT", 1, 100)
    return RuntimeConfig(
        batch=int(_number(e, "DILU_BATCH", 1, 4096, integer=True, default=1) or 1),
        batch_wait_ms=float(_number(e, "DILU_BATCH_WAIT_MS", 0, 10_000, default=5.0) or 0.0),
        max_queue=int(_number(e, "DILU_MAX_QUEUE", 1, 1_000_000, integer=True, default=1024) or 1),
        slo_ms=_number(e, "DILU_SLO_MS", 1, 600_000),
        quota_file=_path(e, "DILU_QUOTA_FILE"),
        quota_poll_ms=float(_number(e, "DILU_QUOTA_POLL_MS", 5, 100, default=50.0) or 50.0),
        sm_limit=sm_limit,
        sm_request=_number(e, "DILU_SM_REQUEST", 1, 100),
        duty_window_ms=float(_number(e, "DILU_DUTY_WINDOW_MS", 10, 10_000, default=100.0) or 100.0),
        backend=backend,
        profile_file=_path(e, "DILU_PROFILE_FILE"),
        drain_timeout_s=float(_number(e, "DILU_DRAIN_TIMEOUT_S", 0, 3600, default=30.0) or 0.0),
    )
