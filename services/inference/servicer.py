"""keel.inference.v1.InferenceService: requests in, the call plan, responses out."""

from __future__ import annotations

import logging
import math
from collections.abc import AsyncIterator
from contextlib import aclosing
from typing import Any, TypeAlias

import grpc
from keel.inference.v1 import inference_pb2, inference_pb2_grpc
from keel.v1 import generation_pb2

from services.core.errors import FieldViolation, InvalidArgument
from services.inference import metrics
from services.inference.call_plan import CallPlan, Generation
from services.inference.deadline import Deadline
from services.inference.policies.breaker import CLOSED, HALF_OPEN, OPEN
from services.inference.provider_health import ProviderHealth
from services.inference.providers.base import ChatTurn, ProviderRequest
from services.inference.settings import InferenceSettings

log = logging.getLogger("keel.inference")

_ROLES = ("system", "user", "assistant")
_FINISH = {
    "stop": generation_pb2.FINISH_REASON_STOP,
    "length": generation_pb2.FINISH_REASON_LENGTH,
    "content_filter": generation_pb2.FINISH_REASON_CONTENT_FILTER,
}
_BREAKER = {
    CLOSED: inference_pb2.BREAKER_STATE_CLOSED,
    OPEN: inference_pb2.BREAKER_STATE_OPEN,
    HALF_OPEN: inference_pb2.BREAKER_STATE_HALF_OPEN,
}

GenerateLike: TypeAlias = inference_pb2.GenerateRequest | inference_pb2.StreamGenerateRequest


class InferenceServicer(inference_pb2_grpc.InferenceServiceServicer):
    def __init__(self, settings: InferenceSettings, plan: CallPlan, health: ProviderHealth) -> None:
        self.settings = settings
        self.plan = plan
        self.health = health

    async def Generate(
        self, request: inference_pb2.GenerateRequest, context: grpc.aio.ServicerContext
    ) -> inference_pb2.GenerateResponse:
        gen = self._generation(request)
        parts: list[str] = []
        async with aclosing(self.plan.stream(gen)) as deltas:
            try:
                async for delta in deltas:
                    parts.append(delta)
            finally:
                self._log_end(gen)
        return inference_pb2.GenerateResponse(
            text="".join(parts),
            usage=gen.tally.to_proto(self.settings.currency),
            finish_reason=_FINISH.get(gen.finish_reason, generation_pb2.FINISH_REASON_STOP),
            provenance=self._provenance(gen),
        )

    async def StreamGenerate(
        self, request: inference_pb2.StreamGenerateRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[inference_pb2.StreamGenerateResponse]:
        gen = self._generation(request)
        # aclosing: when the caller cancels while we wait to hand it a delta,
        # the plan's finally blocks (closing the provider request) run at once.
        async with aclosing(self.plan.stream(gen)) as deltas:
            try:
                async for delta in deltas:
                    yield inference_pb2.StreamGenerateResponse(text=delta)
            finally:
                self._log_end(gen)
        yield inference_pb2.StreamGenerateResponse(
            usage=gen.tally.to_proto(self.settings.currency),
            finish_reason=_FINISH.get(gen.finish_reason, generation_pb2.FINISH_REASON_STOP),
            provenance=self._provenance(gen),
        )

    async def GetProviderStatus(
        self, request: inference_pb2.GetProviderStatusRequest, context: grpc.aio.ServicerContext
    ) -> inference_pb2.GetProviderStatusResponse:
        targets = []
        for target in self.plan.pool.targets.values():
            levels = target.provider.limits.levels()
            first = target.first_token_p50_s()
            total = target.total_p50_s()
            targets.append(
                inference_pb2.ProviderTargetStatus(
                    provider=target.ref.provider,
                    model=target.ref.model,
                    breaker_state=_BREAKER[target.breaker.state],
                    consecutive_failures=target.breaker.failures,
                    in_flight=levels.in_flight,
                    recent_latency_p50_ms=(total or 0.0) * 1000,
                    held_back_seconds=levels.held_back_s,
                    requests_available=_finite(levels.requests_available),
                    tokens_available=_finite(levels.tokens_available),
                    recent_first_token_p50_ms=(first or 0.0) * 1000,
                    concurrency_available=levels.concurrency_available,
                    reachable=target.reachable is not False,
                    breaker_open_remaining_seconds=target.breaker.open_remaining_s(),
                )
            )
            target.provider.export_levels()
        return inference_pb2.GetProviderStatusResponse(
            targets=targets, serving=self.health.any_can_serve()
        )

    # -- helpers ----------------------------------------------------------

    def _generation(self, request: GenerateLike) -> Generation:
        violations = []
        if not request.messages:
            violations.append(FieldViolation("messages", "at least one message is required"))
        for index, message in enumerate(request.messages):
            if message.role not in _ROLES:
                violations.append(
                    FieldViolation(f"messages[{index}].role", "must be system, user or assistant")
                )
            if not message.content:
                violations.append(FieldViolation(f"messages[{index}].content", "must not be empty"))
        if request.max_tokens < 0:
            violations.append(FieldViolation("max_tokens", "must not be negative"))
        name = request.model or self.settings.default_model
        model = self.settings.models.get(name)
        if model is None:
            violations.append(
                FieldViolation(
                    "model", f"unknown model {name!r}; known: {', '.join(self.settings.models)}"
                )
            )
        if request.HasField("temperature") and not 0 <= request.temperature <= 2:
            violations.append(FieldViolation("temperature", "must be between 0 and 2"))
        if violations:
            raise InvalidArgument(
                "invalid generation request: "
                + "; ".join(f"{v.field} {v.description}" for v in violations),
                reason="INVALID_GENERATION_REQUEST" if model is not None else "UNKNOWN_MODEL",
                field_violations=violations,
            )
        assert model is not None
        provider_request = ProviderRequest(
            model="",
            messages=tuple(ChatTurn(m.role, m.content) for m in request.messages),
            max_tokens=request.max_tokens or self.settings.default_max_tokens,
            temperature=request.temperature if request.HasField("temperature") else None,
            request_id=request.request_id,
        )
        return Generation(
            model=model,
            request=provider_request,
            # The caller already kept its margin when it propagated the deadline;
            # turning a provider's answer or failure into our reply takes no
            # measurable time, so the provider call may use all of it.
            deadline=Deadline.of_current_request(0.0),
        )

    def _provenance(self, gen: Generation) -> generation_pb2.Provenance:
        answered = gen.answered_by
        reason = gen.degraded_reason
        return generation_pb2.Provenance(
            source=generation_pb2.ANSWER_SOURCE_MODEL,
            provider=answered.provider if answered else "",
            model=answered.model if answered else "",
            degraded=bool(reason),
            degraded_reason=reason,
            attempts=gen.attempts,
        )

    def _log_end(self, gen: Generation) -> None:
        fields: dict[str, Any] = {
            "model": gen.model.name,
            **gen.tally.describe(),
            "answered_by": str(gen.answered_by or ""),
        }
        if gen.done:
            log.info("generation done", extra=fields)
            return
        # Cancelled or failed: the caller never gets the final message, so the
        # tokens the providers produced are recorded here (and in metrics).
        for attempt in gen.tally.attempts:
            metrics.UNDELIVERED_TOKENS.labels(attempt.target.provider, attempt.target.model).inc(
                attempt.output_tokens
            )
        log.warning(
            "generation ended without an answer",
            extra={**fields, "delivered_chars": len(gen.sent_text)},
        )


def _finite(value: float) -> float:
    return -1.0 if math.isinf(value) else value
