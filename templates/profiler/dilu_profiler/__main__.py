"""dilu-profiler: measure a function's model under MPS and write its FunctionProfile.

  search          let `dilu profile search` choose the points (pruning search), measure each
  grid            measure a fixed grid of (batch, SM %) points
  quota-accuracy  measure how closely the runtime holds each quota at one MPS limit

Run from the function's folder (so `--handler function.handler` imports), on the GPU machine,
with the MPS control daemon running. See templates/profiler/README.md.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shlex
import shutil
import sys
from typing import Any

from .harness import (
    finish_profile,
    header_lines,
    profile_from_probes,
    run_grid,
    run_search,
    search_command,
    write_profile,
)
from .measure import PROFILER_DIR, WorkerOptions, measure_point, run_worker
from .mps import mps_problem
from .protocol import ProtocolError

REPO = os.path.dirname(os.path.dirname(PROFILER_DIR))
log = logging.getLogger("dilu_profiler")


def default_dilu() -> list[str]:
    """The repository's CLI when run from a checkout, else `dilu` on PATH."""
    local = os.path.join(REPO, "autoscaler", "bin", "dilu.js")
    if os.path.isfile(local):
        return ["node", local]
    found = shutil.which("dilu")
    return [found] if found else ["npx", "dilu"]


def int_list(text: str) -> list[int]:
    try:
        values = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}") from None
    if not values or any(v < 1 for v in values):
        raise argparse.ArgumentTypeError(f"expected integers >= 1, got {text!r}")
    return values


