"""`keel admin ...`: tenants and API keys, with the operator's admin token."""

from __future__ import annotations

import argparse
import sys

import grpc
from keel.v1 import admin_pb2, admin_pb2_grpc

from services.cli.connection import admin_metadata, describe_error, gateway_address
from services.core.config import Raw


def add_arguments(parser: argparse.ArgumentParser) -> None:
    verbs = parser.add_subparsers(dest="verb", required=True)
    tenant = verbs.add_parser("create-tenant", help="create a tenant")
    tenant.add_argument("tenant_id")
    tenant.add_argument("--name", default="")
    tenant.add_argument("--rpm", type=int, default=0, help="requests per minute (0 = unlimited)")
    tenant.add_argument("--tpm", type=int, default=0, help="tokens per minute (0 = unlimited)")
    tenant.add_argument("--concurrency", type=int, default=0)
    key = verbs.add_parser("create-key", help="create an API key (printed once)")
    key.add_argument("tenant_id")
    key.add_argument("--name", default="")
    verbs.add_parser("list-tenants", help="list tenants")
    keys = verbs.add_parser("list-keys", help="list a tenant's keys")
    keys.add_argument("tenant_id")
    revoke = verbs.add_parser("revoke-key", help="revoke an API key")
    revoke.add_argument("tenant_id")
    revoke.add_argument("key_id")


async def admin(raw: Raw, args: argparse.Namespace) -> int:
    async with grpc.aio.insecure_channel(gateway_address(raw, args.address)) as channel:
        stub = admin_pb2_grpc.AdminServiceStub(channel)
        md = admin_metadata(raw)
        try:
            if args.verb == "create-tenant":
                quota = admin_pb2.Quota(
                    requests_per_minute=args.rpm,
                    tokens_per_minute=args.tpm,
                    max_concurrent_requests=args.concurrency,
                )
                reply = await stub.CreateTenant(
                    admin_pb2.CreateTenantRequest(
                        tenant_id=args.tenant_id, display_name=args.name, quota=quota
                    ),
                    metadata=md,
                    timeout=10,
                )
                print(f"created tenant {reply.tenant.tenant_id}")
            elif args.verb == "create-key":
                reply = await stub.CreateApiKey(
                    admin_pb2.CreateApiKeyRequest(tenant_id=args.tenant_id, display_name=args.name),
                    metadata=md,
                    timeout=10,
                )
                print(f"key id: {reply.api_key.key_id}")
                print(f"API key: {reply.secret}")
                print("(shown once: store it now)")
            elif args.verb == "list-tenants":
                token = ""
                while True:
                    page = await stub.ListTenants(
                        admin_pb2.ListTenantsRequest(page_token=token), metadata=md, timeout=10
                    )
                    for t in page.tenants:
                        print(f"{t.tenant_id:<24} {t.display_name}")
                    token = page.next_page_token
                    if not token:
                        break
            elif args.verb == "list-keys":
                page = await stub.ListApiKeys(
                    admin_pb2.ListApiKeysRequest(tenant_id=args.tenant_id), metadata=md, timeout=10
                )
                for k in page.api_keys:
                    state = "revoked" if k.HasField("revoke_time") else "active"
                    print(f"{k.key_id:<28} {k.key_prefix}…  {state:<8} {k.display_name}")
            elif args.verb == "revoke-key":
                await stub.RevokeApiKey(
                    admin_pb2.RevokeApiKeyRequest(tenant_id=args.tenant_id, key_id=args.key_id),
                    metadata=md,
                    timeout=10,
                )
                print(f"revoked {args.key_id}")
        except grpc.aio.AioRpcError as error:
            print(f"error: {describe_error(error)}", file=sys.stderr)
            return 1
    return 0
