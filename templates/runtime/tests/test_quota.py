import json
import os

import pytest
from runtime_helpers import wait_until, write_quota

from dilu_runtime.quota import QuotaFileError, QuotaWatcher, parse_quota

GOOD = {"version": 1, "quota": 40, "smLimit": 50, "smRequest": 30, "generation": 7, "allocationId": "a-1"}


def test_parses_the_contract_example():
    s = parse_quota(json.dumps({**GOOD, "gpuIndex": 0, "memoryMiB": 4096, "future": {"x": 1}}))
    assert (s.quota, s.sm_limit, s.sm_request, s.generation) == (40, 50, 30, 7)
    assert s.allocation_id == "a-1" and s.gpu_index == 0 and s.memory_mib == 4096


def test_sm_limit_may_be_null_until_the_node_agent_matched_the_pod():
    assert parse_quota(json.dumps({**GOOD, "smLimit": None})).sm_limit is None


@pytest.mark.parametrize(
    "change,message",
    [
        ({"quota": 0}, "quota: must be a number in (0, 100], got 0"),
        ({"quota": "40"}, "quota: must be a number in (0, 100], got '40'"),
        ({"quota": None}, "quota: required"),
        ({"generation": -1}, "generation: must be an integer >= 0, got -1"),
        ({"version": 2}, "version: this runtime reads version 1, got 2"),
        ({"smLimit": 101}, "smLimit: must be a number in (0, 100], got 101"),
    ],
)
def test_bad_files_name_the_field(change, message):
    with pytest.raises(
        QuotaFileError,
        match=message.replace("(", r"\(").replace(")", r"\)").replace("[", r"\[").replace("]", r"\]"),
    ):
        parse_quota(json.dumps({**GOOD, **change}))


def test_not_json_is_an_error():
    with pytest.raises(QuotaFileError, match="not valid JSON"):
        parse_quota('{"version": 1,')


def test_watcher_follows_renames_and_only_higher_generations(tmp_path):
    path = str(tmp_path / "quota.json")
    write_quota(path, 40, generation=1)
    seen = []
    errors = []
    w = QuotaWatcher(
        path, lambda s: seen.append((s.quota, s.generation)), poll_s=0.01, on_error=errors.append
    )
    w.start()
    try:
        assert seen == [(40, 1)]
        write_quota(path, 60, generation=2)
        wait_until(lambda: len(seen) == 2)
        assert seen[-1] == (60, 2)
        write_quota(path, 10, generation=1)  # older generation: ignored
        write_quota(path, 70, generation=3)
        wait_until(lambda: seen[-1] == (70, 3))
        assert (10, 1) not in seen
    finally:
        w.stop()
    assert errors == []


def test_watcher_keeps_the_last_good_value_and_logs_each_problem_once(tmp_path):
    path = str(tmp_path / "quota.json")
    write_quota(path, 40, generation=1)
    seen = []
    errors = []
    w = QuotaWatcher(path, lambda s: seen.append(s.quota), on_error=errors.append)
    assert w.poll_once() is True
    os.remove(path)
    assert w.poll_once() is False
    assert w.poll_once() is False
    with open(path + ".tmp", "w") as f:
        f.write("{garbage")
    os.rename(path + ".tmp", path)
    assert w.poll_once() is False
    assert w.current is not None and w.current.quota == 40
    assert len(errors) == 2 and "missing" in errors[0] and "not valid JSON" in errors[1]
    write_quota(path, 55, generation=2)
    assert w.poll_once() is True
    assert seen == [40, 55]
