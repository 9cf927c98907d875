"""keel.v1.RecommendationService and CodeCompletionService.

Declared in the public API now so clients can be written against it; they
answer UNIMPLEMENTED (after authentication) until the domain serves them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import grpc
from keel.v1 import (
    code_completion_pb2,
    code_completion_pb2_grpc,
    recommendation_pb2,
    recommendation_pb2_grpc,
)

from services.core.errors import Unimplemented
from services.gateway.api_keys import ApiKeyResolver


def _not_served(method: str) -> Unimplemented:
    return Unimplemented(f"{method} is not served by this version of Keel", reason="NOT_SERVED_YET")


class RecommendationService(recommendation_pb2_grpc.RecommendationServiceServicer):
    def __init__(self, keys: ApiKeyResolver) -> None:
        self.keys = keys

    async def Recommend(
        self, request: recommendation_pb2.RecommendRequest, context: grpc.aio.ServicerContext
    ) -> recommendation_pb2.RecommendResponse:
        await self.keys.authenticate(context)
        raise _not_served("Recommend")


class CodeCompletionService(code_completion_pb2_grpc.CodeCompletionServiceServicer):
    def __init__(self, keys: ApiKeyResolver) -> None:
        self.keys = keys

    async def CompleteCode(
        self, request: code_completion_pb2.CompleteCodeRequest, context: grpc.aio.ServicerContext
    ) -> code_completion_pb2.CompleteCodeResponse:
        await self.keys.authenticate(context)
        raise _not_served("CompleteCode")

    async def StreamCompleteCode(
        self,
        request: code_completion_pb2.StreamCompleteCodeRequest,
        context: grpc.aio.ServicerContext,
    ) -> AsyncIterator[code_completion_pb2.StreamCompleteCodeResponse]:
        await self.keys.authenticate(context)
        raise _not_served("StreamCompleteCode")
        yield  # an async generator, like every streaming handler
