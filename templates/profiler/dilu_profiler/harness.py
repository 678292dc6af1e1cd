"""Driving the search and writing the FunctionProfile.

`run_search` spawns `dilu profile search --protocol jsonl`, answers each measure request with a
fresh worker process at that SM percentage, and returns the search's final message. `run_grid`
measures a fixed list of points without a search (a full grid, or a check of chosen points).
"""

from __future__ import annotations

import datetime
import logging
import os
import shlex
import statistics
import subprocess
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import yaml

from dilu_runtime.profile import parse_function_profile

from .protocol import Done, Measure, PeerError, ProtocolError, parse_peer_line, result_line

log = logging.getLogger("dilu_profiler")

Measurer = Callable[[int, float], dict[str, Any]]


@dataclass
class Probe:
    batch: int
    sm_percent: float
    result: dict[str, Any]


@dataclass
class SearchOutcome:
    done: Done
    probes: list[Probe] = field(default_factory=list)
    exit_code: int = 0


def search_command(
    dilu: list[str], slo_ms: float, name: str, gpu_model: str, extra: list[str] | None = None
) -> list[str]:
    return [
        *dilu,
        "profile",
        "search",
        "--protocol",
        "jsonl",
        "--slo-ms",
        f"{slo_ms:g}",
        "--name",
        name,
        "--gpu-model",
        gpu_model,
        *(extra or []),
    ]


def run_search(
    command: list[str], measure: Measurer, *, cwd: str | None = None, timeout_s: float = 3600.0
) -> SearchOutcome:
    """Runs the search process to completion; raises ProtocolError on a broken exchange."""
    proc = subprocess.Popen(
        command,
        cwd=cwd,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        bufsize=1,
    )
    stderr: list[str] = []
    reader = threading.Thread(target=lambda: stderr.extend(proc.stderr or []), daemon=True)
    reader.start()
    probes: list[Probe] = []
    assert proc.stdin is not None and proc.stdout is not None
    try:
        for line in proc.stdout:
            if not line.strip():
                continue
            msg = parse_peer_line(line)
            if isinstance(msg, Measure):
                log.info("measuring batch %d at %g%% SM", msg.batch, msg.sm_percent)
                result = measure(msg.batch, msg.sm_percent)
                probes.append(Probe(msg.batch, msg.sm_percent, result))
                proc.stdin.write(result_line(result))
                proc.stdin.flush()
            elif isinstance(msg, Done):
                proc.stdin.close()
                code = proc.wait(timeout_s)
                # 1 is the search's answer "no configuration meets the SLO", not a failure.
                if code not in (0, 1):
                    raise ProtocolError(f"the search sent done but exited {code}: {''.join(stderr).strip()}")
                return SearchOutcome(msg, probes, code)
            else:
                assert isinstance(msg, PeerError)
                raise ProtocolError(f"the search failed: {msg.message}")
        code = proc.wait(timeout_s)
        reader.join(5)
        raise ProtocolError(
            f"the search exited {code} before it was done: {''.join(stderr).strip() or '(no output)'}"
        )
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def run_grid(points: list[tuple[int, float]], measure: Measurer) -> list[Probe]:
    return [Probe(b, s, measure(b, s)) for b, s in points]


def profile_from_probes(name: str, gpu_model: str, probes: list[Probe]) -> dict[str, Any]:
    """A FunctionProfile of the measured points (failed points are left out)."""
    points = []
    for p in probes:
        if "error" in p.result:
            continue
        point: dict[str, Any] = {
            "batch": p.batch,
            "smPercent": p.sm_percent if not float(p.sm_percent).is_integer() else int(p.sm_percent),
            "latencyMs": p.result["latencyMs"],
            "throughputRps": p.result["throughputRps"],
        }
        if p.result.get("memoryMiB") is not None:
            point["memoryMiB"] = p.result["memoryMiB"]
        points.append(point)
    if not points:
        raise RuntimeError("no point could be measured; see the errors above")
    return {
        "apiVersion": "dilu.dev/v1alpha1",
        "kind": "FunctionProfile",
        "metadata": {"name": name},
        "spec": {"gpuModel": gpu_model, "points": points},
    }


def finish_profile(
    resource: dict[str, Any], probes: list[Probe], *, model: str | None, namespace: str | None
) -> dict[str, Any]:
    """Adds what only the harness knows: the model description and its load time."""
    spec = resource.setdefault("spec", {})
    if model:
        spec["model"] = model
    loads = [p.result["loadSeconds"] for p in probes if isinstance(p.result.get("loadSeconds"), (int, float))]
    if loads:
        spec["modelLoadSeconds"] = round(statistics.median(loads), 2)
    if namespace:
        resource.setdefault("metadata", {})["namespace"] = namespace
    return resource


def write_profile(path: str, resource: dict[str, Any], header: list[str]) -> None:
    """Writes the profile after checking it reads back as a valid FunctionProfile."""
    text = yaml.safe_dump(resource, sort_keys=False, width=100)
    parse_function_profile(text, path)
    lines = [f"# {h}" for h in header]
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n" + text)


def header_lines(command: list[str], gpu_model: str, backend: str, probes: list[Probe]) -> list[str]:
    failed = sum(1 for p in probes if "error" in p.result)
    now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return [
        f"Measured {now} on {gpu_model} ({backend} GPU step), {len(probes)} points, {failed} failed.",
        f"Command: {shlex.join(command)}",
    ]
