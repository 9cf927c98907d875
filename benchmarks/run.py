"""`make bench`: what the suite costs over a direct provider call, and what it sustains.

Starts the whole suite (as `keel up` does) on free loopback ports with a
zero-latency simulator, then measures, sequentially and with concurrency:
  - p50/p90/p99 latency of a unary Generate through gateway -> domain ->
    inference -> simulator, next to the same request sent straight to the
    simulator over HTTP (keep-alive);
  - throughput of unary Generate with N concurrent clients;
  - streaming: time to first token and tokens per second through the suite.
Prints the figures and writes them to benchmarks/results/latest.json.
Bounded: a fixed count of requests, loopback only.
"""

from __future__ import annotations

import argparse
import http.client
import json
import platform
import statistics
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from keel.v1 import chat_pb2, chat_pb2_grpc, generation_pb2

from tests.e2e.suite import Suite, start_suite

RESULTS = Path(__file__).parent / "results" / "latest.json"
PROMPT = "Summarise the benefits of circuit breakers in two sentences."


def percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)

    def at(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000, 2)

    return {
        "p50_ms": at(0.50),
        "p90_ms": at(0.90),
        "p99_ms": at(0.99),
        "mean_ms": round(statistics.fmean(ordered) * 1000, 2),
        "n": len(ordered),
    }


def suite_unary(suite: Suite, count: int, max_tokens: int) -> list[float]:
    stub = chat_pb2_grpc.ChatServiceStub(suite.channel())
    request = chat_pb2.GenerateRequest(
        messages=[generation_pb2.Message(role="user", content=PROMPT)], max_tokens=max_tokens
    )
    samples = []
    for _ in range(count):
        started = time.perf_counter()
        stub.Generate(request, metadata=suite.auth(), timeout=10)
        samples.append(time.perf_counter() - started)
    return samples


def direct_unary(suite: Suite, count: int, max_tokens: int) -> list[float]:
    port = suite.raw["simulator"]["port"]
    body = json.dumps(
        {
            "model": "sim-small",
            "max_tokens": max_tokens,
            "messages": [{"role": "user", "content": PROMPT}],
        }
    )
    connection = http.client.HTTPConnection("127.0.0.1", port)
    samples = []
    for _ in range(count):
        started = time.perf_counter()
        connection.request(
            "POST", "/sim-a/v1/chat/completions", body, {"content-type": "application/json"}
        )
        reply = connection.getresponse()
        reply.read()
        samples.append(time.perf_counter() - started)
        assert reply.status == 200
    connection.close()
    return samples


def throughput(suite: Suite, clients: int, per_client: int, max_tokens: int) -> dict[str, float]:
    errors: list[str] = []

    def client() -> None:
        stub = chat_pb2_grpc.ChatServiceStub(suite.channel())
        request = chat_pb2.GenerateRequest(
            messages=[generation_pb2.Message(role="user", content=PROMPT)], max_tokens=max_tokens
        )
        for _ in range(per_client):
            try:
                stub.Generate(request, metadata=suite.auth(), timeout=30)
            except Exception as error:  # noqa: BLE001 - counted and reported
                errors.append(type(error).__name__)

    threads = [threading.Thread(target=client) for _ in range(clients)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    total = clients * per_client
    return {
        "clients": clients,
        "requests": total,
        "errors": len(errors),
        "seconds": round(elapsed, 2),
        "requests_per_s": round((total - len(errors)) / elapsed, 1),
    }


def streaming(suite: Suite, count: int) -> dict[str, float]:
    stub = chat_pb2_grpc.ChatServiceStub(suite.channel())
    request = chat_pb2.StreamGenerateRequest(
        messages=[generation_pb2.Message(role="user", content=PROMPT)], max_tokens=256
    )
    ttfts, rates = [], []
    for _ in range(count):
        started = time.perf_counter()
        first = None
        tokens = 0
        for message in stub.StreamGenerate(request, metadata=suite.auth(), timeout=30):
            if message.text:
                tokens += 1
                first = first or time.perf_counter() - started
        elapsed = time.perf_counter() - started
        ttfts.append(first or elapsed)
        rates.append(tokens / elapsed)
    return {"ttft": percentiles(ttfts), "tokens_per_s_p50": round(statistics.median(rates), 1)}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--count", type=int, default=500, help="sequential requests per measurement"
    )
    parser.add_argument("--max-tokens", type=int, default=16)
    parser.add_argument("--clients", type=int, default=16)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        suite = start_suite(Path(folder))
        try:
            suite_unary(suite, 50, args.max_tokens)  # warm up connections and caches
            direct_unary(suite, 50, args.max_tokens)
            results: dict[str, Any] = {
                "machine": f"{platform.machine()}, {__import__('os').cpu_count()} cores, "
                f"Python {platform.python_version()}",
                "when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
                "max_tokens": args.max_tokens,
                "direct_http_unary": percentiles(direct_unary(suite, args.count, args.max_tokens)),
                "suite_unary": percentiles(suite_unary(suite, args.count, args.max_tokens)),
                "suite_throughput": throughput(
                    suite, args.clients, max(1, args.count // args.clients * 2), args.max_tokens
                ),
                "suite_streaming": streaming(suite, 50),
            }
            results["suite_overhead_p50_ms"] = round(
                results["suite_unary"]["p50_ms"] - results["direct_http_unary"]["p50_ms"], 2
            )
        finally:
            suite.stop()
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
