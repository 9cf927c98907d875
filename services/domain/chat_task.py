"""The chat task: a conversation passed to inference as it is.

Chat has no prompt template or output schema of its own; it is the plain
path through the domain, and the place where chat-specific rules (a system
prompt, output checks) go when a tenant needs them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import grpc
from keel.domain.v1 import tasks_pb2, tasks_pb2_grpc
from keel.inference.v1 import inference_pb2, inference_pb2_grpc

from services.core.errors import Unavailable
from services.core.health import DependencyWatch


class ChatTask(tasks_pb2_grpc.TaskServiceServicer):
    def __init__(
        self, inference: inference_pb2_grpc.InferenceServiceStub, inference_health: DependencyWatch
    ) -> None:
        self.inference = inference
        self.inference_health = inference_health

    def _refuse_if_inference_is_down(self) -> None:
        """Chat has no non-AI fallback: when inference says no provider can
        serve, the caller gets a fast UNAVAILABLE instead of a spent deadline."""
        if self.inference_health.known and not self.inference_health.serving:
            raise Unavailable(
                "no model provider can answer now; retry shortly",
                reason="INFERENCE_NOT_SERVING",
                retry_after_s=1.0,
            )

    async def Chat(
        self, request: tasks_pb2.ChatRequest, context: grpc.aio.ServicerContext
    ) -> tasks_pb2.ChatResponse:
        self._refuse_if_inference_is_down()
        answer = await self.inference.Generate(
            _inference_request(inference_pb2.GenerateRequest, request)
        )
        return tasks_pb2.ChatResponse(
            text=answer.text,
            usage=answer.usage,
            finish_reason=answer.finish_reason,
            provenance=answer.provenance,
        )

    async def StreamChat(
        self, request: tasks_pb2.StreamChatRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[tasks_pb2.StreamChatResponse]:
        self._refuse_if_inference_is_down()
        stream = self.inference.StreamGenerate(
            _inference_request(inference_pb2.StreamGenerateRequest, request)
        )
        try:
            async for chunk in stream:
                yield tasks_pb2.StreamChatResponse(
                    text=chunk.text,
                    usage=chunk.usage if chunk.HasField("usage") else None,
                    finish_reason=chunk.finish_reason,
                    provenance=chunk.provenance if chunk.HasField("provenance") else None,
                )
        finally:
            # Our caller went away or failed: stop the provider call behind us.
            stream.cancel()


def _inference_request(
    kind: type[inference_pb2.GenerateRequest] | type[inference_pb2.StreamGenerateRequest],
    request: tasks_pb2.ChatRequest | tasks_pb2.StreamChatRequest,
) -> inference_pb2.GenerateRequest | inference_pb2.StreamGenerateRequest:
    return kind(
        messages=request.messages,
        model=request.model,
        max_tokens=request.max_tokens,
        temperature=request.temperature if request.HasField("temperature") else None,
        request_id=request.request_id,
        tenant_id=request.tenant_id,
    )
