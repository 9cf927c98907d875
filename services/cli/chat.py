"""`keel chat "..."`: stream an answer to the terminal, then its usage and cost."""

from __future__ import annotations

import sys
import time

import grpc
from keel.v1 import chat_pb2, chat_pb2_grpc, generation_pb2

from services.cli.connection import api_key, bearer, describe_error, gateway_address
from services.core.config import Raw


def format_summary(
    last: chat_pb2.StreamGenerateResponse, elapsed_s: float, ttft_s: float | None
) -> str:
    usage, origin = last.usage, last.provenance
    source = generation_pb2.AnswerSource.Name(origin.source).removeprefix("ANSWER_SOURCE_").lower()
    where = f"{origin.model} via {origin.provider}" if origin.provider else source
    finish = (
        generation_pb2.FinishReason.Name(last.finish_reason).removeprefix("FINISH_REASON_").lower()
    )
    cost = usage.cost_micros / 1_000_000
    parts = [
        where,
        f"{usage.input_tokens} in / {usage.output_tokens} out tokens",
        f"cost {cost:.6f} {usage.currency or 'USD'}",
        f"finish {finish}",
        f"{elapsed_s:.2f} s"
        + (f" (first token {ttft_s * 1000:.0f} ms)" if ttft_s is not None else ""),
    ]
    if origin.attempts > 1:
        parts.append(f"{origin.attempts} attempts")
    if origin.degraded:
        parts.append(f"degraded: {origin.degraded_reason or 'yes'}")
    return " · ".join(parts)


async def chat(
    raw: Raw, prompt: str, *, model: str, max_tokens: int, timeout_s: float, address: str | None
) -> int:
    request = chat_pb2.StreamGenerateRequest(
        messages=[generation_pb2.Message(role="user", content=prompt)],
        model=model,
        max_tokens=max_tokens,
    )
    started = time.monotonic()
    first: float | None = None
    last = None
    async with grpc.aio.insecure_channel(gateway_address(raw, address)) as channel:
        stub = chat_pb2_grpc.ChatServiceStub(channel)
        try:
            async for message in stub.StreamGenerate(
                request, metadata=bearer(api_key(raw)), timeout=timeout_s
            ):
                if message.text:
                    if first is None:
                        first = time.monotonic() - started
                    sys.stdout.write(message.text)
                    sys.stdout.flush()
                if message.HasField("usage"):
                    last = message
        except grpc.aio.AioRpcError as error:
            print(f"\nerror: {describe_error(error)}", file=sys.stderr)
            return 1
    print()
    if last is not None:
        print(f"— {format_summary(last, time.monotonic() - started, first)}")
    return 0
