"""Enforcing the effective quota q by duty-cycling GPU work.

MPS fixes a client's SM share l (CUDA_MPS_ACTIVE_THREAD_PERCENTAGE) when its CUDA context is
created; it cannot be changed while the process runs. The autoscaler changes the instance's
effective quota q in [r, l] at run time, so the runtime enforces q in time instead of space: GPU
work may run for a fraction d = q / l of the time, which uses l % of the SMs for d of the time,
i.e. q % of the GPU on average.

Method: time-slice tokens. Tokens are seconds of GPU time. They accrue continuously at rate d
(d * W per window of W seconds) and are capped at one window's worth, d * W, which bounds the
burst an instance can take after being idle. A batch may start while the balance is >= 0; when it
ends, its measured busy time is charged, and the balance may go negative (a batch cannot be
preempted halfway). The next batch then waits until the debt is repaid. With a continuous
backlog each cycle is: run for L, owe (1 - d) * L, wait (1 - d) * L / d, so the period is L / d
and the busy fraction is exactly d. Over a window of T seconds the busy time differs from d * T
by less than one batch's latency L plus the burst cap d * W, so the error of the busy fraction is
below (L + d * W) / T; in steady state it is within L * (1 - d) / T (the phase of the last cycle).

Compared with slicing every window strictly (busy only in the first d * W of each window), debt
keeps the long-run average exact for batches longer than a slice, and a batch never waits for a
window boundary it does not need. A throttled batch's wall period is L * l / q, the figure the
autoscaler's performance model uses (autoscaler/src/model/instance-performance.ts).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

# A balance this close to zero is zero: accrual over a computed delay can land a rounding error
# short of it, and a clock cannot advance by 1e-17 s.
_EPSILON_S = 1e-9


class DutyCycleGate:
    def __init__(
        self,
        *,
        window_s: float = 0.1,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if window_s <= 0:
            raise ValueError("window_s must be > 0")
        self._window_s = window_s
        self._clock = clock
        self._cond = threading.Condition()
        self._ratio = 1.0
        self._tokens = 0.0
        self._last = clock()
        self._closed = False
        self.throttled_s = 0.0
        self.busy_s = 0.0

    @property
    def ratio(self) -> float:
        with self._cond:
            return self._ratio

    def set_ratio(self, ratio: float) -> None:
        """Sets d = q / l (clamped to [0, 1]); wakes a waiting batch so it re-plans at once."""
        with self._cond:
            self._accrue()
            new = min(1.0, max(0.0, ratio))
            if self._ratio >= 1.0 and new < 1.0:
                # Unthrottled time earned nothing; start the throttled regime with no credit.
                self._tokens = 0.0
            self._ratio = new
            self._cond.notify_all()

    def _accrue(self, *, capped: bool = True) -> None:
        now = self._clock()
        elapsed = max(0.0, now - self._last)
        self._last = now
        if self._ratio >= 1.0:
            self._tokens = 0.0
            return
        self._tokens += self._ratio * elapsed
        if capped:
            self._tokens = min(self._ratio * self._window_s, self._tokens)

    def delay_s(self) -> float:
        """Seconds until a batch may start (0 when it may start now; inf while d is 0)."""
        with self._cond:
            return self._delay_locked()

    def _delay_locked(self) -> float:
        self._accrue()
        if self._ratio <= 0.0:
            return float("inf")
        if self._ratio >= 1.0 or self._tokens >= -_EPSILON_S:
            return 0.0
        return -self._tokens / self._ratio

    def acquire(self, timeout_s: float | None = None) -> bool:
        """Blocks until a batch may start. False when the gate was closed or the timeout hit."""
        started = self._clock()
        with self._cond:
            while not self._closed:
                delay = self._delay_locked()
                if delay <= 0.0:
                    self.throttled_s += self._clock() - started
                    return True
                if timeout_s is not None:
                    left = timeout_s - (self._clock() - started)
                    if left <= 0:
                        return False
                    delay = min(delay, left)
                # Condition.wait wakes early on set_ratio, so a raised quota takes effect now.
                self._cond.wait(None if delay == float("inf") else delay)
            return False

    def charge(self, busy_s: float) -> None:
        """Accounts GPU time used by one batch (measured around the GPU step)."""
        with self._cond:
            # Time since the batch was let through was spent running it, not idle: it earns
            # tokens in full, and only what is left over is capped.
            self._accrue(capped=False)
            self.busy_s += busy_s
            if self._ratio < 1.0:
                self._tokens = min(self._ratio * self._window_s, self._tokens - busy_s)

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()
