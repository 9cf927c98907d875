"""keel.v1.ChatService: the public chat endpoint.

Authenticate, validate, pass the conversation to the domain, answer, and
record the interaction. Deadlines, request ids and error mapping are the
shared interceptors' work, not this file's.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import grpc
from keel.domain.v1 import tasks_pb2, tasks_pb2_grpc
from keel.storage.v1 import ledger_pb2
from keel.v1 import chat_pb2, chat_pb2_grpc

from services.core import request_context
from services.gateway.api_keys import ApiKeyResolver, Caller
from services.gateway.interaction_recorder import InteractionRecorder, finish, new_interaction
from services.gateway.validation import check_chat

TASK = "chat"


class ChatService(chat_pb2_grpc.ChatServiceServicer):
    def __init__(
        self,
        keys: ApiKeyResolver,
        tasks: tasks_pb2_grpc.TaskServiceStub,
        recorder: InteractionRecorder,
    ) -> None:
        self.keys = keys
        self.tasks = tasks
        self.recorder = recorder
        # Records of cancelled calls are written by tasks of their own, which
        # the cancellation does not reach; kept here so they are not collected.
        self._background: set[asyncio.Task[None]] = set()

    async def _admit(self, request: object, context: grpc.aio.ServicerContext) -> Caller:
        caller = await self.keys.authenticate(context)
        ctx = request_context.current()
        if ctx is not None:
            ctx.tenant_id = caller.tenant.tenant_id
            if request.request_id:  # type: ignore[attr-defined]
                ctx.request_id = request.request_id  # type: ignore[attr-defined]
        check_chat(request)
        return caller

    def _interaction(
        self, caller: Caller, request: object, started: float
    ) -> ledger_pb2.Interaction:
        ctx = request_context.current()
        return new_interaction(
            tenant_id=caller.tenant.tenant_id,
            request_id=ctx.request_id if ctx else "",
            task=TASK,
            request=request,
            requested_model=request.model,  # type: ignore[attr-defined]
            started_wall=time.time(),
            started_monotonic=started,
        )

    async def _record(
        self,
        interaction: ledger_pb2.Interaction,
        started: float,
        *,
        text: str = "",
        summary: tasks_pb2.ChatResponse | tasks_pb2.StreamChatResponse | None = None,
        code: grpc.StatusCode = grpc.StatusCode.OK,
    ) -> None:
        await self.recorder.record(
            finish(
                interaction,
                text=text,
                usage=summary.usage if summary else None,
                finish_reason=summary.finish_reason if summary else 0,
                provenance=summary.provenance if summary else None,
                status_code=code.value[0],
                started_monotonic=started,
            )
        )

    async def Generate(
        self, request: chat_pb2.GenerateRequest, context: grpc.aio.ServicerContext
    ) -> chat_pb2.GenerateResponse:
        started = time.monotonic()
        caller = await self._admit(request, context)
        interaction = self._interaction(caller, request, started)
        request_id = interaction.request_id
        try:
            answer = await self.tasks.Chat(
                _chat_request(tasks_pb2.ChatRequest, request, interaction)
            )
        except grpc.aio.AioRpcError as error:
            await self._record(interaction, started, code=error.code())
            raise
        await self._record(interaction, started, text=answer.text, summary=answer)
        return chat_pb2.GenerateResponse(
            text=answer.text,
            usage=answer.usage,
            finish_reason=answer.finish_reason,
            provenance=answer.provenance,
            request_id=request_id,
        )

    async def StreamGenerate(
        self, request: chat_pb2.StreamGenerateRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[chat_pb2.StreamGenerateResponse]:
        started = time.monotonic()
        caller = await self._admit(request, context)
        interaction = self._interaction(caller, request, started)
        request_id = interaction.request_id
        parts: list[str] = []
        stream = self.tasks.StreamChat(
            _chat_request(tasks_pb2.StreamChatRequest, request, interaction)
        )
        try:
            async for chunk in stream:
                if chunk.HasField("usage"):
                    # The summary: record before the client can see the end.
                    await self._record(interaction, started, text="".join(parts), summary=chunk)
                    yield chat_pb2.StreamGenerateResponse(
                        usage=chunk.usage,
                        finish_reason=chunk.finish_reason,
                        provenance=chunk.provenance,
                        request_id=request_id,
                    )
                elif chunk.text:
                    parts.append(chunk.text)
                    yield chat_pb2.StreamGenerateResponse(text=chunk.text, request_id=request_id)
        except grpc.aio.AioRpcError as error:
            await self._record(interaction, started, text="".join(parts), code=error.code())
            raise
        except asyncio.CancelledError:
            # The client went away: what it was sent is still recorded, with
            # the delta count as the estimate of generated tokens.
            interaction = finish(
                interaction, text="".join(parts), usage=None, finish_reason=0, provenance=None,
                status_code=grpc.StatusCode.CANCELLED.value[0], started_monotonic=started,
            )  # fmt: skip
            interaction.usage.output_tokens = len(parts)
            task = asyncio.get_running_loop().create_task(self.recorder.record(interaction))
            self._background.add(task)
            task.add_done_callback(self._background.discard)
            raise
        finally:
            stream.cancel()


def _chat_request(kind: type, request: object, interaction: ledger_pb2.Interaction) -> object:
    return kind(
        messages=request.messages,  # type: ignore[attr-defined]
        model=request.model,  # type: ignore[attr-defined]
        max_tokens=request.max_tokens,  # type: ignore[attr-defined]
        temperature=request.temperature if request.HasField("temperature") else None,  # type: ignore[attr-defined]
        request_id=interaction.request_id,
        tenant_id=interaction.tenant_id,
    )
