"""The OpenAI-compatible API through a real uvicorn server on the bundled model, called
with the official `openai` client (and raw HTTP where the client cannot send bad input)."""

from __future__ import annotations

import httpx
import openai
import pytest
from openai import OpenAI

from tests.conftest import API_KEY, Server

MODEL = "smollm2-135m"
HELLO = [
    {"role": "system", "content": "You are a helpful assistant."},
    {"role": "user", "content": "What is the capital of France?"},
]


@pytest.fixture(scope="module")
def client(server: Server) -> OpenAI:
    return OpenAI(base_url=server.v1, api_key=API_KEY, max_retries=0, timeout=120)


def test_health_and_models(server: Server, client: OpenAI) -> None:
    health = httpx.get(server.url + "/health").json()
    assert health["status"] == "ok" and MODEL in health["models"]
    models = client.models.list()
    assert [m.id for m in models.data] == [MODEL]
    assert client.models.retrieve(MODEL).id == MODEL


def test_chat_non_streaming(client: OpenAI) -> None:
    reply = client.chat.completions.create(
        model=MODEL,
        messages=HELLO,
        max_tokens=40,
        temperature=0,  # type: ignore[arg-type]
    )
    assert reply.id.startswith("chatcmpl-") and reply.created > 0
    choice = reply.choices[0]
    assert choice.message.role == "assistant"
    assert "Paris" in (choice.message.content or "")
    assert choice.finish_reason in ("stop", "length")
    assert reply.usage is not None
    assert reply.usage.prompt_tokens > 10 and reply.usage.completion_tokens > 0
    assert reply.usage.total_tokens == reply.usage.prompt_tokens + reply.usage.completion_tokens


def test_chat_streaming_with_usage(client: OpenAI) -> None:
    stream = client.chat.completions.create(
        model=MODEL, messages=HELLO, max_tokens=30, temperature=0, stream=True,  # type: ignore[arg-type]
        stream_options={"include_usage": True},
    )  # fmt: skip
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    finishes = [
        c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason
    ]
    assert "Paris" in text
    assert finishes and finishes[-1] in ("stop", "length")
    assert chunks[-1].choices == [] and chunks[-1].usage is not None
    assert chunks[-1].usage.completion_tokens > 0
    same = client.chat.completions.create(
        model=MODEL,
        messages=HELLO,
        max_tokens=30,
        temperature=0,  # type: ignore[arg-type]
    )
    assert same.choices[0].message.content == text


def test_streaming_ends_with_done(server: Server) -> None:
    body = {"model": MODEL, "messages": HELLO, "max_tokens": 5, "stream": True}
    headers = {"Authorization": f"Bearer {API_KEY}"}
    with httpx.stream("POST", server.v1 + "/chat/completions", json=body, headers=headers) as r:
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/event-stream")
        frames = [line for line in r.iter_lines() if line]
    assert all(f.startswith("data: ") for f in frames)
    assert frames[-1] == "data: [DONE]"


def test_max_tokens_gives_length(client: OpenAI) -> None:
    reply = client.chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": "Write a long story about a dragon."}],
        max_tokens=7, temperature=0,
    )  # fmt: skip
    assert reply.choices[0].finish_reason == "length"
    assert reply.usage is not None and reply.usage.completion_tokens == 7
    newer = client.chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": "Write a long story about a dragon."}],
        max_completion_tokens=3, temperature=0,
    )  # fmt: skip
    assert newer.usage is not None and newer.usage.completion_tokens == 3


def test_stop_string_is_not_emitted(client: OpenAI) -> None:
    messages = [{"role": "user", "content": "Count from 1 to 10, separated by commas."}]
    full = (
        client.chat.completions.create(
            model=MODEL,
            messages=messages,
            max_tokens=60,
            temperature=0,  # type: ignore[arg-type]
        )
        .choices[0]
        .message.content
        or ""
    )
    assert "5" in full
    cut = client.chat.completions.create(
        model=MODEL,
        messages=messages,
        max_tokens=60,
        temperature=0,
        stop=["5"],  # type: ignore[arg-type]
    )
    text = cut.choices[0].message.content or ""
    assert cut.choices[0].finish_reason == "stop"
    assert "5" not in text and full.startswith(text) and full[len(text)] == "5"


def test_same_seed_same_text(client: OpenAI) -> None:
    def sample(seed: int) -> str:
        reply = client.chat.completions.create(
            model=MODEL, messages=[{"role": "user", "content": "Tell me a story."}],
            max_tokens=30, temperature=1.0, seed=seed,
        )  # fmt: skip
        return reply.choices[0].message.content or ""

    first, again, other = sample(42), sample(42), sample(7)
    assert first == again
    assert first != other


def test_completions(client: OpenAI) -> None:
    reply = client.completions.create(
        model=MODEL, prompt="The capital of France is", max_tokens=8, temperature=0
    )
    assert reply.id.startswith("cmpl-")
    assert reply.choices[0].text and reply.choices[0].finish_reason in ("stop", "length")
    assert reply.usage is not None and reply.usage.completion_tokens <= 8
    stream = client.completions.create(
        model=MODEL, prompt="The capital of France is", max_tokens=8, temperature=0, stream=True
    )
    assert "".join(c.choices[0].text for c in stream if c.choices) == reply.choices[0].text


