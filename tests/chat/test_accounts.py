"""AccountService and the quota layer on a real database (SQLite and PostgreSQL): passwords,
the race for the admin seat, sessions, API keys, login throttling, limits, the usage ledger
and the metered engine. HTTP is covered in tests/api/test_auth.py and test_quotas.py."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import pytest
from argon2 import PasswordHasher

from causerie.chat.accounts import AccountPolicy, AccountService, sha256
from causerie.chat.quotas import (
    Caller,
    Limits,
    MeteredEngine,
    QuotaService,
    Throttle,
    bind_caller,
    metered,
)
from causerie.cli.users import run_create_admin
from causerie.core.errors import (
    AuthenticationError,
    ConflictError,
    InvalidRequestError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
)
from causerie.core.settings import Settings
from causerie.core.types import GenerationRequest, SamplingParams, Usage
from causerie.store.accounts import as_utc
from causerie.store.db import Database
from causerie.store.tables import utcnow
from tests.support.fake_engine import ScriptedEngine
from tests.support.postgres import (
    BACKENDS,
    PostgresUnavailable,
    in_ci,
    migrate_url,
    migrated_sqlite_file,
    shared_cluster,
)

PASSWORD = "correct horse battery"
FAST = PasswordHasher(time_cost=1, memory_cost=64, parallelism=1)  # still argon2id


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh database at the newest schema, on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        migrated_sqlite_file(tmp_path / "causerie.db")
        yield f"sqlite:///{tmp_path / 'causerie.db'}"
        return
    try:
        cluster = shared_cluster()
    except PostgresUnavailable as exc:
        if in_ci():
            pytest.fail(f"PostgreSQL is required in CI: {exc}", pytrace=False)
        pytest.skip(f"PostgreSQL unavailable: {exc}")
    name = cluster.create_database(template=cluster.template("migrated", migrate_url))
    yield cluster.url(name)
    cluster.drop_database(name)


@pytest.fixture
def db(db_url: str) -> Iterator[Database]:
    database = Database(db_url)
    yield database
    database.close()


def service(db: Database, **policy: object) -> AccountService:
    return AccountService(db, AccountPolicy(**policy), hasher=FAST)  # type: ignore[arg-type]


def test_passwords_are_argon2id_hashes(db: Database) -> None:
    accounts = AccountService(db)  # the production parameters
    user = accounts.signup("Ada@Example.com", PASSWORD, "Ada")
    assert user.email == "ada@example.com"
    assert user.password_hash.startswith("$argon2id$") and PASSWORD not in user.password_hash
    assert accounts.login("ada@example.com ", PASSWORD, "1.2.3.4").id == user.id
    with pytest.raises(AuthenticationError):
        accounts.login("ada@example.com", "not the password", "1.2.3.4")


def test_first_signup_is_admin_then_users(db: Database) -> None:
    accounts = service(db)
    assert accounts.status().needs_setup
    first = accounts.signup("first@example.com", PASSWORD)
    second = accounts.signup("second@example.com", PASSWORD)
    assert (first.role, second.role) == ("admin", "user")
    assert not accounts.status().needs_setup
    with pytest.raises(ConflictError):
        accounts.signup("FIRST@example.com", PASSWORD)
    with pytest.raises(InvalidRequestError):
        accounts.signup("third@example.com", "short")
    with pytest.raises(InvalidRequestError):
        accounts.signup("no-at-sign", PASSWORD)


def test_closed_signup_still_lets_the_first_account_in(db: Database) -> None:
    accounts = service(db)
    accounts.set_signup_open(False)
    assert accounts.signup("owner@example.com", PASSWORD).role == "admin"
    with pytest.raises(PermissionDeniedError) as info:
        accounts.signup("late@example.com", PASSWORD)
    assert info.value.code == "signup_closed"
    assert accounts.create_user("invited@example.com", PASSWORD).role == "user"
    accounts.set_signup_open(True)
    assert accounts.signup("late@example.com", PASSWORD).role == "user"


def test_concurrent_signups_make_exactly_one_admin(db: Database) -> None:
    accounts = service(db)
    start = threading.Barrier(16)

    def sign_up(i: int) -> str:
        start.wait()
        return accounts.signup(f"user{i}@example.com", PASSWORD).role

    with ThreadPoolExecutor(max_workers=16) as pool:
        roles = list(pool.map(sign_up, range(16)))
    assert roles.count("admin") == 1
    users, total = accounts.list_users()
    assert total == 16 and sum(u.role == "admin" for u in users) == 1


def test_concurrent_signups_with_one_email_make_one_account(db: Database) -> None:
    accounts = service(db)
    accounts.signup("owner@example.com", PASSWORD)
    start = threading.Barrier(8)

    def sign_up(_: int) -> str:
        start.wait()
        try:
            return accounts.signup("same@example.com", PASSWORD).id
        except ConflictError:
            return "conflict"

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(sign_up, range(8)))
    assert results.count("conflict") == 7
    assert accounts.list_users()[1] == 2


def test_create_admin_takes_the_seat(db: Database) -> None:
    accounts = service(db)
    assert accounts.create_user("ops@example.com", PASSWORD, role="admin").role == "admin"
    assert accounts.signup("someone@example.com", PASSWORD).role == "user"
    with pytest.raises(InvalidRequestError):
        accounts.create_user("x@example.com", PASSWORD, role="root")


def test_sessions_rotate_expire_and_end(db: Database) -> None:
    accounts = service(db)
    user = accounts.signup("s@example.com", PASSWORD)
    first = accounts.open_session(user.id)
    found = accounts.session_user(first.token)
    assert found is not None and found[0].id == user.id and found[1].csrf_token == first.csrf_token
    with db.unit() as uow:  # only the hash is stored
        assert uow.auth_sessions.get(first.token) is None
        assert uow.auth_sessions.get(sha256(first.token)) is not None
    second = accounts.open_session(user.id, replacing=first.token)
    assert accounts.session_user(first.token) is None
    assert accounts.session_user(second.token) is not None
    accounts.logout(second.token)
    assert accounts.session_user(second.token) is None

    old = accounts.open_session(user.id)
    with db.unit() as uow:
        uow.auth_sessions.extend(sha256(old.token), utcnow() - timedelta(seconds=1))
        uow.commit()
    assert accounts.session_user(old.token) is None
    assert accounts.session_user("made-up") is None


def test_idle_sessions_slide(db: Database) -> None:
    accounts = service(db, session_ttl=timedelta(days=30))
    user = accounts.signup("slide@example.com", PASSWORD)
    new = accounts.open_session(user.id)
    soon = utcnow() + timedelta(days=2)
    with db.unit() as uow:
        uow.auth_sessions.extend(sha256(new.token), soon)
        uow.commit()
    found = accounts.session_user(new.token)
    assert found is not None
    with db.unit() as uow:
        row = uow.auth_sessions.get(sha256(new.token))
        assert row is not None
        assert as_utc(row.expires_at) > utcnow() + timedelta(days=29)


def test_password_change_disable_and_reset_end_sessions(db: Database) -> None:
    accounts = service(db)
    admin = accounts.signup("admin@example.com", PASSWORD)
    user = accounts.signup("u@example.com", PASSWORD)
    a, b = accounts.open_session(user.id), accounts.open_session(user.id)
    with pytest.raises(InvalidRequestError):
        accounts.change_password(user.id, "wrong password", "another password")
    fresh = accounts.change_password(user.id, PASSWORD, "another password")
    assert accounts.session_user(a.token) is None and accounts.session_user(b.token) is None
    assert accounts.session_user(fresh.token) is not None
    assert accounts.login("u@example.com", "another password", "ip").id == user.id

    _, secret = accounts.create_api_key(user.id, "k")
    accounts.update_user(user.id, {"is_active": False})
    assert accounts.session_user(fresh.token) is None
    assert accounts.api_key_user(secret) is None
    with pytest.raises(PermissionDeniedError):
        accounts.login("u@example.com", "another password", "ip")
    accounts.update_user(user.id, {"is_active": True, "password": "reset by admin"})
    assert accounts.api_key_user(secret) is not None
    assert accounts.login("u@example.com", "reset by admin", "ip").id == user.id
    with pytest.raises(ConflictError):  # the last active admin stays
        accounts.update_user(admin.id, {"role": "user"})
    with pytest.raises(ConflictError):
        accounts.update_user(admin.id, {"is_active": False})
    accounts.update_user(user.id, {"role": "admin"})
    assert accounts.update_user(admin.id, {"role": "user"}).role == "user"
    with pytest.raises(NotFoundError):
        accounts.update_user("nobody", {"name": "x"})
    with pytest.raises(InvalidRequestError):
        accounts.update_user(user.id, {"password_hash": "x"})


def test_api_keys_are_hashed_and_revocable(db: Database) -> None:
    accounts = service(db)
    alice = accounts.signup("alice@example.com", PASSWORD)
    bob = accounts.signup("bob@example.com", PASSWORD)
    key, secret = accounts.create_api_key(alice.id, "laptop")
    assert secret.startswith("csk-") and len(secret) > 40 and secret.startswith(key.prefix)
    assert key.key_hash == sha256(secret) and secret not in (key.key_hash, key.prefix)
    found = accounts.api_key_user(secret)
    assert found is not None and found.id == alice.id
    assert [k.name for k in accounts.api_keys(alice.id)] == ["laptop"]
    assert accounts.api_keys(alice.id)[0].last_used_at is not None
    assert accounts.api_key_user(secret + "x") is None and accounts.api_key_user("sk-1") is None
    with pytest.raises(NotFoundError):
        accounts.revoke_api_key(bob.id, key.id)
    accounts.revoke_api_key(alice.id, key.id)
    assert accounts.api_key_user(secret) is None and accounts.api_keys(alice.id) == []
    with pytest.raises(NotFoundError):
        accounts.revoke_api_key(alice.id, key.id)


def test_failed_logins_are_throttled_per_email_and_per_address(db: Database) -> None:
    accounts = service(db, login_attempts_per_email=2, login_attempts_per_ip=3)
    accounts.signup("a@example.com", PASSWORD)
    accounts.signup("b@example.com", PASSWORD)
    for _ in range(2):
        with pytest.raises(AuthenticationError):
            accounts.login("a@example.com", "bad password", "10.0.0.1")
    with pytest.raises(RateLimitError) as info:
        accounts.login("a@example.com", PASSWORD, "10.0.0.2")  # blocked, whatever the address
    assert 0 < info.value.retry_after <= 900
    assert accounts.login("b@example.com", PASSWORD, "10.0.0.1")  # other emails still may
    with pytest.raises(AuthenticationError):
        accounts.login("b@example.com", "bad password", "10.0.0.1")  # the address's third
    with pytest.raises(RateLimitError):
        accounts.login("b@example.com", PASSWORD, "10.0.0.1")
    assert accounts.login("b@example.com", PASSWORD, "10.0.0.3")
    for _ in range(2):  # unknown emails count too
        with pytest.raises(AuthenticationError):
            accounts.login("ghost@example.com", "whatever", "10.0.0.9")
    with pytest.raises(RateLimitError):
        accounts.login("ghost@example.com", "whatever", "10.0.0.9")


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_throttle_windows_slide(db: Database) -> None:
    clock = Clock(60 * 16_666_666 + 20.0)  # 20 s into a minute, 2 s into a 6 s slice
    throttle = Throttle(db, clock)
    assert throttle.hit("k", 60) == 1
    assert throttle.hit("k", 60) == 2
    with pytest.raises(RateLimitError) as info:
        throttle.check("k", 2, 60, "slow down")
    assert info.value.retry_after == 58  # when the hits' slice leaves the window
    clock.now += 40  # past the minute's end: a fixed window would have forgotten them
    with pytest.raises(RateLimitError):
        throttle.check("k", 2, 60, "slow down")
    clock.now += 18
    throttle.check("k", 2, 60, "slow down")
    assert throttle.hit("k", 60) == 1


def test_failures_just_before_a_boundary_still_count_just_after(db: Database) -> None:
    clock = Clock(900 * 2_000_000 - 1.0)  # one second before a 15-minute boundary
    throttle = Throttle(db, clock)
    for _ in range(5):
        throttle.hit("login", 900)
    clock.now += 2
    with pytest.raises(RateLimitError) as info:
        throttle.check("login", 5, 900, "wait")
    assert info.value.retry_after == 809  # their 90 s slice began 91 s before
    clock.now += 10  # a sixth attempt later on: the window now counts one more
    assert throttle.hit("login", 900) == 6
    with pytest.raises(RateLimitError) as info:
        throttle.check("login", 5, 900, "wait")
    assert info.value.retry_after == 799  # when the five older ones leave, not the sixth


def test_a_refused_event_is_not_counted(db: Database) -> None:
    """A client that retries every 3 s gets in once the first slice leaves, as Retry-After
    said; counting its refused tries would keep it out for as long as it keeps trying."""
    clock = Clock(60 * 16_666_666 + 20.0)
    throttle = Throttle(db, clock)
    assert throttle.take("rpm", 2, 60) is None
    assert throttle.take("rpm", 2, 60) is None
    assert throttle.take("rpm", 2, 60) == 58
    for _ in range(19):
        clock.now += 3
        assert throttle.take("rpm", 2, 60) is not None
    clock.now += 1  # 58 s on
    assert throttle.take("rpm", 2, 60) is None


def test_a_clock_set_back_does_not_lock_anyone_out_for_longer_than_the_window(
    db: Database,
) -> None:
    clock = Clock(900 * 2_000_000 + 3600.0)
    throttle = Throttle(db, clock)
    for _ in range(5):
        throttle.hit("login", 900)
    clock.now -= 3600  # the slices above are an hour ahead now
    throttle.check("login", 5, 900, "wait")


def test_quotas_and_the_ledger(db: Database) -> None:
    clock = Clock(1_700_000_000.0)
    accounts = service(db)
    user = accounts.signup("q@example.com", PASSWORD)
    quotas = QuotaService(db, Limits(requests_per_minute=2, tokens_per_day=100), clock)
    caller = quotas.caller(user)
    assert caller.limits == Limits(2, 100)  # the defaults, since the user has none
    quotas.admit(caller)
    quotas.admit(caller)
    with pytest.raises(RateLimitError) as info:
        quotas.admit(caller)
    assert info.value.code == "requests_per_minute_exceeded" and 1 <= info.value.retry_after <= 60
    clock.now += 60
    quotas.admit(caller)
    quotas.record(user.id, "m1", Usage(60, 30))
    quotas.record(user.id, "m2", Usage(5, 5))
    clock.now += 60
    with pytest.raises(RateLimitError) as info:
        quotas.admit(caller)
    assert info.value.code == "tokens_per_day_exceeded"
    assert info.value.retry_after == 86400 - int(clock.now) % 86400
    rows = quotas.usage_since(1)
    assert {(r.model, r.requests, r.prompt_tokens, r.completion_tokens) for r in rows} == {
        ("m1", 1, 60, 30), ("m2", 1, 5, 5),
    }  # fmt: skip
    clock.now += 86400  # a new UTC day: a fresh quota, yesterday stays in the ledger
    quotas.admit(caller)
    assert len(quotas.usage_since(1)) == 0 and len(quotas.usage_since(2)) == 2
    own = accounts.update_user(user.id, {"requests_per_minute": 50, "tokens_per_day": None})
    assert quotas.caller(own).limits == Limits(50, 100)


def request(model: str = "") -> GenerationRequest:
    return GenerationRequest(model=model, params=SamplingParams(max_tokens=3), prompt="hi")


def test_metered_engine_records_usage_for_the_bound_caller(db: Database) -> None:
    accounts = service(db)
    user = accounts.signup("m@example.com", PASSWORD)
    quotas = QuotaService(db)
    engine = MeteredEngine(ScriptedEngine(("a", "b", "c")), quotas)

    async def run() -> None:
        async for _ in await engine.submit(request()):  # nobody bound: not counted
            pass
        bind_caller(quotas.caller(user))
        async for _ in await engine.submit(request("SCRIPTED")):
            pass
        stream = await engine.submit(request())  # cut short after one piece
        async for _ in stream:
            break
        await stream.aclose()
        await asyncio.sleep(0.2)  # the partial record is written off the event loop

    asyncio.run(run())
    rows = quotas.usage_since(1)
    assert [(r.model, r.requests, r.prompt_tokens, r.completion_tokens) for r in rows] == [
        ("scripted", 2, 5, 4)
    ]


def test_metered_wraps_once_and_enforces_limits(db: Database) -> None:
    user = service(db).signup("w@example.com", PASSWORD)
    quotas = QuotaService(db)
    caller = Caller(user.id, Limits(requests_per_minute=1))
    engine = metered(MeteredEngine(ScriptedEngine(), quotas), quotas, caller)

    async def run() -> None:
        bind_caller(caller)  # would count twice if `metered` did not unwrap
        async for _ in await engine.submit(request()):
            pass
        with pytest.raises(RateLimitError):
            await engine.submit(request())

    asyncio.run(run())
    assert [r.requests for r in quotas.usage_since(1)] == [1]


def test_cli_create_admin(db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    settings = Settings(data_dir=tmp_path, database_url=db_url)
    run_create_admin(settings, "Root@Example.com", PASSWORD, name="Root")
    assert "root@example.com" in capsys.readouterr().out
    database = Database(db_url)
    try:
        accounts = service(database)
        assert accounts.login("root@example.com", PASSWORD, "cli").role == "admin"
        assert accounts.signup("next@example.com", PASSWORD).role == "user"
        with pytest.raises(ConflictError):
            run_create_admin(settings, "root@example.com", PASSWORD)
    finally:
        database.close()
