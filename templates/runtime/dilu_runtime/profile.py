"""Reading a function's measured profile, for the emulated GPU and the profiler.

Two formats, as everywhere in the project: a FunctionProfile resource (dilu.dev/v1alpha1, YAML;
docs/function-profile.md) or the headerless CSV published with Dilu (batch, SM %, latency in
seconds, throughput in requests per second).

`LatencyTable.latency_ms(batch, sm)` interpolates between measured points: linearly in 1 / SM
within a batch row (exact when latency = a + w / SM, the usual shape), and linearly in log batch
between rows on log latency. It is deliberately simpler than the autoscaler's predictor: the
emulated GPU only needs plausible latencies near the measured grid, not the predictor's accuracy
or uncertainty band.
"""

from __future__ import annotations

import bisect
import math
import os
from dataclasses import dataclass
from typing import Any

import yaml

API_VERSION = "dilu.dev/v1alpha1"
KIND = "FunctionProfile"
POINT_FIELDS = {"batch", "smPercent", "latencyMs", "throughputRps", "memoryMiB"}
CSV_HEADER = ["batch_size", "sm_percent", "latency_s", "throughput_rps"]


class ProfileError(ValueError):
    def __init__(self, file: str, message: str, line: int | None = None) -> None:
        where = f"{file}:{line}" if line is not None else file
        super().__init__(f"{where}: {message}")


@dataclass(frozen=True)
class ProfilePoint:
    batch: int
    sm_percent: float
    latency_ms: float
    throughput_rps: float
    memory_mib: float | None = None


@dataclass(frozen=True)
class Profile:
    name: str
    gpu_model: str | None
    memory_mib: float | None
    points: tuple[ProfilePoint, ...]


