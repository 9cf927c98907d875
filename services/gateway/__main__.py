"""`python -m services.gateway`: the public endpoint of the suite."""

from __future__ import annotations

import asyncio

from keel.domain.v1 import tasks_pb2_grpc
from keel.storage.v1 import ledger_pb2_grpc, tenant_store_pb2_grpc
from keel.v1 import (
    admin_pb2,
    admin_pb2_grpc,
    chat_pb2,
    chat_pb2_grpc,
    code_completion_pb2,
    code_completion_pb2_grpc,
    recommendation_pb2,
    recommendation_pb2_grpc,
    usage_pb2,
    usage_pb2_grpc,
)

from services.core.channels import open_channel
from services.core.config import deadline_margin_s, load_raw_config, server_settings, state_dir
from services.core.logging import configure_logging
from services.core.outbox import Outbox
from services.core.server import ServiceHost, full_name
from services.core.server_interceptor import ServingInterceptor
from services.gateway.admin_service import AdminService
from services.gateway.admin_token import ensure_admin_token
from services.gateway.api_keys import ApiKeyResolver
from services.gateway.chat_service import ChatService
from services.gateway.interaction_recorder import InteractionRecorder
from services.gateway.task_services import CodeCompletionService, RecommendationService
from services.gateway.usage_service import UsageService


async def main() -> None:
    raw = load_raw_config()
    configure_logging("gateway")
    section = raw["gateway"]
    settings = server_settings(raw, "gateway")
    margin = deadline_margin_s(raw)
    domain_channel = open_channel(server_settings(raw, "domain").address, margin)
    storage_channel = open_channel(server_settings(raw, "storage").address, margin)

    tenants = tenant_store_pb2_grpc.TenantStoreServiceStub(storage_channel)
    ledger = ledger_pb2_grpc.LedgerServiceStub(storage_channel)
    keys = ApiKeyResolver(tenants, float(section["key_cache_ttl_s"]))
    recorder = InteractionRecorder(
        ledger, Outbox(state_dir(raw) / f"gateway-{settings.port}-outbox.db")
    )
    host = ServiceHost(
        settings,
        [
            (
                full_name(chat_pb2, "ChatService"),
                chat_pb2_grpc.add_ChatServiceServicer_to_server,
                ChatService(keys, tasks_pb2_grpc.TaskServiceStub(domain_channel), recorder),
            ),
            (
                full_name(recommendation_pb2, "RecommendationService"),
                recommendation_pb2_grpc.add_RecommendationServiceServicer_to_server,
                RecommendationService(keys),
            ),
            (
                full_name(code_completion_pb2, "CodeCompletionService"),
                code_completion_pb2_grpc.add_CodeCompletionServiceServicer_to_server,
                CodeCompletionService(keys),
            ),
            (
                full_name(usage_pb2, "UsageService"),
                usage_pb2_grpc.add_UsageServiceServicer_to_server,
                UsageService(keys, ledger, str(raw.get("currency", "USD"))),
            ),
            (
                full_name(admin_pb2, "AdminService"),
                admin_pb2_grpc.add_AdminServiceServicer_to_server,
                AdminService(ensure_admin_token(raw), tenants, keys),
            ),
        ],
        interceptor=ServingInterceptor(
            default_deadline_s=float(section["default_deadline_s"]),
            max_deadline_s=float(section["max_deadline_s"]),
        ),
    )

    async def started() -> None:
        await recorder.start()
        await host.health.set_serving(True)

    async def stopped() -> None:
        await recorder.stop()
        await domain_channel.close()
        await storage_channel.close()

    await host.run(on_started=started, on_stopped=stopped)


if __name__ == "__main__":
    asyncio.run(main())
