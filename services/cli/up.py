"""`keel up`: start the whole suite and hand the user a working API key."""

from __future__ import annotations

import grpc
from keel.v1 import admin_pb2, admin_pb2_grpc

from services.cli.connection import admin_metadata, gateway_address, save_api_key
from services.cli.supervisor import Supervisor, child_environment, run_until_signal
from services.core.config import Raw, server_settings, state_dir
from services.gateway.admin_token import ensure_admin_token

LOCAL_TENANT = "local"


def say(line: str) -> None:
    print(f"keel: {line}", flush=True)


async def create_local_key(raw: Raw) -> str:
    """Ensure the `local` tenant exists and make it a new key for this run."""
    async with grpc.aio.insecure_channel(gateway_address(raw)) as channel:
        admin = admin_pb2_grpc.AdminServiceStub(channel)
        metadata = admin_metadata(raw)
        try:
            await admin.CreateTenant(
                admin_pb2.CreateTenantRequest(
                    tenant_id=LOCAL_TENANT, display_name="Local development"
                ),
                metadata=metadata,
                timeout=10,
            )
        except grpc.aio.AioRpcError as error:
            if error.code() != grpc.StatusCode.ALREADY_EXISTS:
                raise
        reply = await admin.CreateApiKey(
            admin_pb2.CreateApiKeyRequest(tenant_id=LOCAL_TENANT, display_name="keel up"),
            metadata=metadata,
            timeout=10,
        )
        return reply.secret


async def up(raw: Raw, config_path: str | None) -> int:
    folder = state_dir(raw)
    # Made before the gateway starts, so the gateway and this process agree.
    ensure_admin_token(raw)
    supervisor = Supervisor(raw, child_environment(folder, config_path), say)

    async def ready() -> None:
        secret = await create_local_key(raw)
        path = save_api_key(raw, secret)
        sim = raw["simulator"]
        print("", flush=True)
        say("all services SERVING")
        for name in ("gateway", "domain", "inference", "storage"):
            s = server_settings(raw, name)
            metrics = (
                f", metrics http://{s.host}:{s.metrics_port}/metrics" if s.metrics_port else ""
            )
            print(f"  {name:<10} {s.address}{metrics}", flush=True)
        print(
            f"  {'simulator':<10} http://{sim['host']}:{sim['port']} (OpenAI protocol)", flush=True
        )
        print(f"  state      {folder}", flush=True)
        print(f"API key: {secret}", flush=True)
        print(f'  (saved to {path}; `keel chat "hello"` uses it)', flush=True)
        print("Press Ctrl-C to stop.", flush=True)

    return await run_until_signal(supervisor, ready)
