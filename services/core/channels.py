"""Channels between services: one per peer, with keepalive and deadline propagation."""

from __future__ import annotations

import grpc

from services.core.client_interceptor import PropagatingInterceptor

# Keepalive pings find a dead peer (a killed process, a dropped connection)
# in seconds instead of at the next call's deadline. The server side allows
# pings this often (see SERVER_OPTIONS), so it never answers with GOAWAY.
CHANNEL_OPTIONS = [
    ("grpc.keepalive_time_ms", 20_000),
    ("grpc.keepalive_timeout_ms", 5_000),
    ("grpc.keepalive_permit_without_calls", 1),
    ("grpc.http2.max_pings_without_data", 0),
    # Reconnect quickly after a peer restarts, not after grpc's default 20 s cap.
    ("grpc.initial_reconnect_backoff_ms", 200),
    ("grpc.max_reconnect_backoff_ms", 2_000),
]

SERVER_OPTIONS = [
    ("grpc.http2.min_ping_interval_without_data_ms", 10_000),
    ("grpc.keepalive_permit_without_calls", 1),
    ("grpc.http2.max_ping_strikes", 0),
]


def open_channel(address: str, margin_s: float) -> grpc.aio.Channel:
    return grpc.aio.insecure_channel(
        address,
        options=CHANNEL_OPTIONS,
        interceptors=[PropagatingInterceptor(margin_s)],
    )
