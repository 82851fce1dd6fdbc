"""The app's lifespan releases what it acquired, in reverse order, also when start-up
fails half-way (a model that will not load): nothing keeps running, the database closes."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from causerie.api.app import create_app
from causerie.core.errors import ConfigurationError
from causerie.core.settings import Settings
from causerie.store.db import Database
from tests.support.fake_engine import ScriptedEngine


class Recording(ScriptedEngine):
    def __init__(self, log: list[str], fail: bool = False) -> None:
        super().__init__()
        self.log, self.fails = log, fail

    async def start(self) -> None:
        self.log.append("engine start")
        if self.fails:
            raise ConfigurationError("the model will not load")

    async def close(self) -> None:
        self.log.append("engine close")


class RecordingDatabase(Database):
    def __init__(self, url: str, log: list[str]) -> None:
        super().__init__(url)
        self.log = log

    def close(self) -> None:
        self.log.append("db close")
        super().close()


def run_lifespan(tmp_path: Path, engine: Recording, log: list[str]) -> None:
    db = RecordingDatabase(f"sqlite:///{tmp_path / 'causerie.db'}", log)
    app = create_app(Settings(data_dir=tmp_path), engine, db=db)

    async def go() -> None:
        before = asyncio.all_tasks()
        try:
            async with app.router.lifespan_context(app):
                log.append("serving")
        finally:
            left = [t for t in asyncio.all_tasks() - before if t is not asyncio.current_task()]
            log.append(f"tasks left {len(left)}")

    asyncio.run(go())


def test_a_clean_run_releases_everything_in_reverse_order(tmp_path: Path) -> None:
    log: list[str] = []
    run_lifespan(tmp_path, Recording(log), log)
    assert log == ["engine start", "serving", "engine close", "db close", "tasks left 0"]


def test_a_failed_start_still_releases_what_came_before(tmp_path: Path) -> None:
    log: list[str] = []
    with pytest.raises(ConfigurationError):
        run_lifespan(tmp_path, Recording(log, fail=True), log)
    assert log == ["engine start", "engine close", "db close", "tasks left 0"]
