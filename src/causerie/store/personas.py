"""Personas: a user's own, plus those the admin shared with everyone."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from causerie.store.tables import Persona


class PersonaRepo:
    def __init__(self, session: Session) -> None:
        self.s = session

    def visible(self, user_id: str) -> Sequence[Persona]:
        return self.s.scalars(
            select(Persona)
            .where(or_(Persona.user_id == user_id, Persona.shared.is_(True)))
            .order_by(Persona.name, Persona.id)
        ).all()

    def get_visible(self, user_id: str, persona_id: str) -> Persona | None:
        return self.s.scalar(
            select(Persona).where(
                Persona.id == persona_id,
                or_(Persona.user_id == user_id, Persona.shared.is_(True)),
            )
        )

    def create(self, user_id: str, **fields: Any) -> Persona:
        persona = Persona(user_id=user_id, **fields)
        self.s.add(persona)
        self.s.flush()
        return persona

    def delete(self, persona: Persona) -> None:
        self.s.delete(persona)