def test_logprobs(client: OpenAI) -> None:
    reply = client.chat.completions.create(
        model=MODEL,
        messages=HELLO,
        max_tokens=3,
        temperature=0,
        logprobs=True,
        top_logprobs=2,  # type: ignore[arg-type]
    )
    content = reply.choices[0].logprobs
    assert content is not None and content.content is not None and len(content.content) == 3
    first = content.content[0]
    assert first.logprob <= 0 and len(first.top_logprobs) == 2
    assert first.top_logprobs[0].logprob >= first.top_logprobs[1].logprob
    assert first.token == first.top_logprobs[0].token  # greedy picks the most likely


# --- errors ---------------------------------------------------------------------------


def test_bad_parameter_is_400_naming_it(client: OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as info:
        client.chat.completions.create(model=MODEL, messages=HELLO, temperature=5)  # type: ignore[arg-type]
    assert info.value.status_code == 400
    body = info.value.body
    assert isinstance(body, dict) and body["param"] == "temperature"
    assert body["type"] == "invalid_request_error"


def test_n_other_than_one_is_400(client: OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as info:
        client.chat.completions.create(model=MODEL, messages=HELLO, n=2)  # type: ignore[arg-type]
    assert isinstance(info.value.body, dict) and info.value.body["param"] == "n"


def test_unknown_model_is_404(client: OpenAI) -> None:
    with pytest.raises(openai.NotFoundError) as info:
        client.chat.completions.create(model="gpt-9", messages=HELLO)  # type: ignore[arg-type]
    assert isinstance(info.value.body, dict) and info.value.body["code"] == "model_not_found"
    with pytest.raises(openai.NotFoundError):
        client.models.retrieve("gpt-9")


def test_context_length_exceeded(client: OpenAI) -> None:
    long = "word " * 3000
    with pytest.raises(openai.BadRequestError) as info:
        client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": long}])
    assert isinstance(info.value.body, dict)
    assert info.value.body["code"] == "context_length_exceeded"
    with pytest.raises(openai.BadRequestError) as info:
        client.chat.completions.create(model=MODEL, messages=HELLO, max_tokens=5000)  # type: ignore[arg-type]
    assert isinstance(info.value.body, dict)
    assert info.value.body["code"] == "context_length_exceeded"


def test_missing_or_wrong_key_is_401(server: Server) -> None:
    client = OpenAI(base_url=server.v1, api_key="wrong", max_retries=0)
    with pytest.raises(openai.AuthenticationError) as info:
        client.chat.completions.create(model=MODEL, messages=HELLO)  # type: ignore[arg-type]
    assert isinstance(info.value.body, dict) and info.value.body["type"] == "authentication_error"
    missing = httpx.get(server.v1 + "/models")
    assert missing.status_code == 401
    assert missing.json()["error"]["code"] == "invalid_api_key"
    assert httpx.get(server.url + "/health").status_code == 200  # public


@pytest.mark.parametrize(
    "raw",
    [
        b"{not json",
        b"[]",
        b'{"model": "smollm2-135m"}',
        b'{"model": "smollm2-135m", "messages": [{"role": "wizard", "content": "x"}]}',
        b'{"model": "smollm2-135m", "messages": "hello"}',
        b'{"model": "smollm2-135m", "messages": [{"role": "user", "content": "x"}], "max_tokens": -1}',
        b'{"model": "smollm2-135m", "messages": [{"role": "user", "content": "x"}], "stop": 3}',
        b'{"model": "smollm2-135m", "messages": [{"role": "user", "content": "x"}], "logit_bias": {"a": 1}}',
        b'{"model": "smollm2-135m", "messages": [{"role": "user", "content": "x"}], "tools": [{"type": "function"}]}',
        b"\xff\xfe",
        b"",
    ],
)
def test_bad_bodies_get_a_400_envelope(server: Server, raw: bytes) -> None:
    response = httpx.post(
        server.v1 + "/chat/completions",
        content=raw,
        headers={"Authorization": f"Bearer {API_KEY}", "Content-Type": "application/json"},
    )
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert error["type"] == "invalid_request_error" and error["message"]
    assert "Traceback" not in response.text


def test_unknown_route_is_404_envelope(server: Server) -> None:
    response = httpx.get(server.url + "/v1/nothing", headers={"Authorization": f"Bearer {API_KEY}"})
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_metrics(server: Server, client: OpenAI) -> None:
    messages = [*HELLO]
    first = client.chat.completions.create(model=MODEL, messages=messages, max_tokens=5)  # type: ignore[arg-type]
    messages += [
        {"role": "assistant", "content": first.choices[0].message.content or ""},
        {"role": "user", "content": "And Germany?"},
    ]
    second = client.chat.completions.create(model=MODEL, messages=messages, max_tokens=5)  # type: ignore[arg-type]
    assert second.usage is not None and second.usage.prompt_tokens_details is not None
    assert (second.usage.prompt_tokens_details.cached_tokens or 0) > 0
    assert httpx.get(server.url + "/metrics").status_code == 401
    text = httpx.get(server.url + "/metrics", headers={"Authorization": f"Bearer {API_KEY}"}).text
    values = {
        line.split(" ")[0]: float(line.split(" ")[1])
        for line in text.splitlines()
        if line and not line.startswith("#")
    }
    assert values["causerie_generated_tokens_total"] >= 10
    assert values["causerie_prompt_tokens_reused_total"] > 0
    assert values["causerie_prompt_tokens_processed_total"] > 0
    assert values["causerie_time_to_first_token_seconds_count"] >= 2
    assert values["causerie_inter_token_latency_seconds_count"] > 0
    assert values["causerie_slots"] == 4 and values["causerie_running"] == 0
