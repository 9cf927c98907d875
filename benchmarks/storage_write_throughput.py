"""Usage rows written per second through storage's gRPC API, per backend.

Starts the real storage process (`python -m services.storage`) on a free
loopback port for each backend, sends RecordInteraction calls from several
client processes with many calls in flight each, checks that the database
counted exactly what was sent, and prints rows per second.

    .venv/bin/python benchmarks/storage_write_throughput.py
    .venv/bin/python benchmarks/storage_write_throughput.py \
        --postgres-dsn postgresql://postgres@127.0.0.1:5432/test

PostgreSQL runs in a temporary schema, dropped afterwards. Without a DSN
(flag or KEEL_TEST_POSTGRES_DSN), only SQLite is measured.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import platform
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
for path in (ROOT, ROOT / "gen"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

import grpc  # noqa: E402
from keel.storage.v1 import ledger_pb2, ledger_pb2_grpc  # noqa: E402
from keel.v1 import generation_pb2  # noqa: E402

from services.core.health import wait_until_serving  # noqa: E402


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_storage(
    folder: Path, dsn: str, extra: dict[str, str]
) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    config = folder / "keel.toml"
    config.write_text(f'state_dir = "{folder}"\n[storage]\nport = {port}\nmetrics_port = 0\n')
    env = {k: v for k, v in os.environ.items() if not k.startswith("KEEL_")}
    env |= {
        "KEEL_CONFIG": str(config),
        "KEEL_STORAGE__DSN": dsn,
        "KEEL_LOG_LEVEL": "WARNING",
        "PYTHONPATH": f"{ROOT}{os.pathsep}{ROOT / 'gen'}",
        **extra,
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "services.storage"],
        cwd=ROOT,
        env=env,
        stderr=open(folder / "storage.log", "wb"),  # noqa: SIM115
    )
    return proc, f"127.0.0.1:{port}"


async def wait_serving(address: str, within_s: float = 20) -> None:
    if not await wait_until_serving(address, within_s):
        raise SystemExit(f"storage at {address} not SERVING within {within_s} s")


def row(tenant: str, n: int) -> ledger_pb2.RecordInteractionRequest:
    return ledger_pb2.RecordInteractionRequest(
        interaction=ledger_pb2.Interaction(
            tenant_id=tenant,
            interaction_id=f"int-{n}",
            request_id=f"req-{n}",
            task="chat",
            requested_model="sim-small",
            request_json='{"messages":[{"role":"user","content":"Tell me about breakers"}]}',
            response_text="A circuit breaker stops calling a failing dependency. " * 4,
            finish_reason=generation_pb2.FINISH_REASON_STOP,
            provenance=generation_pb2.Provenance(
                source=generation_pb2.ANSWER_SOURCE_MODEL,
                provider="sim-a",
                model="sim-small",
                attempts=1,
            ),
            usage=generation_pb2.Usage(
                input_tokens=12, output_tokens=48, cost_micros=31, currency="USD"
            ),
            latency_ms=250,
        )
    )


async def _send(address: str, tenant: str, first: int, count: int, concurrency: int) -> None:
    async with grpc.aio.insecure_channel(address) as channel:
        ledger = ledger_pb2_grpc.LedgerServiceStub(channel)
        numbers = iter(range(first, first + count))

        async def worker() -> None:
            for n in numbers:
                await ledger.RecordInteraction(row(tenant, n), timeout=30)

        await asyncio.gather(*(worker() for _ in range(concurrency)))


def client(args: tuple[str, str, int, int, int]) -> None:
    asyncio.run(_send(*args))


def measure(address: str, rows: int, clients: int, concurrency: int) -> float:
    """Rows per second for `rows` writes from `clients` processes."""
    tenant = f"bench-{secrets.token_hex(4)}"
    share = rows // clients
    jobs = [(address, tenant, i * share, share, concurrency) for i in range(clients)]
    with multiprocessing.get_context("spawn").Pool(clients) as pool:
        # Warm the pool's interpreters before timing.
        pool.map(client, [(address, f"{tenant}-warm", i * 50, 50, 8) for i in range(clients)])
        started = time.perf_counter()
        pool.map(client, jobs)
        elapsed = time.perf_counter() - started

    async def count() -> int:
        async with grpc.aio.insecure_channel(address) as channel:
            usage = await ledger_pb2_grpc.LedgerServiceStub(channel).GetUsage(
                ledger_pb2.GetUsageRequest(tenant_id=tenant)
            )
            return int(usage.request_count)

    stored = asyncio.run(count())
    if stored != share * clients:
        raise SystemExit(f"stored {stored} rows, sent {share * clients}")
    return share * clients / elapsed


async def measure_database_only(dsn: str, folder: Path, rows: int, synchronous: str) -> float:
    """Rows per second into the database through storage's write batcher,
    in this process, without gRPC: the headroom behind the API."""
    from services.storage.backends import open_database
    from services.storage.batcher import WriteBatcher
    from services.storage.migrations import migrate
    from services.storage.tables.interactions import Interactions

    db = open_database(dsn, folder, {"sqlite_synchronous": synchronous})
    await db.open()
    try:
        await migrate(db)
        batcher = WriteBatcher("bench", Interactions(db).record)
        tenant = f"bench-db-{secrets.token_hex(4)}"
        requests = [row(tenant, n).interaction for n in range(rows)]
        numbers = iter(range(rows))

        async def writer() -> None:
            for n in numbers:
                await batcher.submit(requests[n])

        started = time.perf_counter()
        await asyncio.gather(*(writer() for _ in range(512)))
        return rows / (time.perf_counter() - started)
    finally:
        await db.close()


def run_backend(
    label: str, dsn: str, args: argparse.Namespace, synchronous: str = "FULL"
) -> dict[str, object]:
    extra = {"KEEL_STORAGE__SQLITE_SYNCHRONOUS": synchronous}
    with tempfile.TemporaryDirectory(prefix="keel-bench-") as tmp:
        proc, address = start_storage(Path(tmp), dsn, extra)
        try:
            asyncio.run(wait_serving(address))
            rate = measure(address, args.rows, args.clients, args.concurrency)
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=30)
        db_dsn = dsn if dsn.startswith("postgres") else f"sqlite:///{Path(tmp) / 'direct.db'}"
        db_rate = asyncio.run(measure_database_only(db_dsn, Path(tmp), args.rows, synchronous))
    print(f"{label:<28} {rate:>8,.0f} rows/s via gRPC  {db_rate:>8,.0f} rows/s database only")
    return {
        "backend": label,
        "rows": args.rows,
        "grpc_rows_per_s": round(rate),
        "database_only_rows_per_s": round(db_rate),
    }


async def _schema(dsn: str, statement: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--clients", type=int, default=2, help="client processes")
    parser.add_argument("--concurrency", type=int, default=64, help="calls in flight per client")
    parser.add_argument("--postgres-dsn", default=os.environ.get("KEEL_TEST_POSTGRES_DSN", ""))
    parser.add_argument("--out", help="also write the figures to this JSON file")
    args = parser.parse_args()

    print(
        f"RecordInteraction through gRPC: {args.rows:,} rows, {args.clients} client processes"
        f" x {args.concurrency} in flight; {platform.python_version()}, {os.cpu_count()} CPUs"
    )
    results = []
    for sync in ("FULL", "NORMAL"):
        results.append(
            run_backend(
                f"sqlite (synchronous={sync})", f"sqlite:///bench-{sync.lower()}.db", args, sync
            )
        )
    if args.postgres_dsn:
        schema = f"keel_bench_{secrets.token_hex(4)}"
        asyncio.run(_schema(args.postgres_dsn, f"CREATE SCHEMA {schema}"))
        try:
            parts = urlsplit(args.postgres_dsn)
            query = urlencode([*parse_qsl(parts.query), ("search_path", schema)])
            results.append(run_backend("postgresql", urlunsplit(parts._replace(query=query)), args))
        finally:
            asyncio.run(_schema(args.postgres_dsn, f"DROP SCHEMA {schema} CASCADE"))
    else:
        print("postgresql: skipped (no --postgres-dsn and KEEL_TEST_POSTGRES_DSN unset)")
    if args.out:
        Path(args.out).write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
