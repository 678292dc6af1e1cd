"""Tests of the handler on the emulated path (no GPU, no torch): run with `python -m pytest`."""

import json

from dilu_runtime import HandlerContext, Request

from . import handler

CTX = HandlerContext(device="cpu", emulated=True, batch=4, sm_limit=100)


def test_a_batch_gives_one_output_per_request():
    model = handler.load(CTX)
    items = [handler.preprocess(Request(body=handler.example_request().encode())) for _ in range(3)]
    outputs = handler.infer(model, items, CTX)
    assert len(outputs) == 3
    assert handler.postprocess(outputs[0]) == {"output": [0.5, 0.5]}


def test_bad_input_is_rejected_with_the_expected_shape():
    try:
        handler.preprocess(Request(body=json.dumps({"input": [1, 2]}).encode()))
    except ValueError as err:
        assert "8 numbers" in str(err)
    else:
        raise AssertionError("expected a ValueError")