def _positive(file: str, where: str, field: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise ProfileError(file, f"{where}.{field}: must be a number > 0, got {value!r}")
    return float(value)


def _point_from_mapping(file: str, i: int, raw: Any) -> ProfilePoint:
    where = f"spec.points.{i}"
    if not isinstance(raw, dict):
        raise ProfileError(file, f"{where}: must be a mapping")
    unknown = sorted(set(raw) - POINT_FIELDS)
    if unknown:
        raise ProfileError(
            file, f"{where}: unknown field {unknown[0]!r} (allowed: {', '.join(sorted(POINT_FIELDS))})"
        )
    for field in ("batch", "smPercent", "latencyMs", "throughputRps"):
        if field not in raw:
            raise ProfileError(file, f"{where}.{field}: required")
    batch = raw["batch"]
    if isinstance(batch, bool) or not isinstance(batch, int) or batch < 1:
        raise ProfileError(file, f"{where}.batch: must be an integer >= 1, got {batch!r}")
    sm = _positive(file, where, "smPercent", raw["smPercent"])
    if sm > 100:
        raise ProfileError(file, f"{where}.smPercent: must be in 1..100, got {raw['smPercent']!r}")
    memory = raw.get("memoryMiB")
    return ProfilePoint(
        batch=batch,
        sm_percent=sm,
        latency_ms=_positive(file, where, "latencyMs", raw["latencyMs"]),
        throughput_rps=_positive(file, where, "throughputRps", raw["throughputRps"]),
        memory_mib=None if memory is None else _positive(file, where, "memoryMiB", memory),
    )


def parse_function_profile(text: str, file: str) -> Profile:
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        raise ProfileError(file, f"not valid YAML: {err}", None if mark is None else mark.line + 1) from None
    if not isinstance(doc, dict):
        raise ProfileError(file, "must be a FunctionProfile mapping")
    if doc.get("apiVersion") != API_VERSION or doc.get("kind") != KIND:
        raise ProfileError(
            file,
            f"apiVersion/kind: expected {API_VERSION} {KIND}, "
            f"got {doc.get('apiVersion')!r} {doc.get('kind')!r}",
        )
    spec = doc.get("spec")
    if not isinstance(spec, dict):
        raise ProfileError(file, "spec: required mapping")
    raw_points = spec.get("points")
    if not isinstance(raw_points, list) or len(raw_points) == 0:
        raise ProfileError(file, "spec.points: must be a non-empty list")
    points = tuple(_point_from_mapping(file, i, p) for i, p in enumerate(raw_points))
    _check_duplicates(file, points)
    memory = spec.get("memoryMiB")
    metadata = doc.get("metadata") if isinstance(doc.get("metadata"), dict) else {}
    return Profile(
        name=str(metadata.get("name") or os.path.splitext(os.path.basename(file))[0]),
        gpu_model=spec.get("gpuModel") if isinstance(spec.get("gpuModel"), str) else None,
        memory_mib=None if memory is None else _positive(file, "spec", "memoryMiB", memory),
        points=points,
    )


def parse_csv_profile(text: str, file: str) -> Profile:
    points: list[ProfilePoint] = []
    for lineno, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if line == "" or line.startswith("#"):
            continue
        cells = [c.strip() for c in line.split(",")]
        if not points and [c.lower() for c in cells] == CSV_HEADER:
            continue
        if len(cells) != 4:
            raise ProfileError(
                file,
                f"expected 4 columns (batch, SM %, latency in s, throughput in rps), found {len(cells)}",
                lineno,
            )
        values: list[float] = []
        for name, cell in zip(CSV_HEADER, cells, strict=True):
            try:
                v = float(cell)
            except ValueError:
                raise ProfileError(file, f"{name} must be a number, got {cell!r}", lineno) from None
            if not v > 0:
                raise ProfileError(file, f"{name} must be > 0, got {cell!r}", lineno)
            values.append(v)
        batch, sm, latency_s, rps = values
        if batch != int(batch) or sm > 100:
            raise ProfileError(
                file, f"batch must be an integer and SM % at most 100, got {cells[0]}, {cells[1]}", lineno
            )
        points.append(ProfilePoint(int(batch), sm, latency_s * 1000.0, rps))
    if not points:
        raise ProfileError(file, "no points")
    _check_duplicates(file, tuple(points))
    name = os.path.splitext(os.path.basename(file))[0]
    if name.startswith("bs_sm_"):
        name = name[len("bs_sm_") :]
    return Profile(name=name, gpu_model=None, memory_mib=None, points=tuple(points))


def _check_duplicates(file: str, points: tuple[ProfilePoint, ...]) -> None:
    seen: set[tuple[int, float]] = set()
    for p in points:
        key = (p.batch, p.sm_percent)
        if key in seen:
            raise ProfileError(file, f"duplicate point batch={p.batch} smPercent={p.sm_percent:g}")
        seen.add(key)


def load_profile(path: str) -> Profile:
    with open(path, encoding="utf-8") as f:
        text = f.read()
    if path.lower().endswith(".csv"):
        return parse_csv_profile(text, path)
    return parse_function_profile(text, path)


class LatencyTable:
    """Latency at any (batch, SM %) from a profile's measured points."""

    def __init__(self, profile: Profile) -> None:
        self.profile = profile
        rows: dict[int, list[ProfilePoint]] = {}
        for p in profile.points:
            rows.setdefault(p.batch, []).append(p)
        self._batches = sorted(rows)
        self._rows = {b: sorted(ps, key=lambda p: p.sm_percent) for b, ps in rows.items()}

    def _row_latency(self, batch: int, sm: float) -> float:
        row = self._rows[batch]
        sms = [p.sm_percent for p in row]
        if len(row) == 1:
            # One SM value measured: assume the work spreads over SMs (latency ~ 1 / SM) below
            # it and that more SMs than measured do not help, the conservative reading.
            only = row[0]
            return only.latency_ms * (only.sm_percent / sm if sm < only.sm_percent else 1.0)
        i = bisect.bisect_left(sms, sm)
        if i < len(row) and sms[i] == sm:
            return row[i].latency_ms
        if i >= len(row):
            return row[-1].latency_ms
        lo, hi = (row[0], row[1]) if i == 0 else (row[i - 1], row[i])
        x, x0, x1 = 1.0 / sm, 1.0 / lo.sm_percent, 1.0 / hi.sm_percent
        t = (x - x0) / (x1 - x0)
        value = lo.latency_ms + t * (hi.latency_ms - lo.latency_ms)
        # Below the lowest measured SM, never predict faster than the lowest measured point.
        return max(value, row[0].latency_ms) if i == 0 else value

    def latency_ms(self, batch: int, sm: float) -> float:
        if batch < 1 or not (0 < sm <= 100):
            raise ValueError(f"batch must be >= 1 and sm in (0, 100], got {batch}, {sm}")
        bs = self._batches
        if batch in self._rows:
            return self._row_latency(batch, sm)
        if len(bs) == 1:
            return self._row_latency(bs[0], sm) * batch / bs[0]
        i = bisect.bisect_left(bs, batch)
        lo, hi = (bs[0], bs[1]) if i == 0 else (bs[-2], bs[-1]) if i >= len(bs) else (bs[i - 1], bs[i])
        l0, l1 = math.log(self._row_latency(lo, sm)), math.log(self._row_latency(hi, sm))
        slope = max(0.0, (l1 - l0) / (math.log(hi) - math.log(lo)))
        return math.exp(l0 + slope * (math.log(batch) - math.log(lo)))

    def memory_mib(self, batch: int, sm: float) -> float | None:
        """The nearest measured point's memory, else the profile's instance footprint."""
        with_memory = [p for p in self.profile.points if p.memory_mib is not None]
        if not with_memory:
            return self.profile.memory_mib
        best = min(with_memory, key=lambda p: (abs(math.log(p.batch / batch)), abs(p.sm_percent - sm)))
        return best.memory_mib
