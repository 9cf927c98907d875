"""`python -m services.core.probe HOST:PORT [SERVICE]`: exit 0 when SERVING.

A container health check for runtimes without native gRPC probes (Compose);
Kubernetes uses its built-in `grpc:` probe against the same health service.
"""

from __future__ import annotations

import sys

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc


def main(argv: list[str]) -> int:
    if not 2 <= len(argv) <= 3:
        print("usage: python -m services.core.probe HOST:PORT [SERVICE]", file=sys.stderr)
        return 2
    service = argv[2] if len(argv) == 3 else ""
    with grpc.insecure_channel(argv[1]) as channel:
        try:
            reply = health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(service=service), timeout=2
            )
        except grpc.RpcError as error:
            print(f"{argv[1]}: {error.code().name}", file=sys.stderr)
            return 1
    status = health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status)
    print(f"{argv[1]}: {status}")
    return 0 if reply.status == health_pb2.HealthCheckResponse.SERVING else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
