import threading
import time

import pytest

from dilu_runtime.duty_cycle import DutyCycleGate


def run_backlog(gate, clock, batch_s, horizon_s):
    """Simulates a saturated instance on a fake clock; returns the busy seconds in the horizon."""
    start = clock.now
    busy = 0.0
    while clock.now < start + horizon_s:
        delay = gate.delay_s()
        if delay > 0:
            clock.advance(delay)
            continue
        t0 = clock.now
        clock.advance(batch_s)
        gate.charge(batch_s)
        busy += max(0.0, min(clock.now, start + horizon_s) - t0)
    return busy


@pytest.mark.parametrize("ratio", [0.1, 0.25, 0.5, 0.8, 1.0])
@pytest.mark.parametrize("batch_s", [0.003, 0.025, 0.3])
def test_busy_fraction_over_a_window_is_the_ratio_within_one_batch(clock, ratio, batch_s):
    gate = DutyCycleGate(window_s=0.1, clock=clock)
    gate.set_ratio(ratio)
    horizon = 100.0
    busy = run_backlog(gate, clock, batch_s, horizon)
    # The documented bound: the phase of the last cycle, at most L * (1 - d) of busy time.
    assert abs(busy / horizon - ratio) <= batch_s * (1 - ratio) / horizon + 1e-9


def test_a_throttled_batch_period_is_latency_times_l_over_q(clock):
    gate = DutyCycleGate(window_s=0.1, clock=clock)
    gate.set_ratio(0.25)  # q = 25 %, l = 100 %
    assert gate.delay_s() == 0.0
    clock.advance(0.02)
    gate.charge(0.02)
    # Owes 0.75 * 20 ms; repaid at 0.25 s/s: 60 ms, so the period is 80 ms = 20 ms * 100 / 25.
    assert gate.delay_s() == pytest.approx(0.06)


def test_idle_time_earns_at_most_one_window_of_tokens(clock):
    gate = DutyCycleGate(window_s=0.1, clock=clock)
    gate.set_ratio(0.5)
    clock.advance(60.0)  # a long idle period: without the cap, 30 s of credit
    back_to_back = 0
    while gate.delay_s() == 0.0 and back_to_back < 100:
        clock.advance(0.05)
        gate.charge(0.05)
        back_to_back += 1
    # Saved credit is d * W = 50 ms; each 50 ms batch earns 25 ms while it runs, so three
    # batches start without waiting (the third from a zero balance), then the debt shows.
    assert back_to_back == 3


def test_raising_the_quota_wakes_a_waiting_batch_at_once():
    gate = DutyCycleGate(window_s=0.1)
    gate.set_ratio(0.01)
    gate.charge(1.0)  # owes ~99 s at 1 %
    done = threading.Event()
    t = threading.Thread(target=lambda: (gate.acquire(), done.set()))
    t.start()
    time.sleep(0.05)
    assert not done.is_set()
    gate.set_ratio(1.0)
    assert done.wait(1.0)
    t.join()


def test_close_releases_waiters_with_false():
    gate = DutyCycleGate(window_s=0.1)
    gate.set_ratio(0.0)
    result = []
    t = threading.Thread(target=lambda: result.append(gate.acquire()))
    t.start()
    time.sleep(0.02)
    gate.close()
    t.join(1.0)
    assert result == [False]


def test_acquire_times_out():
    gate = DutyCycleGate(window_s=0.1)
    gate.set_ratio(0.0)
    t0 = time.monotonic()
    assert gate.acquire(timeout_s=0.05) is False
    assert time.monotonic() - t0 < 0.5
