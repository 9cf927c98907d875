"""The one client interceptor on every outgoing call between services.

grpc.aio does not propagate deadlines: this gives each call the time the
current request has left minus a margin (never more than the call itself
asked for), refuses to start a call that cannot finish in time, and passes on
the request id, tenant and trace context.
"""

from __future__ import annotations

from typing import Any

import grpc

from services.core import request_context
from services.core.deadlines import downstream_timeout
from services.core.errors import DeadlineExceeded


class PropagatingInterceptor(
    grpc.aio.UnaryUnaryClientInterceptor, grpc.aio.UnaryStreamClientInterceptor
):
    def __init__(self, margin_s: float) -> None:
        self.margin_s = margin_s

    def _details(self, details: grpc.aio.ClientCallDetails) -> grpc.aio.ClientCallDetails:
        ctx = request_context.current()
        timeout = details.timeout
        metadata = grpc.aio.Metadata(*(tuple(details.metadata) if details.metadata else ()))
        if ctx is not None:
            timeout = downstream_timeout(ctx.time_remaining(), self.margin_s, details.timeout)
            if timeout is not None and timeout <= 0:
                method = (
                    details.method.decode() if isinstance(details.method, bytes) else details.method
                )
                raise DeadlineExceeded(
                    f"deadline exceeded: no time left to call {method}",
                    reason="DEADLINE_EXHAUSTED_BEFORE_CALL",
                )
            metadata[request_context.REQUEST_ID_HEADER] = ctx.request_id
            metadata[request_context.TRACEPARENT_HEADER] = ctx.traceparent()
            if ctx.tenant_id:
                metadata[request_context.TENANT_HEADER] = ctx.tenant_id
        return grpc.aio.ClientCallDetails(
            details.method, timeout, metadata, details.credentials, details.wait_for_ready
        )

    async def intercept_unary_unary(self, continuation: Any, details: Any, request: Any) -> Any:
        return await continuation(self._details(details), request)

    async def intercept_unary_stream(self, continuation: Any, details: Any, request: Any) -> Any:
        return await continuation(self._details(details), request)
