"""Accounts: sign-up, login, server-side sessions, API keys and the admin's user management.

Passwords are Argon2id hashes; sessions and API keys are random secrets of which only the
sha256 is stored. The first account takes the single admin seat inside its own sign-up
transaction, so exactly one admin results however many sign up at once.
"""

from __future__ import annotations

import hashlib
import secrets
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from causerie.chat.quotas import Throttle
from causerie.core.errors import (
    AuthenticationError,
    ConflictError,
    InvalidRequestError,
    NotFoundError,
    PermissionDeniedError,
)
from causerie.store.accounts import as_utc
from causerie.store.db import Database
from causerie.store.tables import ApiKey, AuthSession, User, utcnow
from causerie.store.unit import Unit

ROLES = ("admin", "user")
KEY_PREFIX = "csk-"
SIGNUP_OPEN = "signup_open"
USER_FIELDS = {"name", "role", "is_active", "requests_per_minute", "tokens_per_day", "password"}


@dataclass(frozen=True, slots=True)
class AccountPolicy:
    session_ttl: timedelta = timedelta(days=30)
    login_attempts_per_email: int = 5
    login_attempts_per_ip: int = 20
    login_window_s: int = 900
    min_password_length: int = 8


@dataclass(frozen=True, slots=True)
class NewSession:
    """A session just opened: `token` goes in the cookie and is never stored."""

    token: str
    csrf_token: str
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class SetupStatus:
    needs_setup: bool
    signup_open: bool


