import pytest

from dilu_runtime.config import ConfigError, load_config


def test_defaults_without_any_variable():
    c = load_config({})
    assert (c.batch, c.batch_wait_ms, c.max_queue, c.backend) == (1, 5.0, 1024, "auto")
    assert c.sm_limit is None and c.effective_sm_limit == 100.0
    assert c.quota_file is None


def test_reads_the_variables_the_webhook_and_device_plugin_set():
    c = load_config(
        {
            "DILU_BATCH": "16",
            "DILU_SLO_MS": "40",
            "DILU_SM_REQUEST": "30",
            "CUDA_MPS_ACTIVE_THREAD_PERCENTAGE": "50",
            "DILU_SM_LIMIT": "60",
            "DILU_QUOTA_FILE": "/var/run/dilu/quota.json",
            "DILU_GPU_BACKEND": "Emulated",
        }
    )
    assert c.batch == 16 and c.slo_ms == 40 and c.sm_request == 30
    # MPS applies CUDA_MPS_ACTIVE_THREAD_PERCENTAGE, so it wins over the recorded DILU_SM_LIMIT.
    assert c.sm_limit == 50
    assert c.quota_file == "/var/run/dilu/quota.json"
    assert c.backend == "emulated"


def test_dilu_sm_limit_is_the_fallback_for_l():
    assert load_config({"DILU_SM_LIMIT": "60"}).effective_sm_limit == 60


@pytest.mark.parametrize(
    "name,value,expected",
    [
        ("DILU_BATCH", "0", "DILU_BATCH: must be an integer in 1..4096, got '0'"),
        ("DILU_BATCH", "8.5", "DILU_BATCH: must be an integer in 1..4096, got '8.5'"),
        ("DILU_BATCH_WAIT_MS", "soon", "DILU_BATCH_WAIT_MS: must be a number in 0..10000"),
        (
            "CUDA_MPS_ACTIVE_THREAD_PERCENTAGE",
            "150",
            "CUDA_MPS_ACTIVE_THREAD_PERCENTAGE: must be a number in 1..100",
        ),
        ("DILU_QUOTA_POLL_MS", "500", "DILU_QUOTA_POLL_MS: must be a number in 5..100"),
        ("DILU_GPU_BACKEND", "rocm", "DILU_GPU_BACKEND: must be one of auto, torch, emulated, got 'rocm'"),
    ],
)
def test_bad_values_name_the_variable_and_what_is_allowed(name, value, expected):
    with pytest.raises(ConfigError) as err:
        load_config({name: value})
    assert str(err.value).startswith(expected)
    assert err.value.field == name
