import pytest

from dilu_runtime.profile import (
    LatencyTable,
    ProfileError,
    load_profile,
    parse_csv_profile,
    parse_function_profile,
)

YAML = """
apiVersion: dilu.dev/v1alpha1
kind: FunctionProfile
metadata: {name: resnet152}
spec:
  gpuModel: NVIDIA A100-SXM4-40GB
  memoryMiB: 3072
  points:
    - {batch: 1, smPercent: 10, latencyMs: 28.1, throughputRps: 35.6, memoryMiB: 2900}
    - {batch: 1, smPercent: 50, latencyMs: 20.0, throughputRps: 50}
    - {batch: 4, smPercent: 10, latencyMs: 50.7, throughputRps: 78.9}
    - {batch: 4, smPercent: 50, latencyMs: 23.8, throughputRps: 168}
"""


def test_reads_a_function_profile():
    p = parse_function_profile(YAML, "p.yaml")
    assert p.name == "resnet152" and p.gpu_model == "NVIDIA A100-SXM4-40GB" and p.memory_mib == 3072
    assert len(p.points) == 4 and p.points[0].memory_mib == 2900


def test_reads_the_published_dilu_csv(resnet152):
    assert resnet152.profile.name == "resnet152"
    assert resnet152.latency_ms(1, 10) == pytest.approx(28.115)
    assert resnet152.latency_ms(32, 50) == pytest.approx(44.8, abs=1.0)  # 45 ms in papers.md


def test_interpolation_is_exact_at_points_and_between_them_in_one_over_sm():
    t = LatencyTable(parse_function_profile(YAML, "p.yaml"))
    assert t.latency_ms(1, 10) == 28.1 and t.latency_ms(4, 50) == 23.8
    # 1/SM halfway between 1/10 and 1/50 is SM 16.67.
    assert t.latency_ms(1, 100 / 6) == pytest.approx((28.1 + 20.0) / 2)
    # Above the highest measured SM: no faster than measured.
    assert t.latency_ms(1, 100) == 20.0
    # Below the lowest: slower, following the first segment.
    assert t.latency_ms(1, 5) > 28.1
    # Between batch rows: geometric in batch.
    assert 28.1 < t.latency_ms(2, 10) < 50.7
    assert t.latency_ms(2, 10) == pytest.approx((28.1 * 50.7) ** 0.5)


def test_latency_never_rises_with_sm_on_the_published_grid(resnet152):
    for b in (1, 3, 8, 24):
        values = [resnet152.latency_ms(b, s) for s in range(10, 101, 5)]
        assert all(x >= y - 1.5 for x, y in zip(values, values[1:], strict=False)), (b, values)


def test_memory_falls_back_to_the_instance_footprint():
    t = LatencyTable(parse_function_profile(YAML, "p.yaml"))
    assert t.memory_mib(1, 10) == 2900


@pytest.mark.parametrize(
    "text,message",
    [
        ("1,10,0.02\n", "p.csv:1: expected 4 columns"),
        ("1,10,x,5\n", "p.csv:1: latency_s must be a number, got 'x'"),
        ("1,10,0.02,5\n1,10,0.03,4\n", "duplicate point batch=1 smPercent=10"),
        ("1,120,0.02,5\n", "SM % at most 100"),
    ],
)
def test_bad_csv_names_the_line(text, message):
    with pytest.raises(ProfileError, match=message):
        parse_csv_profile(text, "p.csv")


def test_unknown_point_fields_are_errors():
    bad = YAML.replace("latencyMs: 28.1", "latencyMS: 28.1")
    with pytest.raises(ProfileError, match="spec.points.0: unknown field 'latencyMS'"):
        parse_function_profile(bad, "p.yaml")


def test_wrong_kind_is_an_error(tmp_path):
    f = tmp_path / "x.yaml"
    f.write_text("apiVersion: v1\nkind: ConfigMap\n")
    with pytest.raises(ProfileError, match="expected dilu.dev/v1alpha1 FunctionProfile"):
        load_profile(str(f))
