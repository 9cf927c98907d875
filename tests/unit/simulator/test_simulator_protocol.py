"""The simulator speaks OpenAI chat completions, with deterministic answers."""

from __future__ import annotations

from services.simulator.tokens import count_tokens

from .conftest import USER_HELLO, Simulator, content_deltas


async def test_models_endpoint_lists_the_providers_models(sim: Simulator) -> None:
    async with sim.session.get(sim.url("sim-b", "models")) as resp:
        body = await resp.json()
    assert resp.status == 200
    assert body["object"] == "list"
    assert [(m["id"], m["object"], m["owned_by"]) for m in body["data"]] == [
        ("sim-small", "model", "sim-b"),
        ("sim-large", "model", "sim-b"),
    ]


async def test_non_stream_response_has_the_openai_shape(sim: Simulator) -> None:
    resp, body = await sim.chat(model="sim-large")
    assert resp.status == 200
    assert body["object"] == "chat.completion"
    assert body["id"].startswith("chatcmpl-")
    assert body["model"] == "sim-large"
    assert isinstance(body["created"], int)
    (choice,) = body["choices"]
    assert choice["index"] == 0
    assert choice["message"]["role"] == "assistant"
    assert choice["finish_reason"] == "stop"
    content = choice["message"]["content"]
    assert 30 <= count_tokens(content) <= 90
    assert content.endswith(".")


async def test_usage_counts_prompt_tokens_plus_three_per_message(sim: Simulator) -> None:
    messages = [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Hello, world!"},
    ]
    _, body = await sim.chat(messages=messages)
    content = body["choices"][0]["message"]["content"]
    # "Be brief." = 3 tokens, "Hello, world!" = 4 tokens, plus 3 per message.
    assert body["usage"] == {
        "prompt_tokens": 3 + 4 + 2 * 3,
        "completion_tokens": count_tokens(content),
        "total_tokens": 13 + count_tokens(content),
    }


async def test_same_request_gets_the_same_answer(sim: Simulator) -> None:
    _, first = await sim.chat(seed=42)
    _, second = await sim.chat(seed=42)
    assert first["choices"][0]["message"] == second["choices"][0]["message"]


async def test_seed_model_and_messages_each_change_the_answer(sim: Simulator) -> None:
    async def answer(**body: object) -> str:
        _, reply = await sim.chat(**body)
        return reply["choices"][0]["message"]["content"]

    base = await answer(seed=1)
    assert await answer(seed=2) != base
    assert await answer(seed=1, model="sim-large") != base
    assert await answer(seed=1, messages=[{"role": "user", "content": "Other."}]) != base


async def test_every_provider_gives_the_same_answer(sim: Simulator) -> None:
    _, from_a = await sim.chat("sim-a", seed=7)
    _, from_b = await sim.chat("sim-b", seed=7)
    assert from_a["choices"][0]["message"]["content"] == from_b["choices"][0]["message"]["content"]


async def test_stream_deltas_concatenate_to_the_non_stream_text(sim: Simulator) -> None:
    _, complete = await sim.chat(seed=3)
    resp, events = await sim.stream(seed=3)
    assert resp.status == 200
    assert resp.content_type == "text/event-stream"
    deltas = content_deltas(events)
    assert "".join(deltas) == complete["choices"][0]["message"]["content"]
    assert len(deltas) == complete["usage"]["completion_tokens"]


