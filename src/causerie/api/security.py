"""Who is calling: a session cookie (state changes need `X-CSRF-Token`), or a user API key
or the server-wide key as `Authorization: Bearer`. The server key acts as no particular
user: it opens `/v1/*` and `/metrics`, never the `/api/*` user routes.

`ApiCaller` binds the authenticated user to the engine so that `/v1` requests are checked
against their limits and counted in the usage ledger (`chat.quotas.MeteredEngine`).
"""

from __future__ import annotations

import asyncio
import hmac
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated, Literal

from fastapi import Depends, FastAPI, Request, Response

from causerie.api.deps import SettingsDep, app_db, bearer_token
from causerie.chat.accounts import AccountPolicy, AccountService, NewSession
from causerie.chat.quotas import Limits, MeteredEngine, QuotaService, bind_caller, metered
from causerie.core.errors import AuthenticationError, PermissionDeniedError
from causerie.core.settings import Settings
from causerie.engine.base import Engine
from causerie.store.tables import User

SESSION_COOKIE = "causerie_session"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
NO_KEY = "You didn't provide an API key. Send it as 'Authorization: Bearer KEY'."


@dataclass(frozen=True, slots=True)
class Principal:
    """An authenticated caller; `user` is None for the server-wide key (or an open app)."""

    user: User | None
    via: Literal["session", "api_key", "server_key", "open"]
    csrf_token: str | None = None


def account_policy(settings: Settings) -> AccountPolicy:
    default = AccountPolicy()
    return AccountPolicy(
        session_ttl=timedelta(days=getattr(settings, "session_days", 30)),
        login_attempts_per_email=getattr(
            settings, "login_attempts_per_email", default.login_attempts_per_email
        ),
        login_attempts_per_ip=getattr(
            settings, "login_attempts_per_ip", default.login_attempts_per_ip
        ),
    )


def default_limits(settings: Settings) -> Limits:
    return Limits(
        getattr(settings, "requests_per_minute", None), getattr(settings, "tokens_per_day", None)
    )


def install_accounts(app: FastAPI) -> None:
    """Build the account and quota services once per app and meter its engine (idempotent)."""
    state = app.state
    if getattr(state, "accounts", None) is not None or state.db is None:
        return
    settings: Settings = state.settings
    state.quotas = QuotaService(state.db, default_limits(settings))
    state.accounts = AccountService(state.db, account_policy(settings))
    if not isinstance(state.engine, MeteredEngine):
        state.engine = MeteredEngine(state.engine, state.quotas)


def accounts_of(request: Request) -> AccountService:
    app_db(request)
    install_accounts(request.app)
    accounts: AccountService = request.app.state.accounts
    return accounts


def quotas_of(request: Request) -> QuotaService:
    app_db(request)
    install_accounts(request.app)
    quotas: QuotaService = request.app.state.quotas
    return quotas


# Dependencies are coroutines when they do not block: FastAPI runs a plain `def` one in
# its thread pool, a hop per request that a busy pool (documents, database work) delays.
async def get_accounts(request: Request) -> AccountService:
    return accounts_of(request)


async def get_quotas(request: Request) -> QuotaService:
    return quotas_of(request)


AccountsDep = Annotated[AccountService, Depends(get_accounts)]
QuotasDep = Annotated[QuotaService, Depends(get_quotas)]


def _is_server_key(token: str, settings: Settings) -> bool:
    key = settings.api_key
    return key is not None and hmac.compare_digest(token.encode(), key.get_secret_value().encode())


async def principal(request: Request, settings: SettingsDep) -> Principal | None:
    """The caller's credentials, checked; None when there are none."""
    token = bearer_token(request)
    has_db = request.app.state.db is not None
    if token is not None:
        if _is_server_key(token, settings):
            return Principal(None, "server_key")
        if has_db:
            user = await asyncio.to_thread(accounts_of(request).api_key_user, token)
            if user is not None:
                return Principal(user, "api_key")
        if has_db or settings.api_key is not None:
            raise AuthenticationError("Incorrect API key provided.")
        return None  # an open app without accounts ignores the key a client sends
    cookie = request.cookies.get(SESSION_COOKIE)
    if not cookie or not has_db:
        return None
    found = await asyncio.to_thread(accounts_of(request).session_user, cookie)
    if found is None:
        return None
    user, session = found
    if request.method not in SAFE_METHODS:
        sent = request.headers.get(CSRF_HEADER, "")
        if not hmac.compare_digest(sent.encode(), session.csrf_token.encode()):
            raise PermissionDeniedError(
                f"This request needs the '{CSRF_HEADER}' header of your session.",
                code="csrf_failed",
            )
    return Principal(user, "session", session.csrf_token)


PrincipalDep = Annotated[Principal | None, Depends(principal)]


async def current_user(caller: PrincipalDep) -> User:
    if caller is None:
        raise AuthenticationError("Log in, or send an API key as 'Authorization: Bearer KEY'.")
    if caller.user is None:
        raise AuthenticationError(
            "This route needs a user: log in or use a personal API key, not the server key."
        )
    return caller.user


async def admin_user(user: Annotated[User, Depends(current_user)]) -> User:
    if user.role != "admin":
        raise PermissionDeniedError("Only an administrator may do this.")
    return user


async def api_caller(request: Request, caller: PrincipalDep, settings: SettingsDep) -> Principal:
    """For `/v1/*` and `/metrics`: any valid credential; a user's requests are metered.

    An app without a database keeps the old rule: the server key when one is set."""
    if caller is None:
        if request.app.state.db is None and settings.api_key is None:
            return Principal(None, "open")
        raise AuthenticationError(NO_KEY)
    if caller.user is not None:
        bind_caller(quotas_of(request).caller(caller.user))
    return caller


async def user_engine(request: Request, user: Annotated[User, Depends(current_user)]) -> Engine:
    """The app's engine, checking the current user's limits and counting their usage."""
    quotas = quotas_of(request)
    return metered(request.app.state.engine, quotas, quotas.caller(user))


CurrentUser = Annotated[User, Depends(current_user)]
AdminUser = Annotated[User, Depends(admin_user)]
ApiCaller = Annotated[Principal, Depends(api_caller)]
UserEngineDep = Annotated[Engine, Depends(user_engine)]


def set_session_cookie(request: Request, response: Response, session: NewSession) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        session.token,
        max_age=int(account_policy(request.app.state.settings).session_ttl.total_seconds()),
        path="/",
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
    )


def clear_session_cookie(request: Request, response: Response) -> None:
    response.delete_cookie(
        SESSION_COOKIE, path="/", httponly=True, samesite="lax",
        secure=request.url.scheme == "https",
    )  # fmt: skip


def client_address(request: Request) -> str:
    return request.client.host if request.client is not None else "unknown"
