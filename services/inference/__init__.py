"""The inference service: every call to a model provider goes through it.

Layout: providers/ (one adapter per protocol), policies/ (breaker, retry
budget, backoff, provider limits, hedging: one file each), call_plan.py (the
one place they are composed around a call), attempt.py (one provider call),
servicer.py (the gRPC surface), provider_health.py (health from breakers and probes).
"""