def sm_list(text: str) -> list[float]:
    try:
        values = [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated percentages, got {text!r}") from None
    if not values or any(not (1 <= v <= 100) for v in values):
        raise argparse.ArgumentTypeError(f"expected percentages in 1..100, got {text!r}")
    return values


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--handler", required=True, help="module (function.handler) or file (path/handler.py)")
    p.add_argument(
        "--backend",
        choices=("auto", "torch", "emulated"),
        help="GPU step (default: DILU_GPU_BACKEND or auto)",
    )
    p.add_argument("--profile", help="profile the emulated GPU takes its timing from")
    p.add_argument("--warmup", type=int, default=3, help="batches run before timing (default 3)")
    p.add_argument("--iterations", type=int, default=20, help="timed batches per point (default 20)")
    p.add_argument("--timeout", type=float, default=600.0, help="seconds one point may take")
    p.add_argument("--no-mps-check", action="store_true", help="measure on a real GPU even without MPS")


def _profile_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--name", required=True, help="FunctionProfile name (the function's name)")
    p.add_argument("--namespace", help="FunctionProfile namespace")
    p.add_argument("--model", help="free-text model description for spec.model")
    p.add_argument("--out", required=True, help="FunctionProfile YAML to write")


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m dilu_profiler",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = p.add_subparsers(dest="command", required=True)
    s = sub.add_parser("search", help="pruning search driven by `dilu profile search`")
    _common(s)
    _profile_args(s)
    s.add_argument("--slo-ms", type=float, required=True, help="latency SLO of one batch, ms")
    s.add_argument(
        "--dilu", help="command that runs the dilu CLI (default: this checkout's, else dilu on PATH)"
    )
    s.add_argument("--max-batch", type=int, help="largest batch the search may try (dilu's default: 1024)")
    s.add_argument("--budget", type=int, help="most points the search may measure (dilu's default: 12)")
    s.add_argument("--sm-step", type=int, help="SM granularity of the search (dilu's default: 10)")
    g = sub.add_parser("grid", help="measure every (batch, SM %%) of a grid")
    _common(g)
    _profile_args(g)
    g.add_argument("--batches", type=int_list, required=True, help="e.g. 1,2,4,8,16")
    g.add_argument("--sm", type=sm_list, required=True, help="e.g. 10,20,30,50,100")
    q = sub.add_parser("quota-accuracy", help="GPU share used vs quota at one MPS limit")
    _common(q)
    q.add_argument("--sm-limit", type=float, default=100.0, help="MPS limit l of the process (default 100)")
    q.add_argument("--quotas", type=sm_list, required=True, help="e.g. 10,20,30,40,50,60,70,80,90,100")
    q.add_argument("--batch", type=int, default=4)
    q.add_argument("--seconds", type=float, default=10.0, help="measuring window per quota")
    q.add_argument("--out", help="write the rows as JSON here")
    return p


def _options(a: argparse.Namespace) -> WorkerOptions:
    return WorkerOptions(
        handler=a.handler,
        warmup=a.warmup,
        iterations=a.iterations,
        backend=a.backend,
        profile=a.profile,
        timeout_s=a.timeout,
        cwd=os.getcwd(),
    )


def _gpu_model_checked(opts: WorkerOptions, skip_mps: bool) -> tuple[str, str]:
    probe = run_worker(opts, None, ["--batch", "1", "--probe"])
    if "error" in probe:
        raise RuntimeError(f"cannot start the GPU step: {probe['error']}")
    backend = str(probe.get("backend"))
    if backend == "torch" and not skip_mps:
        problem = mps_problem()
        if problem:
            raise RuntimeError(f"{problem}; or pass --no-mps-check to measure without SM limits")
    return str(probe["gpuModel"]), backend


def _report(probes: list[Any]) -> None:
    for p in probes:
        r = p.result
        if "error" in r:
            log.warning("batch %d, SM %g%%: %s", p.batch, p.sm_percent, r["error"])
        else:
            log.info(
                "batch %d, SM %g%%: %.2f ms, %.1f rps",
                p.batch,
                p.sm_percent,
                r["latencyMs"],
                r["throughputRps"],
            )


def cmd_search(a: argparse.Namespace, argv: list[str]) -> int:
    opts = _options(a)
    gpu_model, backend = _gpu_model_checked(opts, a.no_mps_check)
    dilu = shlex.split(a.dilu) if a.dilu else default_dilu()
    extra: list[str] = []
    for flag, value in (("--max-batch", a.max_batch), ("--budget", a.budget), ("--sm-step", a.sm_step)):
        if value is not None:
            extra += [flag, str(value)]
    command = search_command(dilu, a.slo_ms, a.name, gpu_model, extra)
    log.info("search: %s", shlex.join(command))
    outcome = run_search(command, lambda b, s: measure_point(opts, b, s))
    _report(outcome.probes)
    done = outcome.done
    if done.profile is None:
        raise RuntimeError(f"no point could be measured ({done.reason}); nothing written")
    resource = finish_profile(done.profile, outcome.probes, model=a.model, namespace=a.namespace)
    write_profile(
        a.out,
        resource,
        header_lines(["python", "-m", "dilu_profiler", *argv], gpu_model, backend, outcome.probes),
    )
    print(json.dumps({"choice": done.choice, "probes": done.probes, "reason": done.reason, "out": a.out}))
    if done.choice is None:
        print(
            f"no configuration meets the {a.slo_ms:g} ms SLO ({done.reason}); "
            f"the measured points are in {a.out}",
            file=sys.stderr,
        )
        return 1
    return 0


def cmd_grid(a: argparse.Namespace, argv: list[str]) -> int:
    opts = _options(a)
    gpu_model, backend = _gpu_model_checked(opts, a.no_mps_check)
    points = [(b, s) for b in a.batches for s in a.sm]
    probes = run_grid(points, lambda b, s: measure_point(opts, b, s))
    _report(probes)
    resource = finish_profile(
        profile_from_probes(a.name, gpu_model, probes), probes, model=a.model, namespace=a.namespace
    )
    write_profile(
        a.out, resource, header_lines(["python", "-m", "dilu_profiler", *argv], gpu_model, backend, probes)
    )
    print(
        json.dumps(
            {
                "points": len(resource["spec"]["points"]),
                "failed": len(points) - len(resource["spec"]["points"]),
                "out": a.out,
            }
        )
    )
    return 0


def cmd_quota_accuracy(a: argparse.Namespace) -> int:
    import subprocess

    from .measure import worker_env

    opts = _options(a)
    _gpu_model_checked(opts, a.no_mps_check)
    args = [
        sys.executable,
        "-m",
        "dilu_profiler.quota_accuracy",
        "--handler",
        a.handler,
        "--batch",
        str(a.batch),
        "--quotas",
        ",".join(f"{q:g}" for q in a.quotas),
        "--seconds",
        f"{a.seconds:g}",
    ]
    if a.backend:
        args += ["--backend", a.backend]
    if a.profile:
        args += ["--profile", a.profile]
    r = subprocess.run(args, env=worker_env(opts, a.sm_limit), capture_output=True, text=True)
    rows = [json.loads(line) for line in r.stdout.splitlines() if line.startswith("{")]
    if r.returncode != 0:
        sys.stderr.write(r.stderr)
        return r.returncode or 1
    print("   l      q   share  error %  (host; device where measured)")
    for row in rows:
        dev = (
            f"  device {row['deviceShare']:.2f} ({row['deviceErrorPercent']:+.2f} %)"
            if "deviceShare" in row
            else ""
        )
        print(
            f"{row['smLimit']:4g} {row['quota']:6g} {row['hostShare']:7.2f} "
            f"{row['hostErrorPercent']:+7.2f}{dev}"
        )
    if a.out:
        with open(a.out, "w", encoding="utf-8") as f:
            json.dump(rows, f, indent=2)
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    a = parser().parse_args(argv)
    try:
        if a.command == "search":
            return cmd_search(a, argv)
        if a.command == "grid":
            return cmd_grid(a, argv)
        return cmd_quota_accuracy(a)
    except (RuntimeError, ProtocolError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
