"""Prometheus metrics of one function instance, on a registry of its own.

Names and labels are part of docs/contracts/runtime-metrics.md: the autoscaler reads the latency
and queue figures to correct the function's profile online.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

# Buckets from 1 ms to 60 s: DL batches span both ends.
LATENCY_BUCKETS = (
    0.001,
    0.0025,
    0.005,
    0.01,
    0.02,
    0.03,
    0.05,
    0.075,
    0.1,
    0.15,
    0.2,
    0.3,
    0.5,
    0.75,
    1.0,
    1.5,
    2.5,
    5.0,
    10.0,
    30.0,
    60.0,
)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096)


class RuntimeMetrics:
    content_type = CONTENT_TYPE_LATEST

    def __init__(self) -> None:
        r = self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "dilu_requests", "Requests answered, by HTTP status code.", ["code"], registry=r
        )
        self.request_seconds = Histogram(
            "dilu_request_duration_seconds",
            "Time from a request's arrival to its response being ready.",
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.queue_seconds = Histogram(
            "dilu_request_queue_seconds",
            "Time a request waited before its batch started on the GPU (batching and quota waits).",
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.batch_seconds = Histogram(
            "dilu_batch_duration_seconds",
            "GPU time of one batch.",
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.batch_size = Histogram(
            "dilu_batch_size", "Requests per batch.", buckets=BATCH_BUCKETS, registry=r
        )
        self.queue_depth = Gauge("dilu_queue_depth", "Requests waiting for a batch.", registry=r)
        self.inflight = Gauge("dilu_inflight_requests", "Requests being served now.", registry=r)
        self.gpu_busy = Counter("dilu_gpu_busy_seconds", "Seconds the GPU step was running.", registry=r)
        self.throttled = Counter(
            "dilu_quota_throttled_seconds",
            "Seconds batches waited for time-slice tokens (the quota, not the batching wait).",
            registry=r,
        )
        self.quota = Gauge("dilu_quota_percent", "Effective quota q, percent of the GPU.", registry=r)
        self.sm_limit = Gauge(
            "dilu_sm_limit_percent", "MPS active-thread percentage l of this process.", registry=r
        )
        self.duty_cycle = Gauge("dilu_duty_cycle_ratio", "Share of time GPU work may run, q / l.", registry=r)
        self.quota_generation = Gauge(
            "dilu_quota_generation", "Generation of the quota file last applied.", registry=r
        )
        self.quota_errors = Counter(
            "dilu_quota_file_errors", "Problems reading the quota file (last good value kept).", registry=r
        )
        self.batch_limit = Gauge("dilu_batch_limit", "Configured largest batch (DILU_BATCH).", registry=r)
        self.slo_seconds = Gauge("dilu_slo_seconds", "Configured latency SLO (DILU_SLO_MS).", registry=r)
        self.model_loaded = Gauge("dilu_model_loaded", "1 once the model is loaded.", registry=r)
        self.model_load_seconds = Gauge(
            "dilu_model_load_seconds", "Time the model took to load (the cold start).", registry=r
        )
        self.draining = Gauge("dilu_draining", "1 while draining after SIGTERM.", registry=r)

    def exposition(self) -> bytes:
        return generate_latest(self.registry)
