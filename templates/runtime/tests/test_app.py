import asyncio
import json
import threading

from runtime_helpers import asgi_call, echo_handler, flat_table, make_runtime, wait_until

from dilu_runtime.app import create_app, encode_response
from dilu_runtime.handler import Handler, Response


def run(coro):
    return asyncio.run(coro)


def json_handler(**kw):
    def infer(model, items, ctx):
        return [{"sum": sum(x), "batch": len(items), "emulated": ctx.emulated} for x in items]

    return Handler(infer=infer, preprocess=lambda req: req.json()["inputs"], **kw)


def test_health_says_loading_until_the_model_is_loaded_then_ready():
    gate = threading.Event()

    def slow_load(ctx):
        gate.wait(5)
        return "model"

    rt = make_runtime(flat_table(5.0), handler=json_handler(load=slow_load), batch=4)
    app = create_app(rt, manage_lifespan=False)
    rt.start()
    status, _, body = run(asgi_call(app, "GET", "/healthz"))
    assert status == 503 and json.loads(body)["status"] == "loading"
    assert json.loads(body)["modelLoaded"] is False
    status, _, body = run(asgi_call(app, "POST", "/", b'{"inputs": [1, 2]}'))
    assert status == 503 and b"loading" in body
    gate.set()
    wait_until(lambda: rt.health().ready)
    status, _, body = run(asgi_call(app, "GET", "/healthz"))
    doc = json.loads(body)
    assert status == 200 and doc["modelLoaded"] is True and doc["backend"] == "emulated" and doc["batch"] == 4
    rt.drain(1)


def test_inference_metrics_and_errors():
    rt = make_runtime(flat_table(5.0), handler=json_handler(), batch=4, slo_ms=40)
    app = create_app(rt, manage_lifespan=False)
    rt.start(background=False)
    status, headers, body = run(asgi_call(app, "POST", "/", b'{"inputs": [1, 2, 3]}'))
    assert status == 200 and headers["content-type"] == "application/json"
    assert json.loads(body) == {"sum": 6, "batch": 1, "emulated": True}
    status, _, body = run(asgi_call(app, "POST", "/", b"not json"))
    assert status == 400 and b"bad request" in body
    status, headers, text = run(asgi_call(app, "GET", "/metrics"))
    assert status == 200 and headers["content-type"].startswith("text/plain")
    metrics = text.decode()
    for line in (
        'dilu_requests_total{code="200"} 1.0',
        'dilu_requests_total{code="400"} 1.0',
        "dilu_request_duration_seconds_count 2.0",
        "dilu_request_queue_seconds_count 1.0",
        "dilu_batch_size_count 1.0",
        "dilu_batch_limit 4.0",
        "dilu_slo_seconds 0.04",
        "dilu_model_loaded 1.0",
        "dilu_quota_percent 100.0",
        "dilu_duty_cycle_ratio 1.0",
    ):
        assert line in metrics, line
    rt.drain(1)


def test_concurrent_requests_are_batched_together():
    rt = make_runtime(flat_table(50.0), handler=json_handler(), batch=8, batch_wait_ms=30)
    app = create_app(rt, manage_lifespan=False)
    rt.start(background=False)

    async def many():
        return await asyncio.gather(
            *[asgi_call(app, "POST", "/", json.dumps({"inputs": [i]}).encode()) for i in range(8)]
        )

    results = run(many())
    assert all(s == 200 for s, _, _ in results)
    assert max(json.loads(b)["batch"] for _, _, b in results) >= 4
    rt.drain(1)


def test_a_handler_error_is_a_500_with_the_reason():
    def infer(model, items, ctx):
        raise ValueError("shape mismatch")

    rt = make_runtime(flat_table(1.0), handler=Handler(infer=infer))
    app = create_app(rt, manage_lifespan=False)
    rt.start(background=False)
    status, _, body = run(asgi_call(app, "POST", "/", b"x"))
    assert status == 500 and b"ValueError: shape mismatch" in body
    rt.drain(1)


def test_infer_must_return_one_output_per_item():
    rt = make_runtime(flat_table(1.0), handler=Handler(infer=lambda m, items, ctx: []))
    app = create_app(rt, manage_lifespan=False)
    rt.start(background=False)
    status, _, body = run(asgi_call(app, "POST", "/", b"x"))
    assert status == 500 and b"one output per item (1)" in body
    rt.drain(1)


def test_a_failed_model_load_is_reported_by_health():
    def load(ctx):
        raise FileNotFoundError("weights.pt")

    rt = make_runtime(flat_table(1.0), handler=echo_handler(load=load))
    app = create_app(rt, manage_lifespan=False)
    rt.start(background=False)
    status, _, body = run(asgi_call(app, "GET", "/healthz"))
    doc = json.loads(body)
    assert status == 503 and doc["status"] == "failed" and "weights.pt" in doc["detail"]


def test_lifespan_starts_and_drains_the_runtime():
    rt = make_runtime(flat_table(1.0))
    app = create_app(rt)
    messages = iter([{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}])
    sent = []

    async def receive():
        return next(messages)

    async def send(m):
        sent.append(m["type"])
        if m["type"] == "lifespan.startup.complete":
            rt.wait_loaded(2)

    run(app({"type": "lifespan"}, receive, send))
    assert sent == ["lifespan.startup.complete", "lifespan.shutdown.complete"]
    assert rt.health().status == "stopped"


def test_response_encoding():
    assert encode_response({"a": 1}).headers["content-type"] == "application/json"
    assert encode_response("hi").body == b"hi"
    r = encode_response(Response(201, b"\x00", {"X-Id": "7"}))
    assert (r.status, r.body, r.headers["x-id"]) == (201, b"\x00", "7")


def test_a_client_that_goes_away_is_counted_as_499_and_serving_goes_on():
    rt = make_runtime(flat_table(100.0), handler=json_handler(), batch=1, batch_wait_ms=0)
    app = create_app(rt, manage_lifespan=False)
    rt.start(background=False)

    async def scenario():
        busy = asyncio.create_task(asgi_call(app, "POST", "/", b'{"inputs": [1]}'))
        await asyncio.sleep(0.02)  # the first request holds the GPU for 100 ms
        leaving = asyncio.create_task(asgi_call(app, "POST", "/", b'{"inputs": [2]}'))
        await asyncio.sleep(0.02)
        leaving.cancel()
        first = await busy
        after = await asgi_call(app, "POST", "/", b'{"inputs": [3]}')
        return first, after

    first, after = run(scenario())
    assert first[0] == 200 and after[0] == 200
    _, _, text = run(asgi_call(app, "GET", "/metrics"))
    assert 'dilu_requests_total{code="499"} 1.0' in text.decode()
    assert "dilu_batch_size_count 2.0" in text.decode()  # the cancelled request never ran
    rt.drain(1)
