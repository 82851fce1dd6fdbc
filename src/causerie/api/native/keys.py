"""`/api/keys`: the current user's API keys for `/v1/*` and `/api/*` (`Authorization: Bearer`).

A key's secret is returned once, at creation; afterwards only its display prefix, name and
dates are shown. Revoking a key makes it fail at once.
"""

from __future__ import annotations

import asyncio
from datetime import datetime

from fastapi import APIRouter, Response
from pydantic import BaseModel, Field

from causerie.api.security import AccountsDep, CurrentUser
from causerie.store.tables import ApiKey

router = APIRouter(prefix="/api/keys", tags=["keys"])


class KeyCreate(BaseModel):
    name: str = Field(default="", max_length=200)


class KeyPublic(BaseModel):
    id: str
    name: str
    prefix: str
    created_at: datetime
    last_used_at: datetime | None

    @classmethod
    def of(cls, key: ApiKey) -> KeyPublic:
        return cls(
            id=key.id, name=key.name, prefix=key.prefix,
            created_at=key.created_at, last_used_at=key.last_used_at,
        )  # fmt: skip


class KeyCreated(KeyPublic):
    key: str = Field(description="the secret: shown this once, never again")


class KeyList(BaseModel):
    data: list[KeyPublic]


@router.get("")
async def list_keys(user: CurrentUser, accounts: AccountsDep) -> KeyList:
    keys = await asyncio.to_thread(accounts.api_keys, user.id)
    return KeyList(data=[KeyPublic.of(k) for k in keys])


@router.post("", status_code=201)
async def create_key(body: KeyCreate, user: CurrentUser, accounts: AccountsDep) -> KeyCreated:
    key, secret = await asyncio.to_thread(accounts.create_api_key, user.id, body.name)
    return KeyCreated(**KeyPublic.of(key).model_dump(), key=secret)


@router.delete("/{key_id}", status_code=204)
async def revoke_key(key_id: str, user: CurrentUser, accounts: AccountsDep) -> Response:
    await asyncio.to_thread(accounts.revoke_api_key, user.id, key_id)
    return Response(status_code=204)
