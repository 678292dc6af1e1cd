"""The harness end to end: real worker processes on the emulated GPU, a scripted search peer.

The emulated GPU takes its timing from the ResNet152 profile the Dilu authors measured on an
A100, so the harness should measure back those latencies, and the search should reach the
choice the notes report for that profile (SM 30 %, batch 16, 9 probes). The notes' SLO is 40 ms,
but that choice measures 39.97 ms there: an emulated sleep always overshoots a little, so the
test uses 42 ms, which keeps every decision of the search at least 2 ms from the SLO.
"""

import json
import os
import subprocess
import sys

import pytest

from dilu_profiler.harness import run_search
from dilu_profiler.measure import PROFILER_DIR, WorkerOptions, measure_point
from dilu_runtime.profile import LatencyTable, load_profile

TEMPLATES = os.path.dirname(PROFILER_DIR)
REPO = os.path.dirname(TEMPLATES)
RESNET152_CSV = os.path.join(REPO, "autoscaler", "data", "profiles", "dilu-a100", "bs_sm_resnet152.csv")
HANDLER = os.path.join(TEMPLATES, "openfaas", "python3-http-gpu", "function", "handler.py")
PEER = [sys.executable, os.path.join(os.path.dirname(__file__), "scripted_peer.py")]
TRUTH = LatencyTable(load_profile(RESNET152_CSV))


# The machine running the tests is shared: a busy CPU delays the emulated GPU's sleeps, so
# measured latencies are compared with a tolerance, and medians of several batches are used.
REL = 0.15


def opts(**kw):
    base = dict(
        handler=HANDLER, warmup=1, iterations=5, backend="emulated", profile=RESNET152_CSV, timeout_s=60
    )
    base.update(kw)
    return WorkerOptions(**base)


def cli(*args, env=None, cwd=None):
    e = dict(os.environ)
    e["PYTHONPATH"] = os.pathsep.join([PROFILER_DIR, os.path.join(TEMPLATES, "runtime")])
    e.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "dilu_profiler", *args],
        env=e,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_each_point_runs_in_a_fresh_process_with_its_mps_percentage():
    a = measure_point(opts(), 8, 30)
    b = measure_point(opts(), 8, 70)
    assert a["smLimit"] == 30 and b["smLimit"] == 70  # read back from CUDA_MPS_ACTIVE_THREAD_PERCENTAGE
    assert a["backend"] == "emulated" and "A100" not in a["gpuModel"] and "emulated" in a["gpuModel"]
    assert a["latencyMs"] == pytest.approx(TRUTH.latency_ms(8, 30), rel=REL)
    assert b["latencyMs"] == pytest.approx(TRUTH.latency_ms(8, 70), rel=REL)
    assert a["throughputRps"] == pytest.approx(8000 / a["latencyMs"], rel=REL)


def test_a_point_that_cannot_be_measured_is_an_error_result(tmp_path):
    bad = tmp_path / "handler.py"
    bad.write_text("def infer(model, items, ctx):\n    return items\n")
    r = measure_point(opts(handler=str(bad)), 1, 50)
    assert "example_request" in r["error"]


def test_search_against_a_scripted_peer_writes_the_function_profile(tmp_path):
    out = tmp_path / "resnet152.yaml"
    peer_log = tmp_path / "peer.log"
    r = cli(
        "search",
        "--handler",
        HANDLER,
        "--backend",
        "emulated",
        "--profile",
        RESNET152_CSV,
        "--slo-ms",
        "42",
        "--name",
        "resnet152",
        "--model",
        "ResNet152 (emulated)",
        "--out",
        str(out),
        "--warmup",
        "1",
        "--iterations",
        "5",
        "--dilu",
        " ".join(PEER),
        env={"PEER_LOG": str(peer_log)},
    )
    assert r.returncode == 0, r.stderr
    summary = json.loads(r.stdout.strip().splitlines()[-1])
    text = out.read_text()
    assert text.startswith("# Measured ") and "# Command: python -m dilu_profiler search" in text
    profile = load_profile(str(out))  # the runtime's FunctionProfile reader accepts it
    sent = [json.loads(line) for line in peer_log.read_text().splitlines()]
    assert len(profile.points) == summary["probes"] == len(sent)
    assert all(m["type"] == "result" and m["latencyMs"] > 0 for m in sent)
    deviation = max(abs(p.latency_ms / TRUTH.latency_ms(p.batch, p.sm_percent) - 1) for p in profile.points)
    assert deviation < REL
    chosen = next(
        p
        for p in profile.points
        if (p.batch, p.sm_percent) == (summary["choice"]["batch"], summary["choice"]["smPercent"])
    )
    assert chosen.latency_ms <= 42
    if deviation < 0.04:
        # Measured as published: the choice the notes report for this profile and SLO.
        assert (summary["choice"]["batch"], summary["choice"]["smPercent"], summary["probes"]) == (16, 30, 9)
    import yaml

    doc = yaml.safe_load(text)
    assert doc["spec"]["model"] == "ResNet152 (emulated)"
    assert doc["spec"]["modelLoadSeconds"] >= 0
    rec = doc["status"]["recommendations"][0]
    assert (rec["batch"], rec["smRequest"], rec["sloMs"]) == (chosen.batch, chosen.sm_percent, 42)


