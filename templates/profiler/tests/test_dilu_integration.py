"""The harness against the real `dilu profile search` (@dilu/autoscaler), on the emulated GPU.

Needs the TypeScript build (`npx tsc -b`, which `npm test` runs first) and Node on PATH. The
emulated GPU replays the ResNet152 A100 profile, so the search over the harness must choose what
the same search chooses reading that profile directly (`dilu profile search --profile`).
"""

import json
import math
import os
import shutil
import subprocess
import sys

import pytest
import yaml
from test_harness import HANDLER, PROFILER_DIR, REL, REPO, RESNET152_CSV, TEMPLATES

from dilu_runtime.profile import LatencyTable, load_profile

DILU_JS = os.path.join(REPO, "autoscaler", "bin", "dilu.js")
DILU_BUILD = os.path.join(REPO, "autoscaler", "dist", "cli", "main.js")
TRUTH = LatencyTable(load_profile(RESNET152_CSV))


@pytest.fixture(scope="module")
def dilu():
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is not on PATH; the dilu CLI runs on Node >= 20.19")
    if not os.path.isfile(DILU_BUILD):
        pytest.fail(f"{DILU_BUILD} is missing: build the TypeScript packages first (npx tsc -b)")
    return [node, DILU_JS]


def harness(*args):
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([PROFILER_DIR, os.path.join(TEMPLATES, "runtime")])
    return subprocess.run(
        [sys.executable, "-m", "dilu_profiler", *args], env=env, capture_output=True, text=True, timeout=300
    )


def test_search_through_the_harness_matches_the_search_on_the_profile(dilu, tmp_path):
    direct = subprocess.run(
        [*dilu, "profile", "search", "--profile", RESNET152_CSV, "--slo-ms", "42", "--json"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert direct.returncode == 0, direct.stderr
    expected = json.loads(direct.stdout)["choice"]

    out = tmp_path / "resnet152.yaml"
    r = harness(
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
        "--out",
        str(out),
        "--warmup",
        "1",
        "--iterations",
        "5",
        "--dilu",
        " ".join(dilu),
    )
    assert r.returncode == 0, r.stderr
    summary = json.loads(r.stdout.strip().splitlines()[-1])
    doc = yaml.safe_load(out.read_text())
    points = doc["spec"]["points"]
    assert len(points) == summary["probes"] >= 5
    deviation = max(abs(p["latencyMs"] / TRUTH.latency_ms(p["batch"], p["smPercent"]) - 1) for p in points)
    assert deviation < REL
    rec = doc["status"]["recommendations"][0]
    assert (rec["batch"], rec["smRequest"]) == (summary["choice"]["batch"], summary["choice"]["smPercent"])
    assert rec["smLimit"] == min(100, math.ceil(rec["smRequest"] * 1.5))
    assert doc["spec"]["gpuModel"].startswith("emulated")
    if deviation < 0.04:
        assert (summary["choice"]["batch"], summary["choice"]["smPercent"]) == (
            expected["batch"],
            expected["smPercent"],
        )


def test_no_configuration_meeting_the_slo_still_keeps_the_measurements(dilu, tmp_path):
    out = tmp_path / "tight.yaml"
    r = harness(
        "search",
        "--handler",
        HANDLER,
        "--backend",
        "emulated",
        "--profile",
        RESNET152_CSV,
        "--slo-ms",
        "5",
        "--name",
        "resnet152",
        "--out",
        str(out),
        "--warmup",
        "0",
        "--iterations",
        "2",
        "--budget",
        "3",
        "--dilu",
        " ".join(dilu),
    )
    assert r.returncode == 1, r.stderr
    assert "no configuration meets the 5 ms SLO" in r.stderr
    doc = yaml.safe_load(out.read_text())
    assert 1 <= len(doc["spec"]["points"]) <= 3
    assert "recommendations" not in (doc.get("status") or {})
