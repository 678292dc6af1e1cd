"""Quota enforcement accuracy on the emulated GPU.

Each case is one instance with its own emulated device (ResNet152 profile measured on an A100 by
the Dilu authors, batch 4, about 24 ms per batch), its own quota file, and a client that keeps
its queue full. The device logs the intervals during which it was busy; the GPU share an
instance used over a window is (busy time in the window / window) * l, which must be within 5 %
of the quota q.

All cases run at once, in threads of one process: the emulated GPU sleeps instead of computing,
so the cases do not compete for the CPU, and the suite pays one 10 s window instead of one per
quota. On a real GPU the cases must run one after another (templates/profiler/README.md).
"""

import collections
import threading
import time

import pytest
from runtime_helpers import echo_handler, write_quota

from dilu_runtime.config import RuntimeConfig
from dilu_runtime.gpu import BusyLog, EmulatedGpu
from dilu_runtime.service import Runtime

WINDOW_S = 10.0
WARMUP_S = 0.5
BATCH = 4
TOLERANCE = 0.05
# (l, q): the MPS limit of the process and the quota the node agent writes.
CASES = [(100, q) for q in range(10, 101, 10)] + [(50, 10), (50, 25), (50, 40)]


class Instance:
    def __init__(self, table, tmp_path, sm_limit, quota):
        self.sm_limit, self.quota = sm_limit, quota
        self.quota_file = str(tmp_path / f"quota-{sm_limit}-{quota}.json")
        write_quota(self.quota_file, quota, generation=1, sm_limit=sm_limit)
        self.busy = BusyLog()
        config = RuntimeConfig(
            batch=BATCH,
            batch_wait_ms=0,
            sm_limit=sm_limit,
            quota_file=self.quota_file,
            quota_poll_ms=20,
        )
        self.runtime = Runtime(echo_handler(), config, EmulatedGpu(table, busy_log=self.busy))
        self.stop = threading.Event()
        self.feeder = threading.Thread(target=self._feed, daemon=True)

    def start(self):
        self.runtime.start(background=False)
        self.feeder.start()

    def _feed(self):
        pending = collections.deque()
        while not self.stop.is_set():
            while len(pending) < 3 * BATCH:
                pending.append(self.runtime.submit(0))
            try:
                pending.popleft().result(10)
            except Exception:
                return

    def share(self, t0, t1):
        return self.busy.busy_fraction(t0, t1) * self.sm_limit

    def close(self):
        self.stop.set()
        self.runtime.stop()
        self.feeder.join(5)


def test_gpu_share_over_10_s_is_within_5_percent_of_the_quota(resnet152, tmp_path, capsys):
    instances = [Instance(resnet152, tmp_path, l, q) for l, q in CASES]
    try:
        for inst in instances:
            inst.start()
        time.sleep(WARMUP_S)
        t0 = time.monotonic()
        time.sleep(WINDOW_S)
        t1 = time.monotonic()
        rows = [(i.sm_limit, i.quota, i.share(t0, t1)) for i in instances]
    finally:
        for inst in instances:
            inst.close()
    with capsys.disabled():
        print(f"\nquota accuracy, emulated GPU, {t1 - t0:.2f} s window, batch {BATCH} of ResNet152:")
        print("   l    q  measured  error")
        for l, q, share in rows:
            print(f"{l:4d} {q:4d}  {share:8.2f}  {100 * (share - q) / q:+5.2f} %")
    failures = [(l, q, round(s, 2)) for l, q, s in rows if abs(s - q) > TOLERANCE * q]
    assert failures == []


def test_a_new_quota_file_takes_effect_while_serving(resnet152, tmp_path):
    inst = Instance(resnet152, tmp_path, 100, 20)
    try:
        inst.start()
        time.sleep(0.3)
        a0 = time.monotonic()
        time.sleep(3.0)
        a1 = time.monotonic()
        write_quota(inst.quota_file, 60, generation=2, sm_limit=100)
        time.sleep(0.3)  # the watcher polls every 20 ms; leave the old cycle behind
        b0 = time.monotonic()
        time.sleep(3.0)
        b1 = time.monotonic()
        before, after = inst.share(a0, a1), inst.share(b0, b1)
    finally:
        inst.close()
    assert before == pytest.approx(20, rel=TOLERANCE)
    assert after == pytest.approx(60, rel=TOLERANCE)
    assert inst.runtime.metrics.quota_generation._value.get() == 2
