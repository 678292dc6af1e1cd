import threading
import time

import pytest

from dilu_runtime.batcher import Draining, DynamicBatcher, QueueFull
from dilu_runtime.duty_cycle import DutyCycleGate
from dilu_runtime.gpu import StepResult


class RecordingStep:
    def __init__(self, seconds=0.0, fail=False):
        self.batches = []
        self.seconds = seconds
        self.fail = fail
        self.release = threading.Event()
        self.release.set()

    def __call__(self, items):
        self.release.wait(5)
        if self.fail:
            raise RuntimeError("device lost")
        self.batches.append(list(items))
        time.sleep(self.seconds)
        return StepResult(outputs=[i * 10 for i in items], busy_s=self.seconds)


def make(step, **kw):
    args = dict(max_batch=4, max_wait_s=0.05, max_queue=100)
    args.update(kw)
    b = DynamicBatcher(step, DutyCycleGate(), **args)
    b.start()
    return b


def test_batches_up_to_the_limit_and_keeps_order():
    step = RecordingStep()
    step.release.clear()
    b = make(step)
    futures = [b.submit(i) for i in range(10)]
    step.release.set()
    assert [f.result(2) for f in futures] == [i * 10 for i in range(10)]
    assert max(len(x) for x in step.batches) == 4
    assert [i for batch in step.batches for i in batch] == list(range(10))
    b.stop()


def test_a_lone_request_waits_at_most_the_bounded_wait():
    step = RecordingStep()
    b = make(step, max_wait_s=0.05)
    t0 = time.monotonic()
    assert b.submit(1).result(2) == 10
    waited = time.monotonic() - t0
    assert 0.045 <= waited < 0.3
    assert step.batches == [[1]]
    b.stop()


def test_a_full_batch_does_not_wait():
    step = RecordingStep()
    b = make(step, max_batch=2, max_wait_s=5.0)
    t0 = time.monotonic()
    fs = [b.submit(1), b.submit(2)]
    assert [f.result(2) for f in fs] == [10, 20]
    assert time.monotonic() - t0 < 1.0
    b.stop()


def test_requests_arriving_while_the_gpu_is_busy_form_the_next_batch():
    step = RecordingStep(seconds=0.1)
    b = make(step, max_batch=8, max_wait_s=0.0)
    first = b.submit(0)
    time.sleep(0.02)
    rest = [b.submit(i) for i in range(1, 6)]
    first.result(2)
    [f.result(2) for f in rest]
    assert step.batches == [[0], [1, 2, 3, 4, 5]]
    b.stop()


def test_a_full_queue_refuses():
    step = RecordingStep()
    step.release.clear()
    b = make(step, max_batch=1, max_queue=2)
    b.submit(1)
    time.sleep(0.05)  # the worker holds item 1
    b.submit(2)
    b.submit(3)
    with pytest.raises(QueueFull, match="queue full"):
        b.submit(4)
    step.release.set()
    b.stop()


def test_drain_serves_what_is_queued_then_refuses():
    step = RecordingStep(seconds=0.02)
    b = make(step, max_batch=2)
    fs = [b.submit(i) for i in range(6)]
    b.begin_drain()
    with pytest.raises(Draining):
        b.submit(99)
    assert b.wait_idle(5)
    assert [f.result(0) for f in fs] == [0, 10, 20, 30, 40, 50]
    b.stop()


def test_a_failed_step_fails_every_request_of_its_batch_only():
    step = RecordingStep(fail=True)
    b = make(step, max_batch=2, max_wait_s=0.2)
    fs = [b.submit(1), b.submit(2)]
    for f in fs:
        with pytest.raises(RuntimeError, match="device lost"):
            f.result(2)
    step.fail = False
    assert b.submit(3).result(2) == 30
    b.stop()


def test_the_quota_gate_holds_batches_and_late_arrivals_join():
    step = RecordingStep(seconds=0.05)
    gate = DutyCycleGate(window_s=0.1)
    gate.set_ratio(0.25)  # after a 50 ms batch, wait 150 ms
    b = DynamicBatcher(step, gate, max_batch=8, max_wait_s=0.0, max_queue=100)
    b.start()
    b.submit(0).result(2)
    t0 = time.monotonic()
    f1 = b.submit(1)
    time.sleep(0.05)
    f2 = b.submit(2)  # arrives while batch 2 waits for its time slice
    f1.result(2)
    f2.result(2)
    assert time.monotonic() - t0 >= 0.12
    assert step.batches[-1] == [1, 2]
    b.stop()


def test_a_request_cancelled_while_queued_is_dropped_and_the_worker_survives():
    step = RecordingStep(seconds=0.05)
    b = make(step, max_batch=4, max_wait_s=0.0)
    first = b.submit(0)  # occupies the GPU for 50 ms
    time.sleep(0.01)
    gone = b.submit(1)
    kept = b.submit(2)
    assert gone.cancel()  # the client disconnected while the request was queued
    assert first.result(2) == 0 and kept.result(2) == 20
    assert step.batches == [[0], [2]]
    assert b.submit(3).result(2) == 30
    b.stop()


def test_an_internal_error_fails_the_batch_but_not_the_worker():
    calls = []

    def step(items):
        calls.append(items)
        if len(calls) == 1:
            return StepResult(outputs=[], busy_s=0.0)  # wrong length: zip(strict=True) raises
        return StepResult(outputs=[i * 10 for i in items], busy_s=0.0)

    b = make(step, max_batch=1)
    with pytest.raises(RuntimeError, match="internal error"):
        b.submit(1).result(2)
    assert b.submit(2).result(2) == 20
    b.stop()
