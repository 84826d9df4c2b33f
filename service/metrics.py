"""Prometheus metrics, one registry per app (so several apps in one process never collide)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, disable_created_metrics, generate_latest

disable_created_metrics()  # no *_created series: they double the output and nobody graphs them

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "lexiflow_http_requests_total", "HTTP requests answered, by route template and status.",
            ["method", "route", "status"], registry=self.registry)
        self.latency = Histogram(
            "lexiflow_http_request_duration_seconds", "Time from request start to the last response byte.",
            ["method", "route"], buckets=LATENCY_BUCKETS, registry=self.registry)
        self.in_progress = Gauge(
            "lexiflow_http_requests_in_progress", "Requests being handled now.", registry=self.registry)
        self.items = Counter(
            "lexiflow_items_total", "Texts (or text pairs) processed, by task.", ["task"], registry=self.registry)
        self.model_info = Gauge(
            "lexiflow_model_loaded", "1 for each loaded model.", ["task", "name", "version"], registry=self.registry)
        self.load_seconds = Gauge(
            "lexiflow_model_load_seconds", "Seconds spent loading all models at startup.", registry=self.registry)

    def render(self) -> bytes:
        return generate_latest(self.registry)
