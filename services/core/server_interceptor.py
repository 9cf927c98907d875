"""The one server interceptor every service runs.

For every call it serves it: opens the request context (request id, tenant,
trace, deadline), refuses work whose deadline has already passed, turns every
exception into a google.rpc.Status with details (handlers never build error
plumbing themselves), and records metrics and one log line.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import grpc

from services.core import metrics, request_context
from services.core.deadlines import effective_timeout, normalise_remaining
from services.core.errors import DeadlineExceeded, Internal, KeelError, status_from_rpc_error
from services.core.request_context import RequestContext

log = logging.getLogger("keel.rpc")

# Infrastructure services are served as they are: a health Watch is a stream
# that lives as long as the watcher, and reflection is a debugging aid.
_UNWRAPPED_PREFIXES = ("/grpc.health.", "/grpc.reflection.")


class ServingInterceptor(grpc.aio.ServerInterceptor):
    def __init__(
        self,
        *,
        default_deadline_s: float | None = None,
        max_deadline_s: float | None = None,
    ) -> None:
        # Only the public edge sets these: internal services trust the
        # deadline their caller propagated.
        self.default_deadline_s = default_deadline_s
        self.max_deadline_s = max_deadline_s
        # method -> (its handler, that handler wrapped)
        self._wrapped: dict[str, tuple[grpc.RpcMethodHandler, grpc.RpcMethodHandler]] = {}

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        handler = await continuation(handler_call_details)
        method = handler_call_details.method
        if handler is None:
            return handler
        # A method's handler is the same object on every call: wrap it once.
        cached = self._wrapped.get(method)
        if cached is not None and cached[0] is handler:
            return cached[1]
        wrapped = self._wrap(handler, method)
        self._wrapped[method] = (handler, wrapped)
        return wrapped

    def _wrap(self, handler: grpc.RpcMethodHandler, method: str) -> grpc.RpcMethodHandler:
        if method.startswith(_UNWRAPPED_PREFIXES):
            return handler
        meters = _MethodMeters(method)
        if handler.unary_unary:
            return grpc.unary_unary_rpc_method_handler(
                self._unary(handler.unary_unary, method, meters),
                request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer,
            )
        if handler.unary_stream:
            return grpc.unary_stream_rpc_method_handler(
                self._stream(handler.unary_stream, method, meters),
                request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer,
            )
        return handler

    def _open_context(self, method: str, context: grpc.aio.ServicerContext) -> RequestContext:
        metadata = {k: v for k, v in (context.invocation_metadata() or ()) if isinstance(v, str)}
        ctx = RequestContext(
            request_id=metadata.get(request_context.REQUEST_ID_HEADER, "")[:128]
            or request_context.new_request_id(),
            method=method,
            tenant_id=metadata.get(request_context.TENANT_HEADER, ""),
        )
        parent = request_context.parse_traceparent(
            metadata.get(request_context.TRACEPARENT_HEADER, "")
        )
        if parent:
            ctx.trace_id, ctx.parent_span_id = parent
        remaining = normalise_remaining(context.time_remaining())
        if self.default_deadline_s is not None and self.max_deadline_s is not None:
            remaining = effective_timeout(remaining, self.default_deadline_s, self.max_deadline_s)
        if remaining is not None:
            ctx.deadline = time.monotonic() + remaining
        return ctx

    def _unary(
        self, behaviour: Callable[..., Awaitable[Any]], method: str, meters: _MethodMeters
    ) -> Callable[..., Any]:
        async def serve(request: Any, context: grpc.aio.ServicerContext) -> Any:
            ctx = self._open_context(method, context)
            token = request_context.activate(ctx)
            observed = _Observation(meters)
            try:
                _refuse_if_expired(ctx)
                return await behaviour(request, context)
            except BaseException as error:  # noqa: BLE001 - mapped, re-raised or aborted below
                await observed.fail(error, context)
                raise
            finally:
                observed.done()
                request_context.deactivate(token)

        return serve

    def _stream(
        self, behaviour: Callable[..., AsyncIterator[Any]], method: str, meters: _MethodMeters
    ) -> Callable[..., AsyncIterator[Any]]:
        async def serve(request: Any, context: grpc.aio.ServicerContext) -> AsyncIterator[Any]:
            ctx = self._open_context(method, context)
            token = request_context.activate(ctx)
            observed = _Observation(meters)
            try:
                _refuse_if_expired(ctx)
                async for message in behaviour(request, context):
                    yield message
            except BaseException as error:  # noqa: BLE001
                await observed.fail(error, context)
                raise
            finally:
                observed.done()
                request_context.deactivate(token)

        return serve


def _refuse_if_expired(ctx: RequestContext) -> None:
    remaining = ctx.time_remaining()
    if remaining is not None and remaining <= 0:
        raise DeadlineExceeded("deadline exceeded before the work started")


class _MethodMeters:
    """One method's metric series, looked up once rather than on every call."""

    def __init__(self, method: str) -> None:
        self.method = method
        self.in_flight = metrics.RPC_IN_FLIGHT.labels(method)
        self.latency = metrics.RPC_LATENCY.labels(method)
        self._requests: dict[grpc.StatusCode, Any] = {}

    def requests(self, code: grpc.StatusCode) -> Any:
        counter = self._requests.get(code)
        if counter is None:
            counter = self._requests[code] = metrics.RPC_REQUESTS.labels(self.method, code.name)
        return counter


class _Observation:
    """Metrics and the log line of one call."""

    def __init__(self, meters: _MethodMeters) -> None:
        self.meters = meters
        self.method = meters.method
        self.started = time.perf_counter()
        self.code = grpc.StatusCode.OK
        meters.in_flight.inc()

    async def fail(self, error: BaseException, context: grpc.aio.ServicerContext) -> None:
        """Record the failure; abort the call with the status it maps to.

        Returns normally only for errors that must propagate as they are
        (cancellation, an abort already made); otherwise abort() raises.
        """
        if isinstance(error, asyncio.CancelledError):
            self.code = grpc.StatusCode.CANCELLED
            return
        if isinstance(error, grpc.aio.AbortError):
            self.code = context.code() or grpc.StatusCode.UNKNOWN  # type: ignore[assignment]
            return
        if isinstance(error, KeelError):
            self.code = error.code
            await context.abort_with_status(error.to_status())
        if isinstance(error, grpc.aio.AioRpcError):
            # A peer's status, details included, passes through unchanged.
            self.code = error.code()
            await context.abort_with_status(status_from_rpc_error(error))
        self.code = grpc.StatusCode.INTERNAL
        ctx = request_context.current()
        log.error("unhandled error in %s", self.method, exc_info=error)
        request_id = ctx.request_id if ctx else ""
        await context.abort_with_status(
            Internal(f"internal error (request id {request_id})").to_status()
        )

    def done(self) -> None:
        elapsed = time.perf_counter() - self.started
        meters = self.meters
        meters.in_flight.dec()
        meters.requests(self.code).inc()
        meters.latency.observe(elapsed)
        log.info(
            "rpc",
            extra={"method": self.method, "code": self.code.name, "ms": round(elapsed * 1000, 1)},
        )
