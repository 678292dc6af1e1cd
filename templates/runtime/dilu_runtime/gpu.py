"""The GPU step: where a batch meets the device.

Two implementations behind one interface (`prepare` once, then `run` per batch, each returning
the outputs and the seconds the device was busy):

- `TorchGpu` runs the handler's `infer` on CUDA and waits for the device (`synchronize`), so the
  busy time it reports is the time the GPU spent on the batch as the host sees it (kernel
  launches included, which makes the duty cycle slightly conservative). It also times the batch
  with CUDA events, the device's own clock, for the quota-accuracy tool.
- `EmulatedGpu` is for machines without a GPU. The handler's `infer` still runs, on the CPU, so
  responses are real; then the step sleeps until it has lasted as long as the profile says one
  batch takes at this process's SM share l. What is emulated is only the GPU's timing: no
  kernels, no memory limits, no contention between MPS clients.
"""

from __future__ import annotations

import collections
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .handler import Handler, HandlerContext
from .profile import LatencyTable, load_profile

log = logging.getLogger("dilu_runtime.gpu")


@dataclass(frozen=True)
class StepResult:
    outputs: list[Any]
    busy_s: float
    #: Device-side elapsed time (CUDA events) when the backend can measure it.
    device_s: float | None = None


class BusyLog:
    """Intervals during which the device was busy, as recorded by the backend itself.

    A bounded deque: enough history for measuring windows of many seconds, constant memory in
    a long-running instance.
    """

    def __init__(self, keep: int = 50_000) -> None:
        self._lock = threading.Lock()
        self._intervals: collections.deque[tuple[float, float]] = collections.deque(maxlen=keep)

    def add(self, start: float, end: float) -> None:
        with self._lock:
            self._intervals.append((start, end))

    def busy_fraction(self, t0: float, t1: float) -> float:
        """Share of [t0, t1] covered by busy intervals (they never overlap: one stream)."""
        with self._lock:
            busy = sum(max(0.0, min(e, t1) - max(s, t0)) for s, e in self._intervals)
        return busy / (t1 - t0)


class GpuBackend:
    name = "abstract"
    emulated = False
    #: Busy intervals of the device as this process drives it (monotonic clock).
    busy_log: BusyLog

    def context(self, batch: int, sm_limit: float) -> HandlerContext:
        raise NotImplementedError

    def prepare(self, handler: Handler, ctx: HandlerContext) -> Any:
        """Loads the model; returns it."""
        return handler.load(ctx)

    def run(self, handler: Handler, model: Any, items: list[Any], ctx: HandlerContext) -> StepResult:
        raise NotImplementedError

    def gpu_model(self) -> str:
        raise NotImplementedError


def _check_outputs(outputs: Any, n: int) -> list[Any]:
    if not isinstance(outputs, (list, tuple)) or len(outputs) != n:
        got = (
            f"{type(outputs).__name__} of length {len(outputs)}"
            if hasattr(outputs, "__len__")
            else type(outputs).__name__
        )
        raise TypeError(f"infer must return a list with one output per item ({n}), got {got}")
    return list(outputs)


class EmulatedGpu(GpuBackend):
    name = "emulated"
    emulated = True

    def __init__(
        self,
        table: LatencyTable,
        *,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        busy_log: BusyLog | None = None,
    ) -> None:
        self.table = table
        self._sleep = sleep
        self._clock = clock
        self.busy_log = busy_log if busy_log is not None else BusyLog()

    @classmethod
    def from_profile_file(cls, path: str, **kwargs: Any) -> EmulatedGpu:
        return cls(LatencyTable(load_profile(path)), **kwargs)

    def context(self, batch: int, sm_limit: float) -> HandlerContext:
        return HandlerContext(device="cpu", emulated=True, batch=batch, sm_limit=sm_limit)

    def batch_latency_s(self, batch: int, sm_limit: float) -> float:
        return self.table.latency_ms(batch, sm_limit) / 1000.0

    def run(self, handler: Handler, model: Any, items: list[Any], ctx: HandlerContext) -> StepResult:
        start = self._clock()
        outputs = _check_outputs(handler.infer(model, items, ctx), len(items))
        target = self.batch_latency_s(len(items), ctx.sm_limit)
        left = target - (self._clock() - start)
        if left > 0:
            self._sleep(left)
        end = self._clock()
        self.busy_log.add(start, end)
        return StepResult(outputs=outputs, busy_s=end - start, device_s=end - start)

    def gpu_model(self) -> str:
        measured_on = self.table.profile.gpu_model or "unknown GPU"
        return f"emulated ({measured_on}, profile {self.table.profile.name})"


class TorchGpu(GpuBackend):
    name = "torch"

    def __init__(self, torch_module: Any, *, busy_log: BusyLog | None = None) -> None:
        self.torch = torch_module
        self.busy_log = busy_log if busy_log is not None else BusyLog()
        #: The same batches as timed by CUDA events, placed to end when synchronize returned.
        self.device_log = BusyLog()

    def context(self, batch: int, sm_limit: float) -> HandlerContext:
        return HandlerContext(device="cuda", emulated=False, batch=batch, sm_limit=sm_limit)

    def prepare(self, handler: Handler, ctx: HandlerContext) -> Any:
        # Creating the context here, on the serving thread's process, is what makes MPS read
        # CUDA_MPS_ACTIVE_THREAD_PERCENTAGE; later changes to the variable have no effect.
        self.torch.cuda.init()
        # Not under inference_mode: load_state_dict and dtype casts must see ordinary tensors.
        return handler.load(ctx)

    def run(self, handler: Handler, model: Any, items: list[Any], ctx: HandlerContext) -> StepResult:
        torch = self.torch
        start_ev = torch.cuda.Event(enable_timing=True)
        end_ev = torch.cuda.Event(enable_timing=True)
        start = time.monotonic()
        start_ev.record()
        with torch.inference_mode():
            outputs = handler.infer(model, items, ctx)
        end_ev.record()
        torch.cuda.synchronize()
        end = time.monotonic()
        busy = end - start
        self.busy_log.add(start, end)
        device_s = start_ev.elapsed_time(end_ev) / 1000.0
        self.device_log.add(end - device_s, end)
        return StepResult(outputs=_check_outputs(outputs, len(items)), busy_s=busy, device_s=device_s)

    def gpu_model(self) -> str:
        return str(self.torch.cuda.get_device_name(0))


def torch_if_usable() -> Any | None:
    try:
        import torch  # type: ignore[import-not-found]
    except ImportError:
        return None
    try:
        return torch if torch.cuda.is_available() else None
    except Exception:  # a broken driver install must not crash the fallback decision
        log.exception("torch is installed but CUDA could not be queried")
        return None


def select_backend(kind: str, profile_file: str | None) -> GpuBackend:
    """Picks the GPU step: `torch`, `emulated`, or `auto` (torch when CUDA is usable)."""
    if kind in ("torch", "auto"):
        torch = torch_if_usable()
        if torch is not None:
            return TorchGpu(torch)
        if kind == "torch":
            raise RuntimeError(
                "DILU_GPU_BACKEND=torch but PyTorch with a usable CUDA device is not available"
            )
    if profile_file is None:
        raise RuntimeError(
            "no usable GPU, and the emulated GPU needs DILU_PROFILE_FILE "
            "(a FunctionProfile YAML or Dilu CSV profile to take batch latencies from)"
        )
    log.warning("no usable GPU: GPU time is emulated from %s", profile_file)
    return EmulatedGpu.from_profile_file(profile_file)
