"""The HTTP plumbing both adapters share: one aiohttp session per provider,
sending a request and turning transport trouble into classified failures.

Why aiohttp and not the providers' SDKs: the suite already uses aiohttp on
both sides of the provider edge; the SDKs (httpx underneath) retry on their
own (twice by default), which would multiply with our retries and hide
attempts from the retry budget and the breakers; and we need what they make
awkward: closing the socket the instant a caller cancels, per-read timeouts for
the first token and between tokens, and the raw rate-limit headers.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

import aiohttp

from services.inference.providers.classify import classify_http_error
from services.inference.providers.errors import ConnectFailed, ServerError, StreamCut

# An error body is read for its message; nobody needs more than this of it.
_MAX_ERROR_BODY = 64 * 1024
# How long the end of a complete answer's body may take to follow its last
# event before the connection is closed rather than kept for the next request.
_END_OF_BODY_S = 1.0


class ProviderHttp:
    def __init__(self, connect_timeout_s: float) -> None:
        self._connect_timeout_s = connect_timeout_s
        self._session: aiohttp.ClientSession | None = None
        self._finishing: set[asyncio.Task[None]] = set()

    def session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                # Our own concurrency limit governs; aiohttp's default pool cap
                # of 100 would queue requests invisibly behind it.
                connector=aiohttp.TCPConnector(limit=0, enable_cleanup_closed=True),
                timeout=aiohttp.ClientTimeout(
                    total=None, sock_connect=self._connect_timeout_s
                ),
                raise_for_status=False,
            )
        return self._session

    async def post_stream(
        self, url: str, body: Mapping[str, Any], headers: Mapping[str, str]
    ) -> aiohttp.ClientResponse:
        """POST and return the response once its status is 2xx; otherwise raise
        the classified failure. The caller closes the response."""
        try:
            response = await self.session().post(url, json=body, headers=dict(headers))
        except (TimeoutError, aiohttp.ClientConnectorError, aiohttp.ServerDisconnectedError,
                aiohttp.ClientOSError) as error:
            raise ConnectFailed(f"cannot reach the provider: {type(error).__name__}") from None
        except aiohttp.ClientError as error:
            raise ServerError(f"provider connection failed: {type(error).__name__}") from None
        if response.status < 300:
            return response
        try:
            body_bytes = await response.content.read(_MAX_ERROR_BODY)
        except aiohttp.ClientError:
            body_bytes = b""
        finally:
            response.close()
        headers = _lower(response.headers)
        failure = classify_http_error(response.status, body_bytes, headers)
        failure.headers = headers
        raise failure

    def finish(self, response: aiohttp.ClientResponse) -> None:
        """Let go of a response whose answer is complete, keeping its connection.

        The end of the body (the chunked-encoding terminator) often arrives a
        read after the answer's last event; closing before it would cost the
        next request a new connection. So the connection returns to the pool
        once the body has ended, in the background: nobody waits for it.
        """
        if response.content.at_eof():
            response.release()
            return
        task = asyncio.get_running_loop().create_task(_release_at_end(response))
        self._finishing.add(task)
        task.add_done_callback(self._finishing.discard)

    async def close(self) -> None:
        for task in list(self._finishing):
            task.cancel()
        await asyncio.gather(*self._finishing, return_exceptions=True)
        if self._session is not None:
            await self._session.close()


async def _release_at_end(response: aiohttp.ClientResponse) -> None:
    released = False
    try:
        async with asyncio.timeout(_END_OF_BODY_S):
            while await response.content.readany():
                pass  # nothing should follow the answer; whatever does is dropped
        response.release()
        released = True
    except (TimeoutError, aiohttp.ClientError):
        pass
    finally:
        if not released:
            response.close()


def _lower(headers: Mapping[str, str]) -> dict[str, str]:
    return {k.lower(): v for k, v in headers.items()}


def response_headers(response: aiohttp.ClientResponse) -> dict[str, str]:
    return _lower(response.headers)


def cut(error: BaseException) -> StreamCut:
    return StreamCut(f"the provider's stream broke off: {type(error).__name__}")
