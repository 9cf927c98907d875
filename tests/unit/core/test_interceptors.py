"""The serving and propagating interceptors, on real grpc.aio servers over loopback."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import grpc
import pytest
from grpc_status import rpc_status

from services.core import request_context
from services.core.channels import open_channel
from services.core.errors import Unavailable, details_of
from services.core.server_interceptor import ServingInterceptor

# How much more time than we gave a downstream call it may see: grpc rounds
# the deadline it carries (measured here: up to about 10 ms).
GRPC_SLACK_S = 0.02

Handler = Callable[[bytes, grpc.aio.ServicerContext], Awaitable[bytes]]


async def start_server(
    handler: Handler, interceptor: ServingInterceptor | None = None
) -> tuple[grpc.aio.Server, str]:
    server = grpc.aio.server(interceptors=[interceptor or ServingInterceptor()])
    server.add_generic_rpc_handlers(
        [
            grpc.method_handlers_generic_handler(
                "test.Svc", {"Call": grpc.unary_unary_rpc_method_handler(handler)}
            )
        ]
    )
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    return server, f"127.0.0.1:{port}"


@pytest.fixture
async def servers() -> AsyncIterator[list[grpc.aio.Server]]:
    started: list[grpc.aio.Server] = []
    yield started
    for server in started:
        await server.stop(None)


async def call(address: str, payload: bytes = b"", **kwargs: Any) -> bytes:
    async with grpc.aio.insecure_channel(address) as channel:
        return await channel.unary_unary("/test.Svc/Call")(payload, **kwargs)


async def test_unexpected_exception_is_internal_without_its_text(servers: list) -> None:
    async def boom(request: bytes, context: grpc.aio.ServicerContext) -> bytes:
        raise KeyError("sk-secret-provider-key")

    server, address = await start_server(boom)
    servers.append(server)
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call(address, metadata=(("x-request-id", "req-42"),))
    assert caught.value.code() == grpc.StatusCode.INTERNAL
    assert caught.value.details() == "internal error (request id req-42)"
    assert "sk-secret" not in str(caught.value.trailing_metadata())


async def test_keel_error_keeps_its_code_and_details(servers: list) -> None:
    async def unavailable(request: bytes, context: grpc.aio.ServicerContext) -> bytes:
        raise Unavailable("all providers down", retry_after_s=2.0)

    server, address = await start_server(unavailable)
    servers.append(server)
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call(address)
    assert caught.value.code() == grpc.StatusCode.UNAVAILABLE
    details = details_of(rpc_status.from_call(caught.value))
    assert details["RetryInfo"].retry_delay.seconds == 2  # type: ignore[attr-defined]


async def two_hops(
    servers: list,
    downstream: Handler,
    margin_s: float = 0.05,
    edge: ServingInterceptor | None = None,
) -> str:
    """An edge service whose handler calls `downstream` through the shared channel."""
    inner, inner_address = await start_server(downstream)
    channel = open_channel(inner_address, margin_s)

    async def edge_handler(request: bytes, context: grpc.aio.ServicerContext) -> bytes:
        return await channel.unary_unary("/test.Svc/Call")(request)

    outer, outer_address = await start_server(edge_handler, edge)
    servers += [inner, outer]
    return outer_address


async def report_deadline(request: bytes, context: grpc.aio.ServicerContext) -> bytes:
    ctx = request_context.current()
    assert ctx is not None
    return json.dumps(
        {
            "remaining": context.time_remaining(),
            "request_id": ctx.request_id,
            "trace_id": ctx.trace_id,
        }
    ).encode()


async def test_downstream_gets_remaining_time_minus_margin(servers: list) -> None:
    address = await two_hops(servers, report_deadline, margin_s=0.2)
    seen = json.loads(await call(address, timeout=1.0))
    # grpc carries deadlines with some milliseconds of slack (GRPC_SLACK_S).
    assert 0.6 < seen["remaining"] <= 0.8 + GRPC_SLACK_S


async def test_request_id_and_trace_travel_downstream(servers: list) -> None:
    address = await two_hops(servers, report_deadline)
    seen = json.loads(
        await call(
            address,
            timeout=1.0,
            metadata=(
                ("x-request-id", "req-7"),
                ("traceparent", "00-" + "a" * 32 + "-" + "b" * 16 + "-01"),
            ),
        )
    )
    assert seen["request_id"] == "req-7"
    assert seen["trace_id"] == "a" * 32


async def test_edge_applies_its_default_deadline_downstream(servers: list) -> None:
    edge = ServingInterceptor(default_deadline_s=0.5, max_deadline_s=1.0)
    address = await two_hops(servers, report_deadline, margin_s=0.1, edge=edge)
    seen = json.loads(await call(address))  # no deadline from the client
    assert 0.25 < seen["remaining"] <= 0.4 + GRPC_SLACK_S


async def test_edge_caps_a_long_deadline(servers: list) -> None:
    edge = ServingInterceptor(default_deadline_s=0.2, max_deadline_s=0.5)
    address = await two_hops(servers, report_deadline, margin_s=0.1, edge=edge)
    seen = json.loads(await call(address, timeout=30))
    assert 0.2 < seen["remaining"] <= 0.4 + GRPC_SLACK_S


async def test_a_call_with_no_time_left_is_not_started(servers: list) -> None:
    reached = asyncio.Event()

    async def downstream(request: bytes, context: grpc.aio.ServicerContext) -> bytes:
        reached.set()
        return b""

    inner, inner_address = await start_server(downstream)
    channel = open_channel(inner_address, margin_s=0.2)

    async def slow_edge(request: bytes, context: grpc.aio.ServicerContext) -> bytes:
        await asyncio.sleep(0.15)  # leaves less than the 0.2 s margin of 0.3 s
        return await channel.unary_unary("/test.Svc/Call")(request)

    outer, outer_address = await start_server(slow_edge)
    servers += [inner, outer]
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call(outer_address, timeout=0.3)
    assert caught.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    assert not reached.is_set()


async def test_a_peers_rich_status_passes_through_unchanged(servers: list) -> None:
    async def down(request: bytes, context: grpc.aio.ServicerContext) -> bytes:
        raise Unavailable("storage is away", reason="STORAGE_DOWN", retry_after_s=3.0)

    address = await two_hops(servers, down)
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call(address, timeout=2)
    assert caught.value.code() == grpc.StatusCode.UNAVAILABLE
    assert caught.value.details() == "storage is away"
    details = details_of(rpc_status.from_call(caught.value))
    assert details["ErrorInfo"].reason == "STORAGE_DOWN"  # type: ignore[attr-defined]
    assert details["RetryInfo"].retry_delay.seconds == 3  # type: ignore[attr-defined]
