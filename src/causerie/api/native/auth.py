"""`/api/auth`: sign-up, login, logout, the current user and password change.

Login and sign-up open a new server-side session in an HttpOnly, SameSite=Lax cookie (any
session the browser held ends: rotation) and return the CSRF token that cookie-authenticated
state changes must send as `X-CSRF-Token`. Password hashes never leave the server.
"""

from __future__ import annotations

import asyncio
from datetime import datetime

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, Field

from causerie.api.security import (
    SESSION_COOKIE,
    AccountsDep,
    CurrentUser,
    PrincipalDep,
    clear_session_cookie,
    client_address,
    set_session_cookie,
)
from causerie.chat.accounts import AccountService
from causerie.store.tables import User

router = APIRouter(prefix="/api/auth", tags=["auth"])


class UserPublic(BaseModel):
    id: str
    email: str
    name: str
    role: str
    is_active: bool
    requests_per_minute: int | None
    tokens_per_day: int | None
    created_at: datetime

    @classmethod
    def of(cls, user: User) -> UserPublic:
        return cls(
            id=user.id, email=user.email, name=user.name, role=user.role,
            is_active=user.is_active, requests_per_minute=user.requests_per_minute,
            tokens_per_day=user.tokens_per_day, created_at=user.created_at,
        )  # fmt: skip


class SignupRequest(BaseModel):
    email: str = Field(max_length=320)
    password: str = Field(max_length=1024)
    name: str = Field(default="", max_length=200)


class LoginRequest(BaseModel):
    email: str = Field(max_length=320)
    password: str = Field(max_length=1024)


class PasswordChange(BaseModel):
    current_password: str = Field(max_length=1024)
    new_password: str = Field(max_length=1024)


class SessionOut(BaseModel):
    user: UserPublic
    csrf_token: str | None = None


class StatusOut(BaseModel):
    needs_setup: bool
    signup_open: bool


async def _start_session(
    request: Request, response: Response, accounts: AccountService, user: User
) -> SessionOut:
    old = request.cookies.get(SESSION_COOKIE)
    session = await asyncio.to_thread(accounts.open_session, user.id, old)
    set_session_cookie(request, response, session)
    return SessionOut(user=UserPublic.of(user), csrf_token=session.csrf_token)


@router.get("/status")
async def status(accounts: AccountsDep) -> StatusOut:
    """Public: whether the first (admin) account is still to be made, and sign-up is open."""
    found = await asyncio.to_thread(accounts.status)
    return StatusOut(needs_setup=found.needs_setup, signup_open=found.signup_open)


@router.post("/signup", status_code=201)
async def signup(
    body: SignupRequest, request: Request, response: Response, accounts: AccountsDep
) -> SessionOut:
    user = await asyncio.to_thread(accounts.signup, body.email, body.password, body.name)
    return await _start_session(request, response, accounts, user)


@router.post("/login")
async def login(
    body: LoginRequest, request: Request, response: Response, accounts: AccountsDep
) -> SessionOut:
    user = await asyncio.to_thread(
        accounts.login, body.email, body.password, client_address(request)
    )
    return await _start_session(request, response, accounts, user)


@router.post("/logout", status_code=204)
async def logout(request: Request, caller: PrincipalDep, accounts: AccountsDep) -> Response:
    """Ends the cookie's session (a no-op without one); the cookie is cleared either way."""
    token = request.cookies.get(SESSION_COOKIE)
    if caller is not None and caller.via == "session" and token:
        await asyncio.to_thread(accounts.logout, token)
    response = Response(status_code=204)
    clear_session_cookie(request, response)
    return response


@router.get("/me")
async def me(user: CurrentUser, caller: PrincipalDep) -> SessionOut:
    return SessionOut(
        user=UserPublic.of(user), csrf_token=caller.csrf_token if caller is not None else None
    )


@router.post("/password")
async def change_password(
    body: PasswordChange,
    user: CurrentUser,
    request: Request,
    response: Response,
    accounts: AccountsDep,
) -> SessionOut:
    """Every session of the user ends; this browser gets a new one."""
    session = await asyncio.to_thread(
        accounts.change_password, user.id, body.current_password, body.new_password
    )
    set_session_cookie(request, response, session)
    return SessionOut(user=UserPublic.of(user), csrf_token=session.csrf_token)
