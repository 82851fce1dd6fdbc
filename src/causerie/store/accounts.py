"""Repositories for accounts: users, login sessions, API keys, app settings, rate windows
and the usage ledger.

Counters are upserts (`INSERT … ON CONFLICT DO UPDATE`) so that several app processes
sharing one database count as one; the admin seat is an insert-or-nothing on row id 1.
Secrets are never stored: sessions and API keys are looked up by their sha256.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from causerie.core.errors import ConflictError
from causerie.store.tables import (
    AdminSeat,
    ApiKey,
    AppSetting,
    AuthSession,
    RateWindow,
    UsageDay,
    User,
)


def as_utc(moment: datetime) -> datetime:
    """SQLite hands back naive datetimes; every timestamp we write is UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _bulk(session: Session, statement: Any) -> None:
    """Run an UPDATE/DELETE in SQL only: loaded objects are not re-evaluated in Python
    (SQLite's naive datetimes cannot be compared with aware ones)."""
    session.execute(statement, execution_options={"synchronize_session": False})


def _insert(session: Session, table: Any) -> postgresql.Insert | sqlite.Insert:
    """A dialect-specific INSERT that knows `on_conflict_do_*` (SQLite and PostgreSQL)."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


class UserRepo:
    def __init__(self, session: Session) -> None:
        self.s = session

    def add(self, *, email: str, password_hash: str, name: str = "", role: str = "user") -> User:
        user = User(email=email, password_hash=password_hash, name=name, role=role)
        self.s.add(user)
        try:
            self.s.flush()
        except IntegrityError as exc:  # the same email, signed up at the same moment
            raise ConflictError("An account with this email exists.", param="email") from exc
        return user

    def get(self, user_id: str) -> User | None:
        return self.s.get(User, user_id)

    def by_email(self, email: str) -> User | None:
        return self.s.scalar(select(User).where(User.email == email))

    def count(self) -> int:
        return self.s.scalar(select(func.count()).select_from(User)) or 0

    def count_active_admins(self) -> int:
        where = (User.role == "admin", User.is_active.is_(True))
        return self.s.scalar(select(func.count()).select_from(User).where(*where)) or 0

    def list(self, *, limit: int = 100, offset: int = 0) -> tuple[Sequence[User], int]:
        total = self.count()
        rows = self.s.scalars(
            select(User).order_by(User.created_at, User.id).limit(limit).offset(offset)
        ).all()
        return rows, total

    def claim_admin_seat(self, user_id: str) -> bool:
        """Take the single admin seat for `user_id`; False when someone holds it already.

        Concurrent claimers serialise on the primary key: exactly one insert wins."""
        stmt = _insert(self.s, AdminSeat).values(id=1, user_id=user_id)
        claim = stmt.on_conflict_do_nothing(index_elements=["id"]).returning(AdminSeat.id)
        return self.s.execute(claim).scalar_one_or_none() is not None

    def seat_taken(self) -> bool:
        return self.s.get(AdminSeat, 1) is not None


class SessionRepo:
    def __init__(self, session: Session) -> None:
        self.s = session

    def add(self, *, token_hash: str, user_id: str, csrf_token: str, expires_at: datetime) -> None:
        self.s.add(
            AuthSession(
                token_hash=token_hash, user_id=user_id, csrf_token=csrf_token, expires_at=expires_at
            )
        )
        self.s.flush()

    def get(self, token_hash: str) -> AuthSession | None:
        return self.s.get(AuthSession, token_hash)

    def extend(self, token_hash: str, expires_at: datetime) -> None:
        _bulk(
            self.s,
            update(AuthSession)
            .where(AuthSession.token_hash == token_hash)
            .values(expires_at=expires_at),
        )

    def delete(self, token_hash: str) -> None:
        _bulk(self.s, delete(AuthSession).where(AuthSession.token_hash == token_hash))

    def delete_for_user(self, user_id: str) -> None:
        _bulk(self.s, delete(AuthSession).where(AuthSession.user_id == user_id))

    def purge_expired(self, now: datetime) -> None:
        _bulk(self.s, delete(AuthSession).where(AuthSession.expires_at < now))


class ApiKeyRepo:
    def __init__(self, session: Session) -> None:
        self.s = session

    def add(self, *, user_id: str, name: str, prefix: str, key_hash: str) -> ApiKey:
        key = ApiKey(user_id=user_id, name=name, prefix=prefix, key_hash=key_hash)
        self.s.add(key)
        self.s.flush()
        return key

    def by_hash(self, key_hash: str) -> ApiKey | None:
        return self.s.scalar(
            select(ApiKey).where(ApiKey.key_hash == key_hash, ApiKey.revoked_at.is_(None))
        )

    def get(self, user_id: str, key_id: str) -> ApiKey | None:
        return self.s.scalar(select(ApiKey).where(ApiKey.id == key_id, ApiKey.user_id == user_id))

    def active_for(self, user_id: str) -> Sequence[ApiKey]:
        return self.s.scalars(
            select(ApiKey)
            .where(ApiKey.user_id == user_id, ApiKey.revoked_at.is_(None))
            .order_by(ApiKey.created_at, ApiKey.id)
        ).all()

    def mark_used(self, key_id: str, when: datetime) -> None:
        _bulk(self.s, update(ApiKey).where(ApiKey.id == key_id).values(last_used_at=when))


class AppSettingRepo:
    def __init__(self, session: Session) -> None:
        self.s = session

    def get(self, key: str) -> dict[str, Any] | None:
        row = self.s.get(AppSetting, key)
        return dict(row.value) if row is not None else None

    def put(self, key: str, value: dict[str, Any]) -> None:
        stmt = _insert(self.s, AppSetting).values(key=key, value=value)
        stmt = stmt.on_conflict_do_update(
            index_elements=["key"], set_={"value": stmt.excluded.value}
        )
        self.s.execute(stmt)


class RateRepo:
    """Fixed-window counters keyed by (key, window start in unix seconds)."""

    def __init__(self, session: Session) -> None:
        self.s = session

    def hit(self, key: str, window_start: int, amount: int = 1) -> int:
        """Add `amount` to the window's counter atomically; returns the new count."""
        stmt = _insert(self.s, RateWindow).values(key=key, window_start=window_start, count=amount)
        stmt = stmt.on_conflict_do_update(
            index_elements=["key", "window_start"],
            set_={"count": RateWindow.count + stmt.excluded.count},
        )
        return int(self.s.execute(stmt.returning(RateWindow.count)).scalar_one())

    def counts(self, key: str, since: int, until: int) -> list[tuple[int, int]]:
        """The key's (window_start, count) from `since` to `until`, oldest first."""
        rows = self.s.execute(
            select(RateWindow.window_start, RateWindow.count)
            .where(
                RateWindow.key == key,
                RateWindow.window_start >= since,
                RateWindow.window_start <= until,
            )
            .order_by(RateWindow.window_start)
        ).all()
        return [(int(start), int(count)) for start, count in rows]

    def purge(self, before: int) -> None:
        _bulk(self.s, delete(RateWindow).where(RateWindow.window_start < before))


