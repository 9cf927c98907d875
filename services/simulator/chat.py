"""`POST /<provider>/v1/chat/completions`: one request, start to finish.

The order of checks follows a real provider's: authentication, request
validation, rate limits, then whatever the model itself does (injected
errors, refusals, hangs, latency, cut connections).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid

from aiohttp import web

from services.simulator.answers import Reply, plan_reply
from services.simulator.errors import openai_error
from services.simulator.faults import FaultSpec, FaultSpecError, parse_fault_header
from services.simulator.latency import Latency, choose_latency
from services.simulator.protocol import (
    ChatRequest,
    ChatRequestError,
    ChunkFactory,
    completion_body,
    count_prompt_tokens,
    parse_chat_request,
)
from services.simulator.rate_limits import Admission, retry_after_headers
from services.simulator.request_log import RequestRecord
from services.simulator.sse import EventStream
from services.simulator.state import SIMULATOR_STATE, ProviderState, SimulatorState
from services.simulator.stats import STATUS_CLIENT_CLOSED, STATUS_NO_RESPONSE

log = logging.getLogger(__name__)

FAULTS_HEADER = "x-sim-faults"


class Exchange:
    """Bookkeeping for one chat request: its log record and the stats it moves."""

    def __init__(self, provider: ProviderState, completion_id: str) -> None:
        self.provider = provider
        self.record = RequestRecord(id=completion_id, received_at=time.time())
        provider.requests.add(self.record)
        provider.stats.requests += 1
        provider.stats.in_flight += 1
        # Sent on every answer; rate-limit headers join once they are known.
        self.headers = {"x-request-id": completion_id}

    def fail(
        self, status: int, message: str, error_type: str, code: str, *, param: str | None = None
    ) -> web.Response:
        """Answer with an OpenAI error body (and this exchange's headers)."""
        response = openai_error(
            status, message, error_type, code, param=param, headers=self.headers
        )
        self.respond(response)
        return response

    def respond(self, response: web.StreamResponse) -> web.StreamResponse:
        self.record.status = response.status
        return response

    def sent_tokens(self, count: int) -> None:
        self.record.tokens_out += count
        self.provider.stats.tokens_out += count

    def client_left(self) -> None:
        self.record.disconnected = True
        self.record.status = STATUS_CLIENT_CLOSED

    def finish(self) -> None:
        stats = self.provider.stats
        stats.in_flight -= 1
        self.record.ended_at = time.time()
        if self.record.disconnected:
            stats.client_disconnects += 1
        stats.responses_by_status[str(self.record.status)] += 1
        log.debug(
            "chat request ended",
            extra={"provider": self.provider.settings.name, "status": self.record.status},
        )


async def handle_chat_completions(request: web.Request) -> web.StreamResponse:
    state = request.app[SIMULATOR_STATE]
    name = request.match_info["provider"]
    provider = state.providers.get(name)
    if provider is None:
        return openai_error(
            404, f"Unknown provider '{name}'.", "invalid_request_error", "provider_not_found"
        )
    exchange = Exchange(provider, f"chatcmpl-{uuid.uuid4().hex}")
    try:
        return await _serve(request, state, provider, exchange)
    except asyncio.CancelledError:
        # With handler_cancellation, aiohttp cancels this task the moment the
        # client's connection drops; record it before letting it unwind.
        exchange.client_left()
        raise
    finally:
        exchange.finish()


async def _serve(
    request: web.Request, state: SimulatorState, provider: ProviderState, exchange: Exchange
) -> web.StreamResponse:
    settings = provider.settings
    if settings.api_key and _bearer_token(request) != settings.api_key:
        return exchange.fail(
            401, "Incorrect API key provided.", "invalid_request_error", "invalid_api_key"
        )
    try:
        request_faults = parse_fault_header(request.headers.get(FAULTS_HEADER))
    except FaultSpecError as exc:
        return exchange.fail(
            400,
            f"{FAULTS_HEADER}: {exc}",
            "invalid_request_error",
            "invalid_faults",
            param=exc.field,
        )
    try:
        chat = parse_chat_request(json.loads(await request.read()))
    except ChatRequestError as exc:
        return exchange.fail(
            400, str(exc), "invalid_request_error", "invalid_request", param=exc.param
        )
    except ValueError:  # undecodable bytes or JSON
        return exchange.fail(
            400, "The request body is not valid JSON.", "invalid_request_error", "invalid_json"
        )
    _describe(exchange.record, chat)
    if chat.model not in settings.models:
        return exchange.fail(
            404,
            f"The model '{chat.model}' does not exist or you do not have access to it.",
            "invalid_request_error",
            "model_not_found",
            param="model",
        )

    prompt_tokens = count_prompt_tokens(chat.messages)
    # OpenAI charges a request against TPM by its prompt plus the most it may
    # generate, before a single token exists.
    admission = provider.rate_limiter.admit(
        prompt_tokens + (chat.max_tokens or settings.max_output_tokens)
    )
    exchange.headers.update(admission.headers)
    if not admission.allowed:
        return exchange.respond(_rate_limited(admission, exchange.headers))

    faults = provider.faults.merged_with(request_faults)
    exchange.record.faults = faults.to_json()
    if faults.error_rate and state.rng.random() < faults.error_rate:
        return exchange.respond(_injected_error(faults, exchange.headers))
    if faults.refuse:
        return exchange.fail(
            400,
            "Your request was rejected as a result of our safety system.",
            "invalid_request_error",
            "content_policy_violation",
        )
    if faults.hang:
        # Accept and say nothing: only the client leaving (which cancels this
        # task) or the simulator shutting down ends it.
        await state.closing.wait()
        return exchange.fail(
            503, "The simulator is shutting down.", "server_error", "service_unavailable"
        )

    reply = plan_reply(
        chat.messages,
        seed=chat.seed,
        model=chat.model,
        min_tokens=settings.min_output_tokens,
        max_tokens=settings.max_output_tokens,
        limit=chat.max_tokens,
    )
    latency = choose_latency(settings, faults, state.rng)
    provider.stats.tokens_in += prompt_tokens
    if chat.stream:
        return await _stream(request, chat, reply, latency, faults, prompt_tokens, exchange)
    return await _complete(request, chat, reply, latency, faults, prompt_tokens, exchange)


async def _complete(
    request: web.Request,
    chat: ChatRequest,
    reply: Reply,
    latency: Latency,
    faults: FaultSpec,
    prompt_tokens: int,
    exchange: Exchange,
) -> web.StreamResponse:
    cut = faults.cut_after_tokens
    if cut is not None and cut < len(reply.tokens):
        # The provider died mid-generation: the client waits, then loses the
        # connection with nothing to show for it.
        await _sleep(latency.total_s(cut))
        exchange.record.cut = True
        _drop_connection(request)
        return exchange.respond(web.Response(status=STATUS_NO_RESPONSE))
    await _sleep(latency.total_s(len(reply.tokens)))
    body = completion_body(
        completion_id=exchange.record.id,
        model=chat.model,
        content=reply.text,
        finish_reason=reply.finish_reason,
        prompt_tokens=prompt_tokens,
        completion_tokens=len(reply.tokens),
    )
    response = web.json_response(body, headers=exchange.headers)
    exchange.sent_tokens(len(reply.tokens))
    return exchange.respond(response)


async def _stream(
    request: web.Request,
    chat: ChatRequest,
    reply: Reply,
    latency: Latency,
    faults: FaultSpec,
    prompt_tokens: int,
    exchange: Exchange,
) -> web.StreamResponse:
    response = web.StreamResponse(status=200, headers=exchange.headers)
    response.content_type = "text/event-stream"
    response.headers["Cache-Control"] = "no-cache"
    chunks = ChunkFactory(exchange.record.id, chat.model, int(time.time()), chat.include_usage)
    stats = exchange.provider.stats
    exchange.respond(response)
    await response.prepare(request)
    events = EventStream(response)
    stats.open_streams += 1
    try:
        events.add(chunks.role())
        exchange.sent_tokens(await events.pause(latency.ttft_s))
        for index, token in enumerate(reply.tokens):
            if index == faults.cut_after_tokens:
                # Abrupt: no finish chunk, no [DONE], no chunked-encoding
                # terminator; the client sees a truncated body.
                exchange.sent_tokens(await events.flush())
                exchange.record.cut = True
                _drop_connection(request)
                return response
            if index:
                exchange.sent_tokens(await events.pause(latency.token_s))
            events.add(chunks.content(token), tokens=1)
        events.add(chunks.finish(reply.finish_reason))
        if chat.include_usage:
            events.add(chunks.usage(prompt_tokens, len(reply.tokens)))
        events.add_done()
        exchange.sent_tokens(await events.flush())
    except ConnectionResetError:
        # A write found the connection gone before aiohttp cancelled us.
        # Returning (not raising) lets aiohttp treat it as the quiet
        # disconnect it is rather than log a handler error.
        exchange.client_left()
    finally:
        stats.open_streams -= 1
    return response


async def _sleep(seconds: float) -> None:
    # Zero-latency configs (tests, throughput benchmarks) skip the event-loop
    # round trip entirely.
    if seconds > 0:
        await asyncio.sleep(seconds)


def _drop_connection(request: web.Request) -> None:
    # close() (not abort()) so the tokens already written are flushed before
    # the FIN; aiohttp's own attempt to finish the response then fails on the
    # closed transport, which it treats as a client disconnect and ignores.
    transport = request.transport
    if transport is not None:
        transport.close()


def _describe(record: RequestRecord, chat: ChatRequest) -> None:
    record.model = chat.model
    record.messages = [{"role": m.role, "content": m.content} for m in chat.messages]
    record.max_tokens = chat.max_tokens
    record.stream = chat.stream


def _bearer_token(request: web.Request) -> str | None:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else None


def _rate_limited(admission: Admission, headers: dict[str, str]) -> web.Response:
    kind = admission.limited_by or "requests"
    if admission.retry_after_s is None:
        # Larger than the whole per-minute budget: waiting will never help,
        # so no Retry-After invites a retry.
        message = f"Request too large: it needs more {kind} than the per-minute limit allows."
    else:
        headers = {**headers, **retry_after_headers(admission.retry_after_s)}
        message = (
            f"Rate limit reached for {kind} per min. "
            f"Please try again in {admission.retry_after_s:.3f}s."
        )
    return openai_error(429, message, kind, "rate_limit_exceeded", headers=headers)


def _injected_error(faults: FaultSpec, headers: dict[str, str]) -> web.Response:
    status = faults.error_status
    if faults.retry_after_s is not None:
        headers = {**headers, **retry_after_headers(faults.retry_after_s)}
    # Shaped like the real provider's answer for that status, so adapters
    # classify injected errors exactly as they would real ones.
    if status == 429:
        return openai_error(
            status,
            "Rate limit reached (injected).",
            "requests",
            "rate_limit_exceeded",
            headers=headers,
        )
    if status == 401:
        return openai_error(
            status,
            "Incorrect API key provided (injected).",
            "invalid_request_error",
            "invalid_api_key",
            headers=headers,
        )
    if status >= 500:
        return openai_error(
            status,
            f"The server had an error (injected {status}).",
            "server_error",
            None,
            headers=headers,
        )
    return openai_error(
        status,
        f"Injected error {status}.",
        "invalid_request_error",
        "injected_error",
        headers=headers,
    )
