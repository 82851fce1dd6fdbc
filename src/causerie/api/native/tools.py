"""`/api/tools`: the chat tools a user may enable per conversation (name, i18n title key,
description, JSON-Schema parameters). Enabling happens in the conversation's params."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel

from causerie.api.security import CurrentUser
from causerie.chat.tools import TOOLS

router = APIRouter(prefix="/api/tools", tags=["tools"])


class ToolOut(BaseModel):
    name: str
    title: str
    description: str
    parameters: dict[str, Any]


class ToolList(BaseModel):
    data: list[ToolOut]


@router.get("")
def list_tools(user: CurrentUser) -> ToolList:
    return ToolList(
        data=[
            ToolOut(name=t.name, title=t.title, description=t.description, parameters=t.parameters)
            for t in TOOLS.values()
        ]
    )
