"""Prometheus metrics every service exports, served over HTTP on its metrics port."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram, start_http_server

RPC_REQUESTS = Counter(
    "keel_rpc_requests_total", "RPCs served, by method and status code", ["method", "code"]
)
RPC_LATENCY = Histogram(
    "keel_rpc_latency_seconds",
    "Time to serve an RPC (to the last message for streams)",
    ["method"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)
RPC_IN_FLIGHT = Gauge("keel_rpc_in_flight", "RPCs being served now", ["method"])
SERVING = Gauge("keel_health_serving", "1 when the service reports SERVING", ["service"])


def serve_metrics(port: int, host: str = "127.0.0.1") -> None:
    """Start the /metrics HTTP endpoint (a daemon thread); port 0 disables it."""
    if port:
        start_http_server(port, addr=host)