@dataclass(frozen=True, slots=True)
class UsageRow:
    user_id: str
    email: str
    model: str
    day: date
    requests: int
    prompt_tokens: int
    completion_tokens: int


def _counts(row: UsageDay) -> tuple[int, int, int]:
    return row.requests, row.prompt_tokens, row.completion_tokens


class UsageRepo:
    def __init__(self, session: Session) -> None:
        self.s = session

    def add(
        self, *, user_id: str, model: str, day: date, prompt_tokens: int, completion_tokens: int
    ) -> None:
        """Count one request and its tokens in the ledger (atomic across processes)."""
        stmt = _insert(self.s, UsageDay).values(
            user_id=user_id, model=model, day=day, requests=1,
            prompt_tokens=prompt_tokens, completion_tokens=completion_tokens,
        )  # fmt: skip
        new = stmt.excluded
        stmt = stmt.on_conflict_do_update(
            index_elements=["user_id", "model", "day"],
            set_={
                "requests": UsageDay.requests + new.requests,
                "prompt_tokens": UsageDay.prompt_tokens + new.prompt_tokens,
                "completion_tokens": UsageDay.completion_tokens + new.completion_tokens,
            },
        )
        self.s.execute(stmt)

    def tokens_on(self, user_id: str, day: date) -> int:
        total = UsageDay.prompt_tokens + UsageDay.completion_tokens
        query = select(func.coalesce(func.sum(total), 0)).where(
            UsageDay.user_id == user_id, UsageDay.day == day
        )
        return int(self.s.scalar(query) or 0)

    def since(self, first_day: date, user_id: str | None = None) -> list[UsageRow]:
        query = (
            select(UsageDay, User.email)
            .join(User, User.id == UsageDay.user_id)
            .where(UsageDay.day >= first_day)
            .order_by(UsageDay.day.desc(), User.email, UsageDay.model)
        )
        if user_id is not None:
            query = query.where(UsageDay.user_id == user_id)
        rows = self.s.execute(query).all()
        return [UsageRow(r.user_id, email, r.model, r.day, *_counts(r)) for r, email in rows]