async def test_stream_opens_with_role_and_ends_with_finish_reason_and_done(
    sim: Simulator,
) -> None:
    _, events = await sim.stream()
    assert all(e["object"] == "chat.completion.chunk" for e in events[:-1])
    assert len({e["id"] for e in events[:-1]}) == 1
    assert events[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    assert events[-2]["choices"][0] == {"index": 0, "delta": {}, "finish_reason": "stop"}
    assert events[-1] == "[DONE]"
    assert not any("usage" in e for e in events[:-1])


async def test_stream_sends_a_usage_chunk_when_asked(sim: Simulator) -> None:
    _, complete = await sim.chat()
    _, events = await sim.stream(stream_options={"include_usage": True})
    usage_chunk = events[-2]
    assert usage_chunk["choices"] == []
    assert usage_chunk["usage"] == complete["usage"]
    assert events[-3]["choices"][0]["finish_reason"] == "stop"
    assert all(e["usage"] is None for e in events[:-2])


async def test_max_tokens_truncates_with_finish_reason_length(sim: Simulator) -> None:
    _, full = await sim.chat()
    _, capped = await sim.chat(max_tokens=5)
    text = capped["choices"][0]["message"]["content"]
    assert capped["choices"][0]["finish_reason"] == "length"
    assert capped["usage"]["completion_tokens"] == 5
    assert count_tokens(text) == 5
    assert full["choices"][0]["message"]["content"].startswith(text)


async def test_max_completion_tokens_is_honoured_in_streams(sim: Simulator) -> None:
    _, events = await sim.stream(max_completion_tokens=4)
    assert len(content_deltas(events)) == 4
    assert events[-2]["choices"][0]["finish_reason"] == "length"


async def test_continuation_returns_exactly_the_rest_of_the_answer(sim: Simulator) -> None:
    _, full = await sim.chat(seed=11)
    answer = full["choices"][0]["message"]["content"]
    _, first_part = await sim.chat(seed=11, max_tokens=7)
    prefill = first_part["choices"][0]["message"]["content"]

    messages = [*USER_HELLO, {"role": "assistant", "content": prefill}]
    _, rest = await sim.chat("sim-b", seed=11, messages=messages)

    continuation = rest["choices"][0]["message"]["content"]
    assert prefill + continuation == answer
    assert rest["usage"]["completion_tokens"] == full["usage"]["completion_tokens"] - 7
    assert rest["choices"][0]["finish_reason"] == "stop"


async def test_continuation_from_inside_a_word_completes_that_word(sim: Simulator) -> None:
    _, full = await sim.chat()
    answer = full["choices"][0]["message"]["content"]
    prefill = answer[: answer.index(" ", 10) + 3]  # ends two letters into a word
    _, events = await sim.stream(messages=[*USER_HELLO, {"role": "assistant", "content": prefill}])
    assert prefill + "".join(content_deltas(events)) == answer


async def test_continuation_honours_max_tokens(sim: Simulator) -> None:
    _, full = await sim.chat()
    answer = full["choices"][0]["message"]["content"]
    _, head = await sim.chat(max_tokens=3)
    prefill = head["choices"][0]["message"]["content"]
    messages = [*USER_HELLO, {"role": "assistant", "content": prefill}]
    _, rest = await sim.chat(messages=messages, max_tokens=4)
    assert rest["choices"][0]["finish_reason"] == "length"
    assert rest["usage"]["completion_tokens"] == 4
    assert answer.startswith(prefill + rest["choices"][0]["message"]["content"])


async def test_unrelated_prefill_gets_a_deterministic_continuation(sim: Simulator) -> None:
    messages = [*USER_HELLO, {"role": "assistant", "content": "Something else entirely"}]
    _, first = await sim.chat(messages=messages)
    _, second = await sim.chat("sim-b", messages=messages)
    text = first["choices"][0]["message"]["content"]
    assert text == second["choices"][0]["message"]["content"]
    assert text.startswith(" ")  # it continues the prefill's sentence
    assert count_tokens(text) >= 30


async def test_unknown_provider_is_404(sim: Simulator) -> None:
    resp, body = await sim.chat("no-such-provider")
    assert resp.status == 404
    assert body["error"]["code"] == "provider_not_found"


async def test_unknown_model_is_404_model_not_found(sim: Simulator) -> None:
    resp, body = await sim.chat(model="gpt-nope")
    assert resp.status == 404
    assert body["error"]["type"] == "invalid_request_error"
    assert body["error"]["code"] == "model_not_found"
    assert "gpt-nope" in body["error"]["message"]


async def test_malformed_json_is_400_with_an_openai_error(sim: Simulator) -> None:
    async with sim.session.post(
        sim.url("sim-a"), data=b"{not json", headers={"Content-Type": "application/json"}
    ) as resp:
        body = await resp.json()
    assert resp.status == 400
    assert body["error"]["type"] == "invalid_request_error"


async def test_missing_messages_is_400_naming_the_field(sim: Simulator) -> None:
    async with sim.session.post(sim.url("sim-a"), json={"model": "sim-small"}) as resp:
        body = await resp.json()
    assert resp.status == 400
    assert body["error"]["param"] == "messages"


async def test_healthz_is_ok(sim: Simulator) -> None:
    async with sim.session.get(f"{sim.base_url}/healthz") as resp:
        assert resp.status == 200
        assert await resp.json() == {"status": "ok"}


async def test_control_lists_providers_without_their_api_keys(launch_simulator) -> None:
    sim = await launch_simulator(api_key="secret-key")
    providers = await sim.control.providers()
    assert [p["name"] for p in providers] == ["sim-a", "sim-b"]
    assert providers[0]["models"] == ["sim-small", "sim-large"]
    assert providers[0]["api_key_required"] is True
    assert "secret-key" not in str(providers)
