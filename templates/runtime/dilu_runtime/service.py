"""One function instance: model, GPU step, quota, batching and metrics wired together.

`create_runtime(handler, config)` builds it; `start()` loads the model on a background thread
(so /healthz can say "loading" meanwhile) and starts the quota watcher; `submit(item)` queues
one preprocessed request for the GPU; `drain()` is what SIGTERM runs.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

from .batcher import DynamicBatcher
from .config import RuntimeConfig
from .duty_cycle import DutyCycleGate
from .gpu import GpuBackend, StepResult, select_backend
from .handler import Handler, HandlerContext
from .metrics import RuntimeMetrics
from .quota import QuotaState, QuotaWatcher

log = logging.getLogger("dilu_runtime")

STATES = ("starting", "loading", "ready", "draining", "stopped", "failed")


@dataclass(frozen=True)
class Health:
    status: str
    model_loaded: bool
    detail: str = ""

    @property
    def ready(self) -> bool:
        return self.status == "ready"


class Runtime:
    def __init__(
        self,
        handler: Handler,
        config: RuntimeConfig,
        backend: GpuBackend,
        *,
        metrics: RuntimeMetrics | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.handler = handler
        self.config = config
        self.backend = backend
        self.metrics = metrics or RuntimeMetrics()
        self._clock = clock
        self.sm_limit = config.effective_sm_limit
        self.quota = self.sm_limit
        self.gate = DutyCycleGate(window_s=config.duty_window_ms / 1000.0, clock=clock)
        self.ctx: HandlerContext = backend.context(config.batch, self.sm_limit)
        self.model: Any = None
        self.batcher = DynamicBatcher(
            self._step,
            self.gate,
            max_batch=config.batch,
            max_wait_s=config.batch_wait_ms / 1000.0,
            max_queue=config.max_queue,
            metrics=self.metrics,
            clock=clock,
        )
        self._watcher: QuotaWatcher | None = None
        self._state = "starting"
        self._detail = ""
        self._lock = threading.Lock()
        self._loaded = threading.Event()
        self.load_seconds: float | None = None
        m = self.metrics
        m.batch_limit.set(config.batch)
        m.sm_limit.set(self.sm_limit)
        m.quota.set(self.quota)
        m.duty_cycle.set(1.0)
        if config.slo_ms is not None:
            m.slo_seconds.set(config.slo_ms / 1000.0)

    # -- quota --------------------------------------------------------------------------------

    def apply_quota(self, state: QuotaState) -> None:
        """Sets q from the quota file. l stays what MPS applied to this process."""
        if state.sm_limit is not None and abs(state.sm_limit - self.sm_limit) > 1e-9:
            log.warning(
                "quota file smLimit %g differs from this process's MPS limit %g; using %g, "
                "which is what MPS enforces",
                state.sm_limit,
                self.sm_limit,
                self.sm_limit,
            )
        q = state.quota
        if q > self.sm_limit:
            log.warning("quota %g is above the SM limit %g; running unthrottled", q, self.sm_limit)
        self.set_quota(q, generation=state.generation)

    def set_quota(self, quota: float, *, generation: int | None = None) -> None:
        ratio = min(1.0, quota / self.sm_limit)
        self.quota = quota
        self.gate.set_ratio(ratio)
        m = self.metrics
        m.quota.set(quota)
        m.duty_cycle.set(ratio)
        if generation is not None:
            m.quota_generation.set(generation)
        log.info("quota %g%% of the GPU (limit %g%%, duty cycle %.3f)", quota, self.sm_limit, ratio)

    # -- lifecycle ----------------------------------------------------------------------------

    def start(self, *, background: bool = True) -> None:
        if self.config.quota_file is not None:
            self._watcher = QuotaWatcher(
                self.config.quota_file,
                self.apply_quota,
                poll_s=self.config.quota_poll_ms / 1000.0,
                on_error=lambda _msg: self.metrics.quota_errors.inc(),
            )
            self._watcher.start()
            if self._watcher.current is None and self.config.sm_request is not None:
                # The device plugin writes the file before the container starts; if it is not
                # there yet, the guaranteed share r is the safe quota for co-located instances.
                self.set_quota(self.config.sm_request)
        with self._lock:
            self._state = "loading"
        if background:
            threading.Thread(target=self._load, name="dilu-model-load", daemon=True).start()
        else:
            self._load()

    def _load(self) -> None:
        started = self._clock()
        try:
            self.model = self.backend.prepare(self.handler, self.ctx)
        except Exception as err:
            log.exception("model failed to load")
            with self._lock:
                self._state, self._detail = "failed", f"model failed to load: {err}"
            self._loaded.set()
            return
        self.load_seconds = self._clock() - started
        self.metrics.model_load_seconds.set(self.load_seconds)
        self.metrics.model_loaded.set(1)
        self.batcher.start()
        with self._lock:
            if self._state == "loading":
                self._state = "ready"
        log.info("model loaded in %.2f s; serving on %s", self.load_seconds, self.backend.name)
        self._loaded.set()

    def wait_loaded(self, timeout_s: float | None = None) -> bool:
        return self._loaded.wait(timeout_s) and self.model_loaded

    @property
    def model_loaded(self) -> bool:
        return self.load_seconds is not None

    def health(self) -> Health:
        with self._lock:
            return Health(self._state, self.model_loaded, self._detail)

    def status(self) -> dict[str, Any]:
        h = self.health()
        return {
            "status": h.status,
            "modelLoaded": h.model_loaded,
            "detail": h.detail or None,
            "backend": self.backend.name,
            "emulated": self.backend.emulated,
            "batch": self.config.batch,
            "quota": self.quota,
            "smLimit": self.sm_limit,
            "dutyCycle": self.gate.ratio,
            "queueDepth": self.batcher.queue_depth,
        }

    def drain(self, timeout_s: float | None = None) -> bool:
        """Stops taking requests, finishes queued ones, then stops. True when nothing was cut."""
        with self._lock:
            if self._state in ("draining", "stopped"):
                return True
            was_serving = self._state == "ready"
            self._state = "draining"
        self.metrics.draining.set(1)
        self.batcher.begin_drain()
        limit = self.config.drain_timeout_s if timeout_s is None else timeout_s
        clean = self.batcher.wait_idle(limit) if was_serving else True
        if not clean:
            log.warning("drain timed out after %.1f s with requests still queued", limit)
        self.stop()
        return clean

    def stop(self) -> None:
        if self._watcher is not None:
            self._watcher.stop()
        self.batcher.stop()
        with self._lock:
            self._state = "stopped"

    # -- serving ------------------------------------------------------------------------------

    def _step(self, items: list[Any]) -> StepResult:
        return self.backend.run(self.handler, self.model, items, self.ctx)

    def submit(self, item: Any) -> Future[Any]:
        """Queues one preprocessed item for the GPU; the future holds its output."""
        return self.batcher.submit(item)


def create_runtime(
    handler: Handler,
    config: RuntimeConfig,
    *,
    backend: GpuBackend | None = None,
    metrics: RuntimeMetrics | None = None,
) -> Runtime:
    chosen = backend if backend is not None else select_backend(config.backend, config.profile_file)
    return Runtime(handler, config, chosen, metrics=metrics)
