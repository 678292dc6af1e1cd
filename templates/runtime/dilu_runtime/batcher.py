"""Dynamic batching in front of the GPU step.

One worker thread owns the GPU (one MPS client, one stream of batches). It takes the oldest
request, then waits for more until the batch is full or the oldest request has waited
`max_wait_s`; requests that already waited while the GPU was busy therefore add no extra delay.
Before the batch starts, the duty-cycle gate may hold it for its time slice; requests that
arrive during that hold join the batch (up to the limit) for free.
"""

from __future__ import annotations

import collections
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

from .duty_cycle import DutyCycleGate
from .gpu import StepResult
from .metrics import RuntimeMetrics

log = logging.getLogger("dilu_runtime.batcher")


class QueueFull(RuntimeError):
    pass


class Draining(RuntimeError):
    pass


@dataclass
class WorkItem:
    payload: Any
    enqueued_at: float
    future: Future[Any] = field(default_factory=Future)
    started_at: float | None = None


def _fail(item: WorkItem, err: BaseException) -> None:
    if not item.future.done():
        item.future.set_exception(err)


class DynamicBatcher:
    def __init__(
        self,
        step: Callable[[list[Any]], StepResult],
        gate: DutyCycleGate,
        *,
        max_batch: int,
        max_wait_s: float,
        max_queue: int,
        metrics: RuntimeMetrics | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if max_batch < 1:
            raise ValueError("max_batch must be >= 1")
        self._step = step
        self._gate = gate
        self.max_batch = max_batch
        self.max_wait_s = max_wait_s
        self.max_queue = max_queue
        self._metrics = metrics
        self._clock = clock
        self._queue: collections.deque[WorkItem] = collections.deque()
        self._cond = threading.Condition()
        self._draining = False
        self._stopped = False
        self._running_batch = False
        self._thread: threading.Thread | None = None
        self.batches = 0

    # -- submission ---------------------------------------------------------------------------

    def submit(self, payload: Any) -> Future[Any]:
        item = WorkItem(payload=payload, enqueued_at=self._clock())
        with self._cond:
            if self._draining or self._stopped:
                raise Draining("the instance is shutting down")
            if len(self._queue) >= self.max_queue:
                raise QueueFull(f"queue full ({self.max_queue} requests waiting)")
            self._queue.append(item)
            self._set_depth()
            self._cond.notify_all()
        return item.future

    def _set_depth(self) -> None:
        if self._metrics is not None:
            self._metrics.queue_depth.set(len(self._queue))

    @property
    def queue_depth(self) -> int:
        with self._cond:
            return len(self._queue)

    # -- worker -------------------------------------------------------------------------------

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="dilu-gpu-worker", daemon=True)
        self._thread.start()

    def _collect(self) -> list[WorkItem] | None:
        """Waits for the first request, then fills the batch until full or its wait is over."""
        with self._cond:
            while not self._queue:
                if self._stopped or self._draining:
                    return None
                self._cond.wait()
            batch = [self._queue.popleft()]
            deadline = batch[0].enqueued_at + self.max_wait_s
            while len(batch) < self.max_batch:
                if self._queue:
                    batch.append(self._queue.popleft())
                    continue
                left = deadline - self._clock()
                if left <= 0 or self._stopped or self._draining:
                    break
                self._cond.wait(left)
            self._running_batch = True
            self._set_depth()
            return batch

    def _top_up(self, batch: list[WorkItem]) -> None:
        with self._cond:
            while len(batch) < self.max_batch and self._queue:
                batch.append(self._queue.popleft())
            self._set_depth()

    def _run(self) -> None:
        while True:
            batch = self._collect()
            if batch is None:
                return
            try:
                self._run_batch(batch)
            except Exception:  # the one GPU worker must outlive any single batch
                log.exception("batch failed outside the GPU step")
                for item in batch:
                    _fail(item, RuntimeError("internal error while running the batch"))
            finally:
                with self._cond:
                    self._running_batch = False
                    self._cond.notify_all()

    def _run_batch(self, batch: list[WorkItem]) -> None:
        gate_started = self._clock()
        if not self._gate.acquire():
            for item in batch:
                _fail(item, Draining("the instance stopped before the request ran"))
            return
        throttled = self._clock() - gate_started
        self._top_up(batch)
        # A request whose client went away (its future cancelled) is dropped here, and the
        # ones that stay can no longer be cancelled: the GPU runs only for requests still wanted.
        batch[:] = [item for item in batch if item.future.set_running_or_notify_cancel()]
        if not batch:
            return
        started = self._clock()
        for item in batch:
            item.started_at = started
        m = self._metrics
        try:
            result = self._step([item.payload for item in batch])
        except Exception as err:
            log.exception("GPU step failed for a batch of %d", len(batch))
            for item in batch:
                _fail(item, err)
            return
        self._gate.charge(result.busy_s)
        self.batches += 1
        if m is not None:
            m.batch_seconds.observe(result.busy_s)
            m.batch_size.observe(len(batch))
            m.gpu_busy.inc(result.busy_s)
            m.throttled.inc(throttled)
            for item in batch:
                m.queue_seconds.observe(started - item.enqueued_at)
        for item, output in zip(batch, result.outputs, strict=True):
            item.future.set_result(output)

    # -- shutdown -----------------------------------------------------------------------------

    def begin_drain(self) -> None:
        """Refuses new requests; queued ones are still served."""
        with self._cond:
            self._draining = True
            self._cond.notify_all()

    def wait_idle(self, timeout_s: float) -> bool:
        """Waits until the queue is empty and no batch runs; False on timeout."""
        deadline = self._clock() + timeout_s
        with self._cond:
            while self._queue or self._running_batch:
                left = deadline - self._clock()
                if left <= 0:
                    return False
                self._cond.wait(min(left, 0.05))
            return True

    def stop(self) -> None:
        with self._cond:
            self._stopped = True
            leftover = list(self._queue)
            self._queue.clear()
            self._set_depth()
            self._cond.notify_all()
        self._gate.close()
        for item in leftover:
            _fail(item, Draining("the instance stopped before the request ran"))
        if self._thread is not None:
            self._thread.join(timeout=5)
