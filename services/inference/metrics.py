"""Prometheus metrics of the inference service (served on its metrics port)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

BREAKER_STATE = Gauge(
    "keel_inference_breaker_state",
    "Breaker state per target: 0 closed, 1 half-open, 2 open",
    ["provider", "model"],
)
BREAKER_TRANSITIONS = Counter(
    "keel_inference_breaker_transitions_total", "Breaker state changes", ["provider", "model", "to"]
)
PROVIDER_REQUESTS = Counter(
    "keel_inference_provider_requests_total",
    "Provider attempts by outcome (ok, or the failure kind)",
    ["provider", "model", "outcome"],
)
PROVIDER_FIRST_TOKEN = Histogram(
    "keel_inference_provider_first_token_seconds",
    "Time from sending a provider request to its first token",
    ["provider", "model"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30),
)
SKIPPED = Counter(
    "keel_inference_targets_skipped_total",
    "Targets skipped without a call (breaker open, limits, deadline, budget)",
    ["provider", "model", "reason"],
)
TOKENS = Counter(
    "keel_inference_tokens_total", "Tokens of every attempt", ["provider", "model", "direction"]
)
COST = Counter(
    "keel_inference_cost_micros_total", "Cost of every attempt, micro-units", ["provider", "model"]
)
EXTRA_ATTEMPTS = Counter(
    "keel_inference_extra_attempts_total", "Attempts after a request's first", ["kind"]
)
RETRY_BUDGET_EXHAUSTED = Counter(
    "keel_inference_retry_budget_exhausted_total", "Extra attempts refused by the retry budget"
)
LIMITER_AVAILABLE = Gauge(
    "keel_inference_limiter_available",
    "Capacity left in a provider limiter (requests, tokens, concurrency)",
    ["provider", "kind"],
)
HELD_BACK = Gauge(
    "keel_inference_held_back_seconds", "Seconds a provider is held back for", ["provider"]
)
UNDELIVERED_TOKENS = Counter(
    "keel_inference_undelivered_output_tokens_total",
    "Output tokens of generations that ended without a final message (cancelled by the "
    "caller, deadline passed, or failed): billed by the provider, recorded only here and in logs",
    ["provider", "model"],
)
