"""`/api/me/settings` (custom instructions, theme, language) and `/api/search`."""

from __future__ import annotations

import asyncio
from dataclasses import asdict
from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from causerie.api.deps import DbDep
from causerie.api.native.bounds import MAX_OFFSET
from causerie.api.security import CurrentUser
from causerie.chat.settings import UserSettings

router = APIRouter(prefix="/api", tags=["me"])


class Preferences(BaseModel):
    theme: Literal["light", "dark", "system"] = "system"
    language: Literal["auto", "en", "fr"] = "auto"


class SettingsOut(BaseModel):
    custom_instructions: str
    preferences: Preferences


class SettingsIn(BaseModel):
    custom_instructions: str = Field(default="", max_length=5000)
    preferences: Preferences = Preferences()


class SearchHitOut(BaseModel):
    conversation_id: str
    conversation_title: str
    message_id: str
    role: str
    snippet: str
    created_at: datetime


class SearchResults(BaseModel):
    data: list[SearchHitOut]


def _out(values: dict[str, Any]) -> SettingsOut:
    """Stored preferences that no longer validate (an older version's) fall back to defaults."""
    prefs = {k: v for k, v in values["preferences"].items() if k in Preferences.model_fields}
    try:
        preferences = Preferences.model_validate(prefs)
    except ValueError:
        preferences = Preferences()
    return SettingsOut(custom_instructions=values["custom_instructions"], preferences=preferences)


@router.get("/me/settings")
def get_settings(user: CurrentUser, db: DbDep) -> SettingsOut:
    return _out(UserSettings(db, user.id).get())


@router.put("/me/settings")
def put_settings(body: SettingsIn, user: CurrentUser, db: DbDep) -> SettingsOut:
    saved = UserSettings(db, user.id).put(body.custom_instructions, body.preferences.model_dump())
    return _out(saved)


@router.get("/search")
async def search(
    user: CurrentUser,
    db: DbDep,
    q: str = Query(default="", max_length=500),
    limit: int = Query(default=20, ge=1, le=100),
    offset: int = Query(default=0, ge=0, le=MAX_OFFSET),
) -> SearchResults:
    hits = await asyncio.to_thread(UserSettings(db, user.id).search, q, limit, offset)
    return SearchResults(data=[SearchHitOut(**asdict(h)) for h in hits])
