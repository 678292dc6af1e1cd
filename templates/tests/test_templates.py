"""The OpenFaaS and Knative templates: the files their tools require, and a local run of each.

Each template is exported (templates/export.py), instantiated into a temporary folder as
faas-cli or func would, and its handler served on 127.0.0.1 as the container would serve it:
the OpenFaaS one by `python index.py` (what of-watchdog starts), the Knative one by the func
Python middleware (func_python.http.serve). The emulated GPU stands in for the device.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import tomllib

import pytest
import yaml
from template_helpers import (
    RESNET152_CSV,
    TEMPLATES,
    Process,
    child_env,
    export,
    faas_cli_new_and_build,
    free_port,
    func_create,
    http,
    wait_http,
)

sys.path.insert(0, os.path.join(TEMPLATES, "runtime", "tests"))
from runtime_helpers import write_quota  # noqa: E402

BODY = json.dumps({"input": [1, 2, 3, 4, 5, 6, 7, 8]}).encode()


def pins(lines: list[str]) -> dict[str, str]:
    out = {}
    for line in lines:
        line = line.split("#", 1)[0].strip()
        if line:
            name, _, version = line.partition("==")
            assert version, f"not pinned: {line}"
            out[name.strip().lower().replace("_", "-")] = version.strip()
    return out


RUNTIME_PINS = pins(open(os.path.join(TEMPLATES, "runtime", "requirements.txt")).read().splitlines())


@pytest.fixture(scope="module")
def openfaas_repo(tmp_path_factory):
    out = tmp_path_factory.mktemp("openfaas-templates")
    export.export_openfaas(str(out))
    return str(out)


@pytest.fixture(scope="module")
def knative_repo(tmp_path_factory):
    out = tmp_path_factory.mktemp("func-templates")
    export.export_knative(str(out))
    return str(out)


def test_export_cli_writes_both_repositories_and_refuses_no_target(tmp_path):
    script = os.path.join(TEMPLATES, "export.py")
    r = subprocess.run(
        [sys.executable, script, "--openfaas", str(tmp_path / "of"), "--knative", str(tmp_path / "kn")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == [
        str(tmp_path / "of" / "template" / "python3-http-gpu"),
        str(tmp_path / "kn" / "python" / "gpu"),
    ]
    copied = tmp_path / "kn" / "python" / "gpu" / "dilu_runtime" / "duty_cycle.py"
    original = os.path.join(TEMPLATES, "runtime", "dilu_runtime", "duty_cycle.py")
    assert copied.read_text() == open(original).read()
    assert not list((tmp_path / "of").rglob("__pycache__"))
    r = subprocess.run([sys.executable, script], capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and "give --openfaas OUT and/or --knative OUT" in r.stderr


# -- OpenFaaS --------------------------------------------------------------------------------


def test_openfaas_template_has_what_faas_cli_reads(openfaas_repo):
    t = os.path.join(openfaas_repo, "template", "python3-http-gpu")
    meta = yaml.safe_load(open(os.path.join(t, "template.yml")))
    # faas-cli: the language is the folder name; fprocess runs in the image; the handler folder
    # is what `faas-cli new` copies.
    assert meta["language"] == "python3-http-gpu"
    assert meta["fprocess"] == "python index.py"
    handler_folder = meta.get("handler_folder", "function")
    for f in (
        "Dockerfile",
        "index.py",
        "requirements.txt",
        f"{handler_folder}/handler.py",
        f"{handler_folder}/requirements.txt",
        "dilu_runtime/__init__.py",
    ):
        assert os.path.isfile(os.path.join(t, f)), f
    docker = open(os.path.join(t, "Dockerfile")).read()
    assert re.search(r"of-watchdog:\d+\.\d+\.\d+", docker)
    assert 'mode="http"' in docker
    upstream = re.search(r'upstream_url="http://127\.0\.0\.1:(\d+)"', docker)
    listen = re.search(r'DILU_LISTEN="127\.0\.0\.1:(\d+)"', docker)
    assert upstream and listen and upstream.group(1) == listen.group(1)
    assert 'fprocess="python index.py"' in docker and 'CMD ["fwatchdog"]' in docker
    assert 'ready_path="/healthz"' in docker  # the watchdog's /_/ready reflects the model's state
    for copied in (
        "COPY --chown=app:app dilu_runtime/",
        "COPY --chown=app:app function/",
        "ARG ADDITIONAL_PACKAGE",
    ):
        assert copied in docker
    assert pins(open(os.path.join(t, "requirements.txt")).read().splitlines()) == RUNTIME_PINS


def accepted(metrics: bytes, answered_before: int) -> int:
    """Requests the runtime holds or has answered with 200, less those answered before."""
    inflight = re.search(rb"^dilu_inflight_requests (\d+)\.0$", metrics, re.M)
    ok = re.search(rb'^dilu_requests_total\{code="200"\} (\d+)\.0$', metrics, re.M)
    assert inflight and ok, "runtime metrics lack dilu_inflight_requests or dilu_requests_total"
    return int(inflight.group(1)) + int(ok.group(1)) - answered_before


def test_openfaas_handler_served_over_http_answers_and_drains(openfaas_repo, tmp_path):
    context = faas_cli_new_and_build(openfaas_repo, "python3-http-gpu", "classify", str(tmp_path))
    quota = str(tmp_path / "quota.json")
    write_quota(quota, 100, generation=1, sm_limit=100)
    env = child_env(
        DILU_LISTEN="127.0.0.1:0",
        DILU_GPU_BACKEND="emulated",
        DILU_PROFILE_FILE=RESNET152_CSV,
        DILU_BATCH="4",
        DILU_SLO_MS="40",
        DILU_QUOTA_FILE=quota,
        DILU_QUOTA_POLL_MS="10",
        CUDA_MPS_ACTIVE_THREAD_PERCENTAGE="100",
    )
    proc = Process([sys.executable, "index.py"], cwd=context, env=env)
    try:
        address = proc.json_log("listening")["address"]
        base = f"http://{address}"
        health = json.loads(wait_http(f"{base}/healthz"))
        assert health["modelLoaded"] is True and health["backend"] == "emulated" and health["batch"] == 4

        status, body = http("POST", f"{base}/", BODY)
        assert (status, json.loads(body)) == (200, {"output": [4.5, 8.0]})
        status, body = http("POST", f"{base}/", b'{"input": []}')
        assert status == 400 and b"8 numbers" in body

        # Lower the quota as the node agent would: batches of ~20 ms now take ~200 ms each.
        write_quota(quota, 10, generation=2, sm_limit=100)
        deadline = time.monotonic() + 5
        while b"dilu_quota_percent 10.0" not in http("GET", f"{base}/metrics")[1]:
            assert time.monotonic() < deadline, "quota change not picked up"
            time.sleep(0.02)

        # Queue more work than one batch, then SIGTERM: every queued request is still answered.
        results: list[int] = []
        clients = [
            threading.Thread(target=lambda: results.append(http("POST", f"{base}/", BODY, 30)[0]))
            for _ in range(12)
        ]
        for c in clients:
            c.start()
        # SIGTERM once the runtime holds all twelve (queued, running or answered) and some
        # still wait for a batch: a client still connecting when draining starts is rightly
        # refused with 503.
        deadline = time.monotonic() + 5
        while True:
            metrics = http("GET", f"{base}/metrics")[1]
            queued = re.search(rb"^dilu_queue_depth ([1-9]\d*)\.0$", metrics, re.M)
            if queued and accepted(metrics, answered_before=1) >= len(clients):
                break
            assert time.monotonic() < deadline, "requests did not queue"
            time.sleep(0.01)
        proc.proc.send_signal(signal.SIGTERM)
        time.sleep(0.05)
        late, _ = http("POST", f"{base}/", BODY)
        for c in clients:
            c.join(30)
        assert results == [200] * 12
        assert late == 503  # refused while draining, so the gateway retries elsewhere
        assert proc.proc.wait(20) == 0
        assert proc.json_log("drained")["clean"] is True
    finally:
        proc.stop()


def test_openfaas_function_tests_pass_in_the_built_context(openfaas_repo, tmp_path):
    context = faas_cli_new_and_build(openfaas_repo, "python3-http-gpu", "classify", str(tmp_path))
    r = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "function/handler_test.py"],
        cwd=context,
        env=child_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 0, r.stdout + r.stderr
    assert "2 passed" in r.stdout


# -- Knative func ------------------------------------------------------------------------------


def test_func_template_has_what_func_reads(knative_repo):
    t = os.path.join(knative_repo, "python", "gpu")
    for f in (
        "function/__init__.py",
        "function/func.py",
        "pyproject.toml",
        "manifest.yaml",
        "tests/test_func.py",
        "README.md",
        "dilu_runtime/__init__.py",
    ):
        assert os.path.isfile(os.path.join(t, f)), f
    manifest = yaml.safe_load(open(os.path.join(t, "manifest.yaml")))
    assert manifest["healthEndpoints"] == {"liveness": "/health/liveness", "readiness": "/health/readiness"}
    assert manifest["invoke"] == "http"
    project = tomllib.load(open(os.path.join(t, "pyproject.toml"), "rb"))
    # func's Python scaffolding installs this project as the package `function`.
    assert project["project"]["name"] == "function"
    assert set(project["tool"]["hatch"]["build"]["targets"]["wheel"]["packages"]) == {
        "function",
        "dilu_runtime",
    }
    assert pins(project["project"]["dependencies"]) == RUNTIME_PINS
    assert "def new()" in open(os.path.join(t, "function", "func.py")).read()


SCAFFOLD = """
import logging
from func_python.http import serve
from function import new
serve(new)
"""


def test_func_handler_served_by_the_func_middleware_answers(knative_repo, tmp_path):
    fn = func_create(knative_repo, "python", "gpu", str(tmp_path / "classify"))
    port = free_port()
    env = child_env(
        LISTEN_ADDRESS=f"127.0.0.1:{port}",
        DILU_GPU_BACKEND="emulated",
        DILU_PROFILE_FILE=RESNET152_CSV,
        DILU_BATCH="8",
        PYTHONPATH=fn,
    )
    proc = Process([sys.executable, "-c", SCAFFOLD], cwd=fn, env=env)
    try:
        base = f"http://127.0.0.1:{port}"
        ready = json.loads(wait_http(f"{base}/health/readiness"))
        assert ready["status"] == "ready" and ready["batch"] == 8
        assert wait_http(f"{base}/health/liveness") == b"ready"
        status, body = http("POST", f"{base}/", BODY)
        assert (status, json.loads(body)) == (200, {"output": [4.5, 8.0]})
        status, metrics = http("GET", f"{base}/metrics")
        assert status == 200 and b'dilu_requests_total{code="200"} 1.0' in metrics
        proc.proc.send_signal(signal.SIGTERM)
        assert proc.proc.wait(20) == 0
    finally:
        proc.stop()
    assert "model loaded" in proc.output()


def test_func_template_tests_pass_in_a_created_function(knative_repo, tmp_path):
    fn = func_create(knative_repo, "python", "gpu", str(tmp_path / "classify"))
    r = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"],
        cwd=fn,
        env=child_env(DILU_PROFILE_FILE=RESNET152_CSV),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 0, r.stdout + r.stderr
    assert "3 passed" in r.stdout
