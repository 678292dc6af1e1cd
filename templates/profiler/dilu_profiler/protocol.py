"""The JSON-lines protocol between `dilu profile search` and the harness.

dilu -> harness: {"type":"measure","batch":B,"smPercent":S}, then one
{"type":"done","choice":{...},"probes":N,"reason":"...","profile":{FunctionProfile}}, or
{"type":"error","message":"..."} before exiting 2. harness -> dilu: one
{"type":"result","latencyMs":...,"throughputRps":...,"memoryMiB":...} or
{"type":"result","error":"..."} per measure.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any


class ProtocolError(RuntimeError):
    pass


@dataclass(frozen=True)
class Measure:
    batch: int
    sm_percent: float


@dataclass(frozen=True)
class Done:
    choice: dict[str, Any] | None
    probes: int | None
    reason: str | None
    #: None when nothing could be measured.
    profile: dict[str, Any] | None


@dataclass(frozen=True)
class PeerError:
    message: str


def parse_peer_line(line: str) -> Measure | Done | PeerError:
    """Parses one line from the search; errors name the field and what is allowed."""
    try:
        msg = json.loads(line)
    except json.JSONDecodeError as err:
        raise ProtocolError(f"the search sent a line that is not JSON ({err.msg}): {line[:200]!r}") from None
    if not isinstance(msg, dict):
        raise ProtocolError(f"the search sent {type(msg).__name__}, expected an object: {line[:200]!r}")
    kind = msg.get("type")
    if kind == "measure":
        batch, sm = msg.get("batch"), msg.get("smPercent")
        if isinstance(batch, bool) or not isinstance(batch, int) or batch < 1:
            raise ProtocolError(f"measure.batch: must be an integer >= 1, got {batch!r}")
        if isinstance(sm, bool) or not isinstance(sm, (int, float)) or not (1 <= sm <= 100):
            raise ProtocolError(f"measure.smPercent: must be a number in 1..100, got {sm!r}")
        return Measure(batch, float(sm))
    if kind == "done":
        profile = msg.get("profile")
        if profile is not None and not isinstance(profile, dict):
            raise ProtocolError("done.profile: must be a FunctionProfile object or null")
        choice = msg.get("choice")
        probes = msg.get("probes")
        return Done(
            choice=choice if isinstance(choice, dict) else None,
            probes=probes if isinstance(probes, int) and not isinstance(probes, bool) else None,
            reason=msg.get("reason") if isinstance(msg.get("reason"), str) else None,
            profile=profile,
        )
    if kind == "error":
        return PeerError(str(msg.get("message", "(no message)")))
    raise ProtocolError(f"type: expected measure, done or error, got {kind!r}")


def result_line(result: dict[str, Any]) -> str:
    """One result line; `result` holds latencyMs/throughputRps/memoryMiB, or error."""
    if "error" in result:
        doc: dict[str, Any] = {"type": "result", "error": str(result["error"])}
    else:
        doc = {"type": "result", "latencyMs": result["latencyMs"], "throughputRps": result["throughputRps"]}
        if result.get("memoryMiB") is not None:
            doc["memoryMiB"] = result["memoryMiB"]
    return json.dumps(doc) + "\n"