def test_a_failed_point_is_reported_to_the_search_as_an_error():
    def measure(batch, sm):
        if sm == 10:
            return {"error": "CUDA out of memory"}
        return {"latencyMs": 20.0, "throughputRps": 50.0 * batch}

    outcome = run_search([*PEER, "profile", "search", "--protocol", "jsonl", "--slo-ms", "40"], measure)
    first = outcome.probes[0]
    assert (first.batch, first.sm_percent, first.result) == (1, 10, {"error": "CUDA out of memory"})
    assert outcome.probes[1].sm_percent == 20  # the search treated SM 10 % as missing the SLO


@pytest.mark.parametrize(
    "mode,message",
    [
        ("garbage", "not JSON"),
        ("error", "the search failed: --slo-ms must be > 0"),
        ("die", "the search exited 3 before it was done"),
    ],
)
def test_a_misbehaving_search_is_a_clear_error(mode, message, tmp_path):
    r = cli(
        "search",
        "--handler",
        HANDLER,
        "--backend",
        "emulated",
        "--profile",
        RESNET152_CSV,
        "--slo-ms",
        "40",
        "--name",
        "x",
        "--out",
        str(tmp_path / "x.yaml"),
        "--warmup",
        "0",
        "--iterations",
        "1",
        "--dilu",
        " ".join(PEER),
        env={"PEER_MODE": mode},
    )
    assert r.returncode == 2
    assert message in r.stderr
    assert not (tmp_path / "x.yaml").exists()


def test_grid_measures_every_point(tmp_path):
    out = tmp_path / "grid.yaml"
    r = cli(
        "grid",
        "--handler",
        HANDLER,
        "--backend",
        "emulated",
        "--profile",
        RESNET152_CSV,
        "--name",
        "resnet152",
        "--batches",
        "1,4",
        "--sm",
        "20,50",
        "--out",
        str(out),
        "--warmup",
        "0",
        "--iterations",
        "2",
    )
    assert r.returncode == 0, r.stderr
    profile = load_profile(str(out))
    assert sorted((p.batch, p.sm_percent) for p in profile.points) == [(1, 20), (1, 50), (4, 20), (4, 50)]


def test_grid_refuses_bad_arguments(tmp_path):
    r = cli(
        "grid",
        "--handler",
        HANDLER,
        "--name",
        "x",
        "--batches",
        "1,0",
        "--sm",
        "20",
        "--out",
        str(tmp_path / "g.yaml"),
    )
    assert r.returncode == 2 and "expected integers >= 1" in r.stderr


def test_quota_accuracy_tool_on_the_emulated_gpu(tmp_path):
    out = tmp_path / "accuracy.json"
    r = cli(
        "quota-accuracy",
        "--handler",
        HANDLER,
        "--backend",
        "emulated",
        "--profile",
        RESNET152_CSV,
        "--sm-limit",
        "50",
        "--quotas",
        "20,50",
        "--seconds",
        "2",
        "--out",
        str(out),
    )
    assert r.returncode == 0, r.stderr
    rows = json.loads(out.read_text())
    assert [row["quota"] for row in rows] == [20, 50]
    for row in rows:
        assert row["smLimit"] == 50
        assert abs(row["hostErrorPercent"]) < 5, row
