"""Reading the per-allocation quota file (docs/contracts/quota-file.md).

The node agent replaces the file by rename, so its inode changes on every write. The watcher
polls the file's identity (device, inode, size, mtime) instead of using inotify: a rename over a
watched name is seen reliably by stat, works on every filesystem a kubelet may mount, and costs
one syscall per poll. A reader acts only on a higher `generation`, and keeps the last good value
when the file is missing or unparseable, logging each distinct problem once.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

log = logging.getLogger("dilu_runtime.quota")


class QuotaFileError(ValueError):
    """The quota file exists but does not hold a usable quota."""


@dataclass(frozen=True)
class QuotaState:
    quota: float
    generation: int
    sm_limit: float | None = None
    sm_request: float | None = None
    allocation_id: str | None = None
    gpu_index: int | None = None
    memory_mib: float | None = None


def _percent(doc: dict[str, Any], field: str, *, optional: bool) -> float | None:
    value = doc.get(field)
    if value is None:
        if optional:
            return None
        raise QuotaFileError(f"{field}: required, a number in (0, 100]")
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not (0 < value <= 100):
        raise QuotaFileError(f"{field}: must be a number in (0, 100], got {value!r}")
    return float(value)


def parse_quota(text: str) -> QuotaState:
    """Parses the JSON quota file; errors name the field and what it allows."""
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as err:
        raise QuotaFileError(f"not valid JSON: {err.msg} at line {err.lineno}") from None
    if not isinstance(doc, dict):
        raise QuotaFileError("must be one JSON object")
    version = doc.get("version")
    if version != 1:
        raise QuotaFileError(f"version: this runtime reads version 1, got {version!r}")
    generation = doc.get("generation")
    if isinstance(generation, bool) or not isinstance(generation, int) or generation < 0:
        raise QuotaFileError(f"generation: must be an integer >= 0, got {generation!r}")
    quota = _percent(doc, "quota", optional=False)
    assert quota is not None
    gpu_index = doc.get("gpuIndex")
    memory = doc.get("memoryMiB")
    return QuotaState(
        quota=quota,
        generation=generation,
        sm_limit=_percent(doc, "smLimit", optional=True),
        sm_request=_percent(doc, "smRequest", optional=True),
        allocation_id=doc.get("allocationId") if isinstance(doc.get("allocationId"), str) else None,
        gpu_index=gpu_index if isinstance(gpu_index, int) and not isinstance(gpu_index, bool) else None,
        memory_mib=float(memory)
        if isinstance(memory, (int, float)) and not isinstance(memory, bool)
        else None,
    )


def read_quota_file(path: str) -> QuotaState:
    with open(path, encoding="utf-8") as f:
        return parse_quota(f.read())


class QuotaWatcher:
    """Polls the quota file and calls `on_change(state)` for each higher generation."""

    def __init__(
        self,
        path: str,
        on_change: Callable[[QuotaState], None],
        *,
        poll_s: float = 0.05,
        on_error: Callable[[str], None] | None = None,
    ) -> None:
        self._path = path
        self._on_change = on_change
        self._on_error = on_error
        self._poll_s = poll_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._identity: tuple[int, int, int, int] | None = None
        self._last_problem: str | None = None
        self.current: QuotaState | None = None

    def poll_once(self) -> bool:
        """Checks the file now; returns True when a new generation was applied."""
        try:
            st = os.stat(self._path)
        except FileNotFoundError:
            self._problem(f"quota file {self._path} is missing; keeping the last good quota")
            self._identity = None
            return False
        except OSError as err:
            self._problem(f"quota file {self._path} cannot be read: {err}")
            return False
        identity = (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)
        if identity == self._identity:
            return False
        self._identity = identity
        try:
            state = read_quota_file(self._path)
        except FileNotFoundError:
            self._identity = None
            return False
        except (OSError, QuotaFileError) as err:
            self._problem(f"quota file {self._path}: {err}; keeping the last good quota")
            return False
        self._last_problem = None
        if self.current is not None and state.generation <= self.current.generation:
            if state.generation < self.current.generation:
                log.warning(
                    "quota file generation went back; ignored",
                    extra={"generation": state.generation, "current": self.current.generation},
                )
            return False
        self.current = state
        self._on_change(state)
        return True

    def _problem(self, message: str) -> None:
        if message == self._last_problem:
            return
        self._last_problem = message
        log.warning(message)
        if self._on_error is not None:
            self._on_error(message)

    def start(self) -> None:
        self.poll_once()
        self._thread = threading.Thread(target=self._run, name="dilu-quota-watcher", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self._poll_s):
            try:
                self.poll_once()
            except Exception:  # the watcher must outlive a bug in a callback
                log.exception("quota watcher poll failed")

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2)
