import json

import pytest

from dilu_profiler.protocol import Done, Measure, PeerError, ProtocolError, parse_peer_line, result_line


def test_measure_done_and_error_messages():
    assert parse_peer_line('{"type":"measure","batch":4,"smPercent":30}') == Measure(4, 30.0)
    done = parse_peer_line(
        json.dumps(
            {
                "type": "done",
                "choice": {"batch": 16},
                "probes": 9,
                "reason": "r",
                "profile": {"kind": "FunctionProfile"},
            }
        )
    )
    assert isinstance(done, Done) and done.probes == 9 and done.choice == {"batch": 16}
    assert parse_peer_line('{"type":"error","message":"bad --slo-ms"}') == PeerError("bad --slo-ms")


@pytest.mark.parametrize(
    "line,message",
    [
        ("not json", "not JSON"),
        ("[1]", "expected an object"),
        ('{"type":"measure","batch":0,"smPercent":30}', "measure.batch: must be an integer >= 1, got 0"),
        (
            '{"type":"measure","batch":2,"smPercent":130}',
            "measure.smPercent: must be a number in 1..100, got 130",
        ),
        ('{"type":"measure","batch":2}', "measure.smPercent"),
        ('{"type":"done","profile":"x"}', "done.profile: must be a FunctionProfile object"),
        ('{"type":"hello"}', "type: expected measure, done or error, got 'hello'"),
    ],
)
def test_bad_lines_name_the_field(line, message):
    with pytest.raises(ProtocolError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_peer_line(line)


def test_result_lines():
    assert json.loads(
        result_line({"latencyMs": 28.1, "throughputRps": 35.6, "memoryMiB": 2100, "gpuModel": "x"})
    ) == {
        "type": "result",
        "latencyMs": 28.1,
        "throughputRps": 35.6,
        "memoryMiB": 2100,
    }
    assert json.loads(result_line({"latencyMs": 1.0, "throughputRps": 2.0, "memoryMiB": None})) == {
        "type": "result",
        "latencyMs": 1.0,
        "throughputRps": 2.0,
    }
    assert json.loads(result_line({"error": "CUDA out of memory"})) == {
        "type": "result",
        "error": "CUDA out of memory",
    }
    assert result_line({"error": "x"}).endswith("\n")
