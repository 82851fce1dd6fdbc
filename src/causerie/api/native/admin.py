"""`/api/admin`: the administrator's routes — users (list, create, change role, limits,
disable), whether sign-up is open, and the usage ledger. Every route needs an admin.
"""

from __future__ import annotations

import asyncio
from datetime import date
from typing import Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from causerie.api.native.auth import UserPublic
from causerie.api.native.bounds import MAX_OFFSET, MAX_QUOTA
from causerie.api.security import AccountsDep, AdminUser, QuotasDep
from causerie.store.accounts import UsageRow

router = APIRouter(prefix="/api/admin", tags=["admin"])
Role = Literal["admin", "user"]


class UserCreate(BaseModel):
    email: str = Field(max_length=320)
    password: str = Field(max_length=1024)
    name: str = Field(default="", max_length=200)
    role: Role = "user"


class UserUpdate(BaseModel):
    """Only the fields sent change; `null` limits mean the server's defaults."""

    name: str | None = Field(default=None, max_length=200)
    role: Role | None = None
    is_active: bool | None = None
    requests_per_minute: int | None = Field(default=None, ge=0, le=MAX_QUOTA)
    tokens_per_day: int | None = Field(default=None, ge=0, le=MAX_QUOTA)
    password: str | None = Field(default=None, max_length=1024)


class UserList(BaseModel):
    data: list[UserPublic]
    total: int


class AppSettingsOut(BaseModel):
    signup_open: bool


class AppSettingsUpdate(BaseModel):
    signup_open: bool


class UsageOut(BaseModel):
    user_id: str
    email: str
    model: str
    day: date
    requests: int
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int

    @classmethod
    def of(cls, r: UsageRow) -> UsageOut:
        return cls(
            user_id=r.user_id, email=r.email, model=r.model, day=r.day, requests=r.requests,
            prompt_tokens=r.prompt_tokens, completion_tokens=r.completion_tokens,
            total_tokens=r.prompt_tokens + r.completion_tokens,
        )  # fmt: skip


class UsageReport(BaseModel):
    since: date
    data: list[UsageOut]


@router.get("/users")
async def list_users(
    _: AdminUser,
    accounts: AccountsDep,
    limit: int = Query(default=100, ge=1, le=1000),
    offset: int = Query(default=0, ge=0, le=MAX_OFFSET),
) -> UserList:
    users, total = await asyncio.to_thread(accounts.list_users, limit, offset)
    return UserList(data=[UserPublic.of(u) for u in users], total=total)


@router.post("/users", status_code=201)
async def create_user(body: UserCreate, _: AdminUser, accounts: AccountsDep) -> UserPublic:
    user = await asyncio.to_thread(
        accounts.create_user, body.email, body.password, body.name, body.role
    )
    return UserPublic.of(user)


@router.get("/users/{user_id}")
async def get_user(user_id: str, _: AdminUser, accounts: AccountsDep) -> UserPublic:
    return UserPublic.of(await asyncio.to_thread(accounts.get_user, user_id))


@router.patch("/users/{user_id}")
async def update_user(
    user_id: str, body: UserUpdate, _: AdminUser, accounts: AccountsDep
) -> UserPublic:
    changes = body.model_dump(exclude_unset=True)
    for field in ("name", "role", "is_active", "password"):
        if changes.get(field, "") is None:
            del changes[field]  # these cannot be null; null limits can
    user = await asyncio.to_thread(accounts.update_user, user_id, changes)
    return UserPublic.of(user)


@router.get("/settings")
async def get_settings(_: AdminUser, accounts: AccountsDep) -> AppSettingsOut:
    status = await asyncio.to_thread(accounts.status)
    return AppSettingsOut(signup_open=status.signup_open)


@router.patch("/settings")
async def update_settings(
    body: AppSettingsUpdate, _: AdminUser, accounts: AccountsDep
) -> AppSettingsOut:
    await asyncio.to_thread(accounts.set_signup_open, body.signup_open)
    return AppSettingsOut(signup_open=body.signup_open)


@router.get("/usage")
async def usage(
    _: AdminUser,
    quotas: QuotasDep,
    days: int = Query(default=30, ge=1, le=3660),
    user_id: str | None = Query(default=None, max_length=64),
) -> UsageReport:
    """Tokens per user, model and UTC day over the last `days` days, newest first."""
    rows = await asyncio.to_thread(quotas.usage_since, days, user_id)
    since = quotas.first_day(days)
    return UsageReport(
        since=since,
        data=[UsageOut.of(r) for r in rows],
    )
