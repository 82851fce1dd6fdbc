"""`/api/personas`: reusable system prompts with model and sampling defaults."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response
from pydantic import BaseModel, Field

from causerie.api.deps import DbDep
from causerie.api.native.conversations import Params
from causerie.api.security import CurrentUser
from causerie.chat.personas import Personas, PersonaView

router = APIRouter(prefix="/api/personas", tags=["personas"])


class PersonaCreate(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=2000)
    system_prompt: str = Field(default="", max_length=20000)
    model: str | None = Field(default=None, max_length=200)
    params: Params = Params()
    shared: bool = False


class PersonaUpdate(BaseModel):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=2000)
    system_prompt: str | None = Field(default=None, max_length=20000)
    model: str | None = Field(default=None, max_length=200)
    params: Params | None = None
    shared: bool | None = None


class PersonaOut(BaseModel):
    id: str
    name: str
    description: str
    system_prompt: str
    model: str | None
    params: dict[str, Any]
    shared: bool
    mine: bool

    @classmethod
    def of(cls, p: PersonaView) -> PersonaOut:
        return cls(**p.__dict__)


class PersonaList(BaseModel):
    data: list[PersonaOut]


def _service(db: DbDep, user: CurrentUser) -> Personas:
    return Personas(db, user.id, user.role == "admin")


@router.get("")
def list_personas(user: CurrentUser, db: DbDep) -> PersonaList:
    return PersonaList(data=[PersonaOut.of(p) for p in _service(db, user).list()])


@router.post("", status_code=201)
def create(body: PersonaCreate, user: CurrentUser, db: DbDep) -> PersonaOut:
    values = body.model_dump()
    values["params"] = body.params.model_dump(exclude_none=True)
    return PersonaOut.of(_service(db, user).create(**values))


@router.get("/{persona_id}")
def get(persona_id: str, user: CurrentUser, db: DbDep) -> PersonaOut:
    return PersonaOut.of(_service(db, user).get(persona_id))


@router.patch("/{persona_id}")
def update(persona_id: str, body: PersonaUpdate, user: CurrentUser, db: DbDep) -> PersonaOut:
    changes = body.model_dump(exclude_none=True)
    if body.params is not None:
        changes["params"] = body.params.model_dump(exclude_none=True)
    return PersonaOut.of(_service(db, user).update(persona_id, **changes))


@router.delete("/{persona_id}", status_code=204)
def delete(persona_id: str, user: CurrentUser, db: DbDep) -> Response:
    _service(db, user).delete(persona_id)
    return Response(status_code=204)
