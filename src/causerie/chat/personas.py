"""Personas: name, description, system prompt, model and sampling defaults.

Private to their author, or shared with everyone — only an admin may share. Only the
author (or an admin, for a shared one) may change or delete a persona.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from causerie.chat.conversations import clean_params
from causerie.core.errors import NotFoundError, PermissionDeniedError
from causerie.store.db import Database
from causerie.store.tables import Persona

FIELDS = ("name", "description", "system_prompt", "model", "params", "shared")


def editable(persona: Persona | None, user_id: str, is_admin: bool) -> Persona:
    """A persona the user may change: their own, or a shared one for an administrator."""
    if persona is None:
        raise NotFoundError("persona not found", param="persona_id")
    if persona.user_id != user_id and not (persona.shared and is_admin):
        raise PermissionDeniedError("this persona is shared by an administrator")
    return persona


@dataclass(frozen=True)
class PersonaView:
    id: str
    name: str
    description: str
    system_prompt: str
    model: str | None
    params: dict[str, Any]
    shared: bool
    mine: bool


def persona_view(p: Persona, user_id: str) -> PersonaView:
    return PersonaView(
        id=p.id,
        name=p.name,
        description=p.description,
        system_prompt=p.system_prompt,
        model=p.model,
        params=dict(p.params or {}),
        shared=p.shared,
        mine=p.user_id == user_id,
    )


class Personas:
    def __init__(self, db: Database, user_id: str, is_admin: bool) -> None:
        self.db, self.user_id, self.is_admin = db, user_id, is_admin

    def list(self) -> list[PersonaView]:
        with self.db.unit() as uow:
            return [persona_view(p, self.user_id) for p in uow.personas.visible(self.user_id)]

    def get(self, persona_id: str) -> PersonaView:
        with self.db.unit() as uow:
            found = uow.personas.get_visible(self.user_id, persona_id)
            if found is None:
                raise NotFoundError("persona not found", param="persona_id")
            return persona_view(found, self.user_id)

    def create(self, **fields: Any) -> PersonaView:
        if fields.get("shared") and not self.is_admin:
            raise PermissionDeniedError("only an administrator can share a persona")
        values = {k: v for k, v in fields.items() if k in FIELDS}
        values["params"] = clean_params(values.get("params"))
        with self.db.unit() as uow:
            persona = uow.personas.create(self.user_id, **values)
            uow.commit()
            return persona_view(persona, self.user_id)

    def update(self, persona_id: str, **changes: Any) -> PersonaView:
        with self.db.unit() as uow:
            persona = self._editable(uow.personas.get_visible(self.user_id, persona_id))
            if changes.get("shared") is not None and not self.is_admin:
                raise PermissionDeniedError("only an administrator can share a persona")
            for key, value in changes.items():
                if key in FIELDS and value is not None:
                    setattr(persona, key, clean_params(value) if key == "params" else value)
            uow.commit()
            return persona_view(persona, self.user_id)

    def delete(self, persona_id: str) -> None:
        with self.db.unit() as uow:
            uow.personas.delete(self._editable(uow.personas.get_visible(self.user_id, persona_id)))
            uow.commit()

    def _editable(self, persona: Persona | None) -> Persona:
        return editable(persona, self.user_id, self.is_admin)
