"""A typed client for the simulator's control API, for tests and benchmarks.

Example: `await SimulatorControl(session, base_url).set_faults("sim-a", status=503)`.
"""

from __future__ import annotations

from typing import Any

import aiohttp


class SimulatorControlError(RuntimeError):
    """The control API refused a call; `body` is its JSON error."""

    def __init__(self, status: int, body: Any) -> None:
        super().__init__(f"simulator control API answered {status}: {body}")
        self.status = status
        self.body = body


class SimulatorControl:
    def __init__(self, session: aiohttp.ClientSession, base_url: str) -> None:
        self._session = session
        self._base = base_url.rstrip("/") + "/_control"

    async def set_faults(self, provider: str, **faults: Any) -> dict[str, Any]:
        """Replace the provider's standing faults; returns them as now active."""
        return await self._call("PUT", f"/providers/{provider}/faults", json=faults)

    async def faults(self, provider: str) -> dict[str, Any]:
        return await self._call("GET", f"/providers/{provider}/faults")

    async def clear_faults(self, provider: str) -> None:
        await self._call("DELETE", f"/providers/{provider}/faults")

    async def stats(self, provider: str) -> dict[str, Any]:
        return await self._call("GET", f"/providers/{provider}/stats")

    async def reset_stats(self, provider: str) -> None:
        await self._call("DELETE", f"/providers/{provider}/stats")

    async def recent_requests(self, provider: str, limit: int = 200) -> list[dict[str, Any]]:
        """The provider's most recent chat requests, oldest first."""
        body = await self._call("GET", f"/providers/{provider}/requests", params={"limit": limit})
        requests: list[dict[str, Any]] = body["requests"]
        return requests

    async def providers(self) -> list[dict[str, Any]]:
        providers: list[dict[str, Any]] = (await self._call("GET", "/providers"))["providers"]
        return providers

    async def reset(self) -> None:
        """Every provider: no faults, zero stats, empty request log, full rate-limit buckets."""
        await self._call("POST", "/reset")

    async def _call(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        async with self._session.request(method, self._base + path, **kwargs) as response:
            body: dict[str, Any] = await response.json()
            if response.status >= 400:
                raise SimulatorControlError(response.status, body)
            return body
