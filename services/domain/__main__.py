"""`python -m services.domain`: the domain service (business logic of each task)."""

from __future__ import annotations

import asyncio

from keel.domain.v1 import tasks_pb2, tasks_pb2_grpc
from keel.inference.v1 import inference_pb2_grpc

from services.core.channels import open_channel
from services.core.config import deadline_margin_s, load_raw_config, server_settings
from services.core.health import DependencyWatch
from services.core.logging import configure_logging
from services.core.server import ServiceHost, full_name
from services.domain.chat_task import ChatTask


async def main() -> None:
    raw = load_raw_config()
    configure_logging("domain")
    settings = server_settings(raw, "domain")
    inference_channel = open_channel(
        server_settings(raw, "inference").address, deadline_margin_s(raw)
    )
    inference = inference_pb2_grpc.InferenceServiceStub(inference_channel)
    # The domain can do its job (including non-AI fallbacks) without inference,
    # so it serves regardless; it watches inference to degrade at once.
    inference_health = DependencyWatch(inference_channel, "inference")
    host = ServiceHost(
        settings,
        [
            (
                full_name(tasks_pb2, "TaskService"),
                tasks_pb2_grpc.add_TaskServiceServicer_to_server,
                ChatTask(inference, inference_health),
            )
        ],
    )

    async def started() -> None:
        inference_health.start()
        await host.health.set_serving(True)

    async def stopped() -> None:
        await inference_health.stop()
        await inference_channel.close()

    await host.run(on_started=started, on_stopped=stopped)


if __name__ == "__main__":
    asyncio.run(main())
