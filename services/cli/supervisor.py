"""`keel up`: the whole suite on one machine, as Compose or Kubernetes would run it.

Each part is its own process. The supervisor starts them in dependency order,
waits until each reports SERVING, restarts one that dies (with exponential
backoff, and says so), and on Ctrl-C or SIGTERM stops them in reverse order:
each turns NOT_SERVING, drains its in-flight calls and exits; whatever is
still running after its grace period is killed. Children die with the
supervisor (PR_SET_PDEATHSIG), so no process is orphaned.
"""

from __future__ import annotations

import asyncio
import ctypes
import json
import os
import signal
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from services.core.config import Raw, server_settings, state_dir

PARTS = ("simulator", "storage", "inference", "domain", "gateway")
RESTART_BACKOFF_S = (0.5, 30.0)
# A part up this long is healthy again: its next crash restarts it promptly.
STABLE_AFTER_S = 60.0
READY_TIMEOUT_S = 60.0


def _die_with_parent() -> None:
    PR_SET_PDEATHSIG = 1
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


@dataclass
class Part:
    name: str
    log_path: Path
    process: asyncio.subprocess.Process | None = None
    started_at: float = 0.0
    restarts: int = 0
    stopping: bool = False
    monitor: asyncio.Task[None] | None = field(default=None, repr=False)


class Supervisor:
    def __init__(
        self,
        raw: Raw,
        env: dict[str, str],
        say: Callable[[str], None],
        parts: tuple[str, ...] = PARTS,
    ) -> None:
        self.raw = raw
        self.env = env
        self.say = say
        logs = state_dir(raw) / "logs"
        logs.mkdir(exist_ok=True)
        self.parts = [Part(name, logs / f"{name}.log") for name in parts]
        self.shutting_down = False

    async def _spawn(self, part: Part) -> None:
        log = part.log_path.open("ab")
        part.process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            f"services.{part.name}",
            stdin=asyncio.subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            env=self.env,
            # Own session: a terminal's Ctrl-C reaches the supervisor only,
            # which then stops the parts in order.
            start_new_session=True,
            preexec_fn=_die_with_parent,
        )
        log.close()
        part.started_at = time.monotonic()
        self.say(f"started {part.name} (pid {part.process.pid}), log {part.log_path}")

    async def start(self) -> None:
        for part in self.parts:
            await self._spawn(part)
            await self.wait_ready(part)
            part.monitor = asyncio.create_task(self._watch(part))

    async def wait_ready(self, part: Part, timeout_s: float = READY_TIMEOUT_S) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if part.process is None or part.process.returncode is not None:
                raise RuntimeError(
                    f"{part.name} exited during start: {last_error(part.log_path)}"
                    f" (log {part.log_path})"
                )
            if await self.is_ready(part.name):
                return
            await asyncio.sleep(0.1)
        raise RuntimeError(f"{part.name} not ready after {timeout_s:.0f} s; see {part.log_path}")

    async def is_ready(self, name: str) -> bool:
        return await part_is_ready(self.raw, name)

    async def _watch(self, part: Part) -> None:
        backoff = RESTART_BACKOFF_S[0]
        while True:
            assert part.process is not None
            code = await part.process.wait()
            if part.stopping or self.shutting_down:
                return
            if time.monotonic() - part.started_at > STABLE_AFTER_S:
                backoff = RESTART_BACKOFF_S[0]
            part.restarts += 1
            self.say(
                f"{part.name} exited with code {code}; restarting in {backoff:.1f} s "
                f"(restart {part.restarts}), log {part.log_path}"
            )
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, RESTART_BACKOFF_S[1])
            if self.shutting_down:
                return
            await self._spawn(part)
            try:
                await self.wait_ready(part)
                self.say(f"{part.name} is back (SERVING)")
            except RuntimeError as error:
                self.say(str(error))

    async def stop(self) -> None:
        """Reverse order: the gateway stops taking calls before what it calls stops."""
        self.shutting_down = True
        for part in reversed(self.parts):
            part.stopping = True
            if part.monitor:
                part.monitor.cancel()
            process = part.process
            if process is None or process.returncode is not None:
                continue
            grace = float(self.raw.get(part.name, {}).get("shutdown_grace_s", 10.0)) + 5.0
            process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(process.wait(), grace)
                self.say(f"stopped {part.name}")
            except TimeoutError:
                process.kill()
                await process.wait()
                self.say(f"killed {part.name}: still running {grace:.0f} s after SIGTERM")


def last_error(log_path: Path) -> str:
    """What a part's log last said went wrong: its last error record, else its last line."""
    try:
        lines = log_path.read_text(errors="replace").splitlines()[-100:]
    except OSError:
        return "no log"
    for line in reversed(lines):
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict) and record.get("level") in ("error", "critical"):
            return " ".join(str(record[k]) for k in ("msg", "error") if k in record)[:300]
    said = [ln for ln in lines if ln.strip() and not ln.startswith((" ", "Traceback"))]
    return said[-1][:300] if said else "no output"


async def part_is_ready(raw: Raw, name: str, timeout_s: float = 1.0) -> bool:
    """SERVING by the standard health check (the simulator: its /healthz)."""
    if name == "simulator":
        section = raw["simulator"]
        url = f"http://{section['host']}:{section['port']}/healthz"
        try:
            async with (
                aiohttp.ClientSession() as session,
                session.get(url, timeout=aiohttp.ClientTimeout(total=timeout_s)) as reply,
            ):
                return reply.status == 200
        except (aiohttp.ClientError, TimeoutError):
            return False
    return await health_status(server_settings(raw, name).address, timeout_s) == "SERVING"


async def health_status(address: str, timeout_s: float = 1.0) -> str:
    """The status name a service reports for "", or the error that stopped us asking."""
    async with grpc.aio.insecure_channel(address) as channel:
        try:
            reply = await health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(service=""), timeout=timeout_s
            )
        except grpc.aio.AioRpcError as error:
            return error.code().name
        return str(health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status))


async def run_until_signal(
    supervisor: Supervisor, after_start: Callable[[], Awaitable[None]]
) -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    starting = asyncio.create_task(supervisor.start())
    stopped_early = asyncio.create_task(stop.wait())
    done, _ = await asyncio.wait({starting, stopped_early}, return_when=asyncio.FIRST_COMPLETED)
    code = 0
    if starting in done and starting.exception() is None:
        await after_start()
        await stop.wait()
    elif starting in done:
        supervisor.say(f"start failed: {starting.exception()}")
        code = 1
    else:
        starting.cancel()
        await asyncio.gather(starting, return_exceptions=True)
    supervisor.say("shutting down")
    await supervisor.stop()
    supervisor.say("all stopped")
    stopped_early.cancel()
    return code


def child_environment(raw_state_dir: Path, config_path: str | None) -> dict[str, str]:
    env = dict(os.environ)
    env["KEEL_STATE_DIR"] = str(raw_state_dir)
    if config_path:
        env["KEEL_CONFIG"] = str(Path(config_path).resolve())
    env["PYTHONUNBUFFERED"] = "1"
    return env