def sha256(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def has_control(text: str) -> bool:
    """NUL, escape, newline or another control character, or a lone surrogate: nothing a
    name or an email needs, and what a database may refuse to store."""
    return any(unicodedata.category(c) in ("Cc", "Cs") for c in text)


def _bad_in_email(c: str) -> bool:
    return c.isspace() or unicodedata.category(c) in ("Cc", "Cs", "Cf")  # Cf: U+200B, U+202E...


def clean_name(name: str, param: str = "name") -> str:
    """A display name (of a user, an API key), trimmed to 200 characters."""
    if has_control(name):
        raise InvalidRequestError("Names cannot contain control characters.", param=param)
    return name.strip()[:200]


def normalise_email(email: str) -> str:
    email = email.strip().lower()
    if any(_bad_in_email(c) for c in email):
        raise InvalidRequestError(
            "Please enter a valid email address: it cannot contain spaces or control characters.",
            param="email",
        )
    local, at, domain = email.partition("@")
    if not at or not local or "." not in domain.strip("."):
        raise InvalidRequestError("Please enter a valid email address.", param="email")
    if len(email) > 320:
        raise InvalidRequestError("That email address is too long.", param="email")
    return email


class AccountService:
    def __init__(
        self,
        db: Database,
        policy: AccountPolicy | None = None,
        hasher: PasswordHasher | None = None,
    ) -> None:
        self.db = db
        self.policy = policy or AccountPolicy()
        self.hasher = hasher or PasswordHasher()  # argon2id with RFC 9106's parameters
        self.throttle = Throttle(db)
        self._dummy: str | None = None

    # --- passwords -------------------------------------------------------------------

    def _hash_new(self, password: str, param: str = "password") -> str:
        if len(password) < self.policy.min_password_length:
            raise InvalidRequestError(
                f"Passwords need at least {self.policy.min_password_length} characters.",
                param=param,
            )
        if len(password) > 1024:
            raise InvalidRequestError("That password is too long.", param=param)
        if any(unicodedata.category(c) == "Cs" for c in password):
            raise InvalidRequestError("That password is not valid Unicode text.", param=param)
        return self.hasher.hash(password)

    def _verify(self, user: User | None, password: str) -> bool:
        if user is None:  # take as long as for a real account: no hint that it exists
            self._dummy = self._dummy or self.hasher.hash(secrets.token_hex(16))
        try:
            return self.hasher.verify(user.password_hash if user else self._dummy or "", password)
        except (VerificationError, InvalidHashError):
            return False

    # --- sign-up and setup -----------------------------------------------------------

    def _signup_open(self, uow: Unit) -> bool:
        value = uow.app_settings.get(SIGNUP_OPEN)
        return bool(value.get("open", True)) if value is not None else True

    def status(self) -> SetupStatus:
        with self.db.unit() as uow:
            return SetupStatus(uow.users.count() == 0, self._signup_open(uow))

    def set_signup_open(self, is_open: bool) -> None:
        with self.db.unit() as uow:
            uow.app_settings.put(SIGNUP_OPEN, {"open": is_open})
            uow.commit()

    def _insert(self, uow: Unit, email: str, password_hash: str, name: str, role: str) -> User:
        if uow.users.by_email(email) is not None:
            raise ConflictError("An account with this email already exists.", param="email")
        return uow.users.add(email=email, password_hash=password_hash, name=name, role=role)

    def signup(self, email: str, password: str, name: str = "") -> User:
        """Create an account; the very first one becomes the admin (race-safe)."""
        email = normalise_email(email)
        status = self.status()
        if not status.needs_setup and not status.signup_open:
            raise _signup_closed()
        password_hash = self._hash_new(password)
        with self.db.unit() as uow:
            user = self._insert(uow, email, password_hash, clean_name(name), "user")
            if uow.users.claim_admin_seat(user.id):
                user.role = "admin"
            elif not self._signup_open(uow):
                raise _signup_closed()
            uow.commit()
        return user

    def create_user(self, email: str, password: str, name: str = "", role: str = "user") -> User:
        """An account made by an admin or by `causerie users create-admin`."""
        if role not in ROLES:
            raise InvalidRequestError("role must be 'admin' or 'user'.", param="role")
        email = normalise_email(email)
        password_hash = self._hash_new(password)
        with self.db.unit() as uow:
            user = self._insert(uow, email, password_hash, clean_name(name), role)
            if role == "admin":
                uow.users.claim_admin_seat(user.id)  # sign-ups after this one are users
            uow.commit()
        return user

    # --- login and sessions ----------------------------------------------------------

    def login(self, email: str, password: str, client: str) -> User:
        """The user behind these credentials; failed attempts are rate-limited."""
        email = email.strip().lower()
        if any(_bad_in_email(c) for c in email):  # no account has such an address
            raise InvalidRequestError("Please enter a valid email address.", param="email")
        p = self.policy
        keys = (
            (f"login-email:{email}", p.login_attempts_per_email),
            (f"login-ip:{client}", p.login_attempts_per_ip),
        )
        for key, limit in keys:
            self.throttle.check(key, limit, p.login_window_s, "Too many failed logins; wait.")
        with self.db.unit() as uow:
            user = uow.users.by_email(email)
        if not self._verify(user, password) or user is None:
            for key, _ in keys:
                self.throttle.hit(key, p.login_window_s)
            raise AuthenticationError("Incorrect email or password.", code="invalid_credentials")
        if not user.is_active:
            raise PermissionDeniedError("This account is disabled.", code="account_disabled")
        if self.hasher.check_needs_rehash(user.password_hash):
            self._set_password(user.id, self.hasher.hash(password), drop_sessions=False)
        return user

    def open_session(self, user_id: str, replacing: str | None = None) -> NewSession:
        """A fresh session (and CSRF token); `replacing`, the caller's old one, ends."""
        new = NewSession(
            secrets.token_urlsafe(32), secrets.token_urlsafe(32), utcnow() + self.policy.session_ttl
        )
        with self.db.unit() as uow:
            if replacing:
                uow.auth_sessions.delete(sha256(replacing))
            uow.auth_sessions.add(
                token_hash=sha256(new.token), user_id=user_id,
                csrf_token=new.csrf_token, expires_at=new.expires_at,
            )  # fmt: skip
            uow.commit()
        return new

    def session_user(self, token: str) -> tuple[User, AuthSession] | None:
        """The active user of a live session; an idle session expires after the TTL."""
        now = utcnow()
        with self.db.unit() as uow:
            row = uow.auth_sessions.get(sha256(token))
            if row is None:
                return None
            if as_utc(row.expires_at) <= now:
                uow.auth_sessions.purge_expired(now)
                uow.commit()
                return None
            user = uow.users.get(row.user_id)
            if user is None or not user.is_active:
                return None
            if as_utc(row.expires_at) - now < self.policy.session_ttl - timedelta(hours=1):
                uow.auth_sessions.extend(row.token_hash, now + self.policy.session_ttl)
                uow.commit()
            return user, row

    def logout(self, token: str) -> None:
        with self.db.unit() as uow:
            uow.auth_sessions.delete(sha256(token))
            uow.commit()

    def _set_password(self, user_id: str, password_hash: str, *, drop_sessions: bool) -> None:
        with self.db.unit() as uow:
            user = uow.users.get(user_id)
            if user is None:
                raise NotFoundError("No such user.")
            user.password_hash = password_hash
            if drop_sessions:
                uow.auth_sessions.delete_for_user(user_id)
            uow.commit()

    def change_password(self, user_id: str, current: str, new: str) -> NewSession:
        """Every session of the user ends; the caller gets a new one."""
        with self.db.unit() as uow:
            user = uow.users.get(user_id)
        if user is None:
            raise NotFoundError("No such user.")
        key = f"login-email:{user.email}"
        p = self.policy
        self.throttle.check(key, p.login_attempts_per_email, p.login_window_s, "Too many tries.")
        if not self._verify(user, current):
            self.throttle.hit(key, p.login_window_s)
            raise InvalidRequestError(
                "Your current password is not correct.", param="current_password"
            )
        self._set_password(user_id, self._hash_new(new, "new_password"), drop_sessions=True)
        return self.open_session(user_id)

    # --- API keys --------------------------------------------------------------------

    def create_api_key(self, user_id: str, name: str = "") -> tuple[ApiKey, str]:
        """A new key and its secret, which is shown this once and never stored."""
        secret = KEY_PREFIX + secrets.token_urlsafe(32)
        with self.db.unit() as uow:
            key = uow.api_keys.add(
                user_id=user_id,
                name=clean_name(name),
                prefix=secret[:12],
                key_hash=sha256(secret),
            )
            uow.commit()
        return key, secret

    def api_keys(self, user_id: str) -> Sequence[ApiKey]:
        with self.db.unit() as uow:
            return uow.api_keys.active_for(user_id)

    def revoke_api_key(self, user_id: str, key_id: str) -> None:
        with self.db.unit() as uow:
            key = uow.api_keys.get(user_id, key_id)
            if key is None or key.revoked_at is not None:
                raise NotFoundError("No such API key.", param="key_id")
            key.revoked_at = utcnow()
            uow.commit()

    def api_key_user(self, secret: str) -> User | None:
        """The active owner of a live key (its `last_used_at` is kept to the minute)."""
        if not secret.startswith(KEY_PREFIX):
            return None
        now = utcnow()
        with self.db.unit() as uow:
            key = uow.api_keys.by_hash(sha256(secret))
            user = uow.users.get(key.user_id) if key is not None else None
            if key is None or user is None or not user.is_active:
                return None
            if key.last_used_at is None or now - as_utc(key.last_used_at) > timedelta(minutes=1):
                uow.api_keys.mark_used(key.id, now)
                uow.commit()
            return user

    # --- administration --------------------------------------------------------------

    def get_user(self, user_id: str) -> User:
        with self.db.unit() as uow:
            user = uow.users.get(user_id)
        if user is None:
            raise NotFoundError("No such user.", param="user_id")
        return user

    def list_users(self, limit: int = 100, offset: int = 0) -> tuple[Sequence[User], int]:
        with self.db.unit() as uow:
            return uow.users.list(limit=limit, offset=offset)

    def update_user(self, user_id: str, changes: dict[str, Any]) -> User:
        """Apply an admin's changes; disabling a user or resetting their password ends
        their sessions, and at least one active admin always remains."""
        unknown = set(changes) - USER_FIELDS
        if unknown:
            raise InvalidRequestError(f"Unknown field '{sorted(unknown)[0]}'.")
        if changes.get("name") is not None:
            changes = {**changes, "name": clean_name(changes["name"])}
        if "role" in changes and changes["role"] not in ROLES:
            raise InvalidRequestError("role must be 'admin' or 'user'.", param="role")
        if changes.get("password") is not None:
            changes = {**changes, "password_hash": self._hash_new(changes["password"])}
        with self.db.unit() as uow:
            user = uow.users.get(user_id)
            if user is None:
                raise NotFoundError("No such user.", param="user_id")
            was_admin = user.role == "admin" and user.is_active
            stays_admin = changes.get("role", user.role) == "admin" and changes.get(
                "is_active", user.is_active
            )
            if was_admin and not stays_admin and uow.users.count_active_admins() <= 1:
                raise ConflictError("At least one active administrator must remain.")
            for field in ("name", "role", "is_active", "requests_per_minute", "tokens_per_day"):
                if field in changes:
                    setattr(user, field, changes[field])
            if "password_hash" in changes:
                user.password_hash = changes["password_hash"]
            if not user.is_active or "password_hash" in changes:
                uow.auth_sessions.delete_for_user(user.id)
            uow.commit()
        return user


def _signup_closed() -> PermissionDeniedError:
    return PermissionDeniedError(
        "Sign-up is closed; ask an administrator for an account.", code="signup_closed"
    )
