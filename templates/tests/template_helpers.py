"""Helpers for the template tests: instantiate a template as its tool would, run it, call it."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from typing import Any

TEMPLATES = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
REPO = os.path.dirname(TEMPLATES)
RESNET152_CSV = os.path.join(REPO, "autoscaler", "data", "profiles", "dilu-a100", "bs_sm_resnet152.csv")
sys.path.insert(0, TEMPLATES)

import export  # noqa: E402, F401  (re-exported for the tests)


def faas_cli_new_and_build(template_repo: str, lang: str, fn: str, workdir: str) -> str:
    """What `faas-cli new <fn> --lang <lang>` then `faas-cli build --shrinkwrap` lay out.

    new copies template/<lang>/<handler_folder> to ./<fn>; build copies template/<lang> to
    build/<fn> and overlays ./<fn> onto its handler folder. Returns the build context.
    """
    template = os.path.join(template_repo, "template", lang)
    handler_dir = os.path.join(workdir, fn)
    shutil.copytree(os.path.join(template, "function"), handler_dir)
    context = os.path.join(workdir, "build", fn)
    shutil.copytree(template, context)
    shutil.rmtree(os.path.join(context, "function"))
    shutil.copytree(handler_dir, os.path.join(context, "function"))
    # The Dockerfile's `touch function/__init__.py`.
    open(os.path.join(context, "function", "__init__.py"), "a").close()
    return context


def func_create(repo: str, runtime: str, template: str, dest: str) -> str:
    """What `func create -l <runtime> -t <template> --repository file://<repo> <dest>` writes
    (the template's files; func adds func.yaml, which the runtime does not read)."""
    shutil.copytree(
        os.path.join(repo, runtime, template), dest, ignore=shutil.ignore_patterns("manifest.yaml")
    )
    return dest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Process:
    """A child process whose stderr is collected by a thread (so it never blocks on a pipe)."""

    def __init__(self, args: list[str], cwd: str, env: dict[str, str]) -> None:
        self.proc = subprocess.Popen(
            args, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))

    def json_log(self, msg: str, timeout_s: float = 20.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            for line in list(self.lines):
                try:
                    doc = json.loads(line)
                except ValueError:
                    continue
                if doc.get("msg") == msg:
                    return doc
            if self.proc.poll() is not None:
                break
            time.sleep(0.02)
        raise AssertionError(f"no {msg!r} log line; output:\n" + "\n".join(self.lines))

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.terminate()
        try:
            return self.proc.wait(20)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()
            self._reader.join(5)

    def output(self) -> str:
        return "\n".join(self.lines)


def http(method: str, url: str, body: bytes | None = None, timeout: float = 10.0) -> tuple[int, bytes]:
    req = urllib.request.Request(url, data=body, method=method, headers={"content-type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()


def wait_http(url: str, status: int = 200, timeout_s: float = 20.0) -> bytes:
    deadline = time.monotonic() + timeout_s
    last: Any = None
    while time.monotonic() < deadline:
        try:
            code, body = http("GET", url, timeout=2)
            if code == status:
                return body
            last = (code, body)
        except OSError as err:
            last = err
        time.sleep(0.05)
    raise AssertionError(f"{url} did not answer {status}: {last}")


def child_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DILU_", "CUDA_MPS_"))}
    env.update(extra)
    return env
