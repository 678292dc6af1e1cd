#!/usr/bin/env python3
"""A stand-in for `dilu profile search --protocol jsonl`, for testing the harness.

It speaks docs/contracts/profile-search-protocol.md and runs the Hybrid Growth Search Strategy
as described in shared notes (SM from 10 % in steps of 10 until batch 1 meets the SLO, then
double the batch, adding one SM step when needed, stopping when a step still misses the SLO or
throughput per SM % drops). PEER_MODE makes it misbehave: garbage, die, error. PEER_LOG names a
file that receives every line the harness sent.
"""

import json
import os
import sys


def arg(name, default=None):
    argv = sys.argv
    return argv[argv.index(name) + 1] if name in argv else default


def main():
    assert sys.argv[1:4] == ["profile", "search", "--protocol"] and arg("--protocol") == "jsonl", sys.argv
    slo = float(arg("--slo-ms"))
    name = arg("--name", "fn")
    gpu = arg("--gpu-model", "unknown")
    mode = os.environ.get("PEER_MODE", "normal")
    log = open(os.environ["PEER_LOG"], "a") if os.environ.get("PEER_LOG") else None
    points = {}
    probes = 0

    if mode == "garbage":
        print("this is not json", flush=True)
        sys.stdin.readline()
        return 0
    if mode == "error":
        print(json.dumps({"type": "error", "message": "--slo-ms must be > 0"}), flush=True)
        return 2

    def measure(batch, sm):
        nonlocal probes
        probes += 1
        print(json.dumps({"type": "measure", "batch": batch, "smPercent": sm}), flush=True)
        line = sys.stdin.readline()
        if log:
            log.write(line)
            log.flush()
        if mode == "die":
            sys.exit(3)
        r = json.loads(line)
        assert r["type"] == "result", r
        if "error" in r:
            return None
        points[(batch, sm)] = r
        return r

    def meets(r):
        return r is not None and r["latencyMs"] <= slo

    def te(r, sm):
        return r["throughputRps"] / sm

    sm, bs = 10, 1
    r = measure(bs, sm)
    while not meets(r):
        sm += 10
        if sm > 100:
            return done(name, gpu, points, None, probes, slo, "batch 1 misses the SLO at 100 % SM")
        r = measure(bs, sm)
    best, last_te = (bs, sm, r), te(r, sm)
    reason = "largest batch reached"
    bs *= 2
    while bs <= 64:
        r = measure(bs, sm)
        if meets(r):
            best, last_te, bs = (bs, sm, r), te(r, sm), bs * 2
            continue
        if sm + 10 > 100:
            reason = "no SM left"
            break
        sm += 10
        r = measure(bs, sm)
        if not meets(r):
            reason = "one more SM step still misses the SLO"
            break
        if te(r, sm) < last_te - 0.2:
            reason = "throughput per SM dropped"
            break
        best, last_te, bs = (bs, sm, r), te(r, sm), bs * 2
    return done(name, gpu, points, best, probes, slo, reason)


def done(name, gpu, points, best, probes, slo, reason):
    profile = {
        "apiVersion": "dilu.dev/v1alpha1",
        "kind": "FunctionProfile",
        "metadata": {"name": name},
        "spec": {
            "gpuModel": gpu,
            "points": [
                {
                    "batch": b,
                    "smPercent": s,
                    "latencyMs": r["latencyMs"],
                    "throughputRps": r["throughputRps"],
                    **({"memoryMiB": r["memoryMiB"]} if "memoryMiB" in r else {}),
                }
                for (b, s), r in sorted(points.items())
            ],
        },
    }
    choice = None
    if best is not None:
        b, s, r = best
        choice = {
            "batch": b,
            "smPercent": s,
            "latencyMs": r["latencyMs"],
            "throughputRps": r["throughputRps"],
        }
        profile["status"] = {
            "recommendations": [
                {
                    "sloMs": slo,
                    "batch": b,
                    "smRequest": s,
                    "smLimit": s,
                    "throughputRps": r["throughputRps"],
                    "probes": probes,
                }
            ]
        }
    print(
        json.dumps(
            {"type": "done", "choice": choice, "probes": probes, "reason": reason, "profile": profile}
        ),
        flush=True,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
