"""`/v1/embeddings` through a real server with all-MiniLM-L6-v2, called with the official
`openai` client (base64 by default, floats on request) and raw HTTP for bad input."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import openai
import pytest
from openai import OpenAI

from causerie.chat.retrieval import candidates
from causerie.engine.embedding_models import MINILM_ID
from causerie.engine.llamacpp.embedder import LlamaEmbedder
from causerie.store.db import Database, default_url
from tests.api.test_conversations import user
from tests.conftest import API_KEY, Server, start_server, stop_server
from tests.support.web import Browser


@pytest.fixture(scope="module")
def client(embedding_server: Server) -> OpenAI:
    return OpenAI(base_url=embedding_server.v1, api_key=API_KEY, max_retries=0, timeout=60)


@pytest.fixture(scope="module")
def model(client: OpenAI) -> str:
    ids = [m.id for m in client.models.list().data]
    assert ids == ["smollm2-135m", MINILM_ID]  # the GGUF's name, without its hash suffix
    return ids[1]


def vector(item: object) -> np.ndarray:
    return np.array(item, dtype=np.float32)


def test_models_list_the_embedding_model(client: OpenAI, model: str) -> None:
    card = client.models.retrieve(model)
    assert card.id == model and card.model_extra and card.model_extra["context_length"] == 512


def test_embeddings_with_the_openai_client(client: OpenAI, model: str) -> None:
    texts = ["A cat sits on the mat.", "A kitten is resting on a rug.", "Revenue grew ten percent."]
    floats = client.embeddings.create(model=model, input=texts, encoding_format="float")
    assert floats.object == "list" and floats.model == model
    assert [d.index for d in floats.data] == [0, 1, 2]
    v = np.stack([vector(d.embedding) for d in floats.data])
    assert v.shape == (3, 384) and np.allclose(np.linalg.norm(v, axis=1), 1, atol=1e-5)
    assert v[0] @ v[1] > 0.5 > 0.2 > max(v[0] @ v[2], v[1] @ v[2])
    assert floats.usage.prompt_tokens == floats.usage.total_tokens > 3 * 3
    default = client.embeddings.create(model=model, input=texts)  # the client asks base64
    assert np.abs(np.stack([vector(d.embedding) for d in default.data]) - v).max() < 1e-6
    one = client.embeddings.create(model=model, input=texts[0], dimensions=384)
    assert len(one.data) == 1 and np.abs(vector(one.data[0].embedding) - v[0]).max() < 1e-5


def test_token_inputs(client: OpenAI, model: str) -> None:
    hello = [101, 7592, 2088, 102]  # [CLS] hello world [SEP]
    by_ids = client.embeddings.create(model=model, input=hello, encoding_format="float")
    by_text = client.embeddings.create(model=model, input="hello world", encoding_format="float")
    assert by_ids.usage.prompt_tokens == by_text.usage.prompt_tokens == 4
    assert np.abs(vector(by_ids.data[0].embedding) - vector(by_text.data[0].embedding)).max() < 1e-5
    many = client.embeddings.create(model=model, input=[hello, hello[:3]], encoding_format="float")
    assert len(many.data) == 2 and many.usage.prompt_tokens == 7


@pytest.mark.parametrize(
    ("body", "status", "param", "code"),
    [
        ({"input": ""}, 400, "input", None),
        ({"input": []}, 400, "input", None),
        ({"input": ["ok", ""]}, 400, "input", None),
        ({"input": "word " * 600}, 400, "input", "context_length_exceeded"),
        ({"input": [[10**9]]}, 400, "input", None),
        ({"input": "x", "dimensions": 256}, 400, "dimensions", None),
        ({"input": "x", "encoding_format": "int8"}, 400, "encoding_format", None),
        ({"input": 3}, 400, "input", None),
        ({"input": "x", "model": "text-embedding-3-small"}, 404, "model", "model_not_found"),
    ],
)
def test_bad_requests_are_openai_errors(
    embedding_server: Server,
    model: str,
    body: dict[str, object],
    status: int,
    param: str,
    code: str | None,
) -> None:
    sent = {"model": model, **body}
    r = httpx.post(
        embedding_server.v1 + "/embeddings",
        json=sent,
        headers={"Authorization": f"Bearer {API_KEY}"},
    )
    assert r.status_code == status, r.text
    error = r.json()["error"]
    assert error["type"] == "invalid_request_error" and error["param"] == param
    if code:
        assert error["code"] == code


def test_needs_a_key(embedding_server: Server, model: str) -> None:
    r = httpx.post(embedding_server.v1 + "/embeddings", json={"model": model, "input": "x"})
    assert r.status_code == 401 and r.json()["error"]["code"] == "invalid_api_key"


def test_without_an_embedding_model_it_is_not_found(server: Server) -> None:
    plain = OpenAI(base_url=server.v1, api_key=API_KEY, max_retries=0)
    with pytest.raises(openai.NotFoundError) as info:
        plain.embeddings.create(model="all-minilm-l6-v2", input="hello")
    assert isinstance(info.value.body, dict) and info.value.body["code"] == "model_not_found"
    assert "no embedding model" in info.value.body["message"]


def post_text(browser: Browser, title: str, text: str) -> dict[str, Any]:
    headers = {"X-CSRF-Token": browser.csrf or ""}
    r = browser.http.post(
        "/api/documents/text",
        json={"title": title, "text": text},
        params={"wait": "true"},
        headers=headers,
    )
    assert r.status_code == 201 and r.json()["status"] == "ready", r.text
    return dict(r.json())


def test_uploads_get_vectors_and_older_documents_are_backfilled(
    tmp_path: Path, minilm_gguf: Path
) -> None:
    """A document uploaded before the embedding model was configured gets its vectors in
    the background when the server starts with one; a new upload gets them at once."""
    plain = start_server(tmp_path, "--ctx-size", "512", "--parallel", "1")
    try:
        alice = user(plain, "alice")
        post_text(alice, "Pets", "Our kitten must receive her vaccinations before twelve weeks.")
    finally:
        stop_server(plain)
    db = Database(default_url(tmp_path))
    try:
        with db.unit() as uow:
            assert len(uow.vectors.pending(MINILM_ID, 10)) == 1
        srv = start_server(
            tmp_path, "--ctx-size", "512", "--parallel", "1", "--embedding-model", str(minilm_gguf)
        )
        try:
            assert "vector search: sqlite-vec" in srv.banner  # the `vector` extra is installed
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                with db.unit() as uow:
                    if not uow.vectors.pending(MINILM_ID, 10):
                        break
                time.sleep(0.2)
            bob = user(srv, "bob")
            post_text(bob, "Etna", "Mount Etna erupted last night, sending lava down the slope.")
            with db.unit() as uow:
                assert uow.vectors.pending(MINILM_ID, 10) == []
        finally:
            stop_server(srv)
        embedder = LlamaEmbedder(minilm_gguf, MINILM_ID)
        embedder.load()
        with db.unit() as uow:
            for who, query, expected in (
                (alice, "immunising young cats", "kitten"),
                (bob, "volcano", "Etna"),
            ):
                hits = candidates(uow, who.user["id"], query, embedder, mode="dense")
                assert [expected in h.text for h in hits] == [True]  # own document only
    finally:
        db.close()


def test_a_users_embeddings_are_metered(embedding_server: Server, model: str) -> None:
    """With a user's own key, embeddings count in the usage ledger like completions."""
    owner = user(embedding_server, "metered")
    key = owner.send("POST", "/api/keys", json={"name": "embeddings"}).json()["key"]
    theirs = OpenAI(base_url=embedding_server.v1, api_key=key, max_retries=0, timeout=60)
    texts = [f"sentence number {i} about kittens" for i in range(70)]  # more than one slice
    result = theirs.embeddings.create(model=model, input=texts)
    assert [d.index for d in result.data] == list(range(70))
    assert result.usage.prompt_tokens > 70
    assert owner.user["role"] == "admin"  # the server's first account reads the ledger
    rows = owner.get("/api/admin/usage", params={"user_id": owner.user["id"]}).json()["data"]
    row = next(r for r in rows if r["model"] == model)
    assert row["requests"] == 1 and row["prompt_tokens"] == result.usage.prompt_tokens
