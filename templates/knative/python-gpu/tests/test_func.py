"""Tests of the function on the emulated GPU (no GPU, no torch needed).

Run from the function's folder with `python -m pytest tests`. DILU_PROFILE_FILE must name a
profile (FunctionProfile YAML or Dilu CSV) for the emulated GPU's timing.
"""

import asyncio
import json
import os
import time

import pytest
from function import new


async def call(f, method, path, body=b""):
    scope = {"type": "http", "method": method, "path": path, "query_string": b"", "headers": []}
    sent = []
    delivered = False

    async def receive():
        nonlocal delivered
        if delivered:
            return {"type": "http.disconnect"}
        delivered = True
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message):
        sent.append(message)

    await f.handle(scope, receive, send)
    status = next(m["status"] for m in sent if m["type"] == "http.response.start")
    return status, b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")


@pytest.fixture
def function():
    if not os.environ.get("DILU_PROFILE_FILE"):
        pytest.skip("set DILU_PROFILE_FILE to a profile for the emulated GPU")
    f = new()
    f.start({**os.environ, "DILU_GPU_BACKEND": "emulated", "DILU_BATCH": "4"})
    deadline = time.monotonic() + 10
    while not f.ready()[0]:
        assert time.monotonic() < deadline, f.ready()[1]
        time.sleep(0.01)
    yield f
    f.stop()


def test_answers_a_request(function):
    body = json.dumps({"input": [1, 2, 3, 4, 5, 6, 7, 8]}).encode()
    status, data = asyncio.run(call(function, "POST", "/", body))
    assert status == 200
    assert json.loads(data) == {"output": [4.5, 8.0]}


def test_rejects_bad_input(function):
    status, data = asyncio.run(call(function, "POST", "/", b'{"input": [1]}'))
    assert status == 400 and b"8 numbers" in data


def test_alive_and_ready(function):
    assert function.alive()[0] is True
    assert function.ready()[0] is True
