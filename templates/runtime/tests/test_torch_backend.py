"""The PyTorch GPU step against a stand-in for `torch` (no GPU or torch here).

Only the boundary is faked: the object below records the calls the real `torch` would get. What
is checked is the order that makes the busy time honest: events around `infer`, then
`synchronize` before the step is timed as finished, and `infer` under inference mode.
"""

import contextlib
import time

import pytest

from dilu_runtime import gpu
from dilu_runtime.gpu import TorchGpu, select_backend
from dilu_runtime.handler import Handler


class FakeEvent:
    def __init__(self, calls, enable_timing):
        assert enable_timing
        self.calls = calls
        self.t = None

    def record(self):
        self.t = time.monotonic()
        self.calls.append("record")

    def elapsed_time(self, end):
        return (end.t - self.t) * 1000.0 - 1.0  # device time: 1 ms less than the host saw


class FakeCuda:
    def __init__(self, calls, available=True):
        self.calls = calls
        self.available = available

    def is_available(self):
        return self.available

    def init(self):
        self.calls.append("init")

    def Event(self, enable_timing=False):  # noqa: N802 - torch's name
        return FakeEvent(self.calls, enable_timing)

    def synchronize(self):
        time.sleep(0.01)  # the GPU finishing queued kernels
        self.calls.append("synchronize")

    def get_device_name(self, index):
        return "NVIDIA H100 80GB HBM3"


class FakeTorch:
    def __init__(self, available=True):
        self.calls = []
        self.cuda = FakeCuda(self.calls, available)
        self.in_inference = False

    @contextlib.contextmanager
    def inference_mode(self):
        self.in_inference = True
        self.calls.append("inference_mode")
        try:
            yield
        finally:
            self.in_inference = False


def test_a_batch_is_timed_until_the_device_has_finished():
    torch = FakeTorch()
    seen = {}

    def infer(model, items, ctx):
        seen["inference"] = torch.in_inference
        torch.calls.append("infer")
        return [x * 2 for x in items]

    handler = Handler(
        infer=infer,
        load=lambda ctx: torch.calls.append(f"load:{ctx.device}") or "m",
    )
    backend = TorchGpu(torch)
    ctx = backend.context(batch=4, sm_limit=50)
    assert backend.prepare(handler, ctx) == "m"
    result = backend.run(handler, "m", [1, 2, 3], ctx)
    assert result.outputs == [2, 4, 6]
    assert seen["inference"] is True
    assert torch.calls == ["init", "load:cuda", "record", "inference_mode", "infer", "record", "synchronize"]
    assert result.busy_s >= 0.01  # includes the wait for the device
    assert result.device_s == pytest.approx(result.busy_s - 0.011, abs=0.005)
    t0, t1 = time.monotonic() - 5, time.monotonic() + 1
    assert backend.busy_log.busy_fraction(t0, t1) > 0
    assert backend.gpu_model() == "NVIDIA H100 80GB HBM3"


def test_outputs_must_match_the_batch():
    backend = TorchGpu(FakeTorch())
    handler = Handler(infer=lambda m, items, ctx: items[:1])
    with pytest.raises(TypeError, match=r"one output per item \(2\)"):
        backend.run(handler, None, [1, 2], backend.context(2, 100))


def test_auto_picks_torch_when_cuda_is_usable_and_the_emulator_otherwise(monkeypatch, tmp_path):
    monkeypatch.setattr(gpu, "torch_if_usable", lambda: FakeTorch())
    assert select_backend("auto", None).name == "torch"
    monkeypatch.setattr(gpu, "torch_if_usable", lambda: None)
    with pytest.raises(RuntimeError, match="DILU_GPU_BACKEND=torch but PyTorch with a usable CUDA"):
        select_backend("torch", None)
    with pytest.raises(RuntimeError, match="needs DILU_PROFILE_FILE"):
        select_backend("auto", None)
    profile = tmp_path / "p.csv"
    profile.write_text("1,100,0.01,100\n")
    assert select_backend("auto", str(profile)).name == "emulated"
