"""Knowledge attached to a conversation or a persona: collections and single documents.

A user attaches only what they may read (their own documents, their own or shared
collections) to what they may change (their conversations, their personas; an admin
also the shared personas). `scope` resolves what an answer may search.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from causerie.chat.conversations import owned_conversation
from causerie.chat.personas import editable
from causerie.core.errors import InvalidRequestError, NotFoundError
from causerie.store.db import Database
from causerie.store.tables import Attachment, Conversation, Persona
from causerie.store.unit import Unit


@dataclass(frozen=True, slots=True)
class AttachmentView:
    id: str
    kind: str  # collection | document
    source_id: str
    name: str  # the collection's name or the document's file name


def scope(uow: Unit, user_id: str, conv: Conversation) -> set[str] | None:
    """Ids of the documents attached to `conv` and its persona (None when nothing is
    attached); readability is checked again by the retrieval SQL."""
    rows = list(uow.attachments.of_conversation(user_id, conv.id))
    if conv.persona_id is not None:
        rows += uow.attachments.of_persona(user_id, conv.persona_id)
    if not rows:
        return None
    ids = {a.document_id for a in rows if a.document_id is not None}
    collections = {a.collection_id for a in rows if a.collection_id is not None}
    return ids | uow.collections.member_ids(user_id, collections)


class Attachments:
    def __init__(self, db: Database, user_id: str, is_admin: bool = False) -> None:
        self.db, self.user_id, self.is_admin = db, user_id, is_admin

    # --- conversations ------------------------------------------------------------------
    def of_conversation(self, conversation_id: str) -> list[AttachmentView]:
        with self.db.unit() as uow:
            conv = self._conversation(uow, conversation_id)
            return self._views(uow, uow.attachments.of_conversation(self.user_id, conv.id))

    def attach_to_conversation(
        self, conversation_id: str, *, collection_id: str | None, document_id: str | None
    ) -> AttachmentView:
        with self.db.unit() as uow:
            conv = self._conversation(uow, conversation_id)
            source = self._source(uow, collection_id, document_id)
            attachment = uow.attachments.add(self.user_id, conversation_id=conv.id, **source)
            uow.commit()
            return self._views(uow, [attachment])[0]

    def detach_from_conversation(self, conversation_id: str, attachment_id: str) -> None:
        with self.db.unit() as uow:
            conv = self._conversation(uow, conversation_id)
            rows = uow.attachments.of_conversation(self.user_id, conv.id)
            uow.attachments.delete(self._pick(rows, attachment_id))
            uow.commit()

    # --- personas -------------------------------------------------------------------------
    def of_persona(self, persona_id: str) -> list[AttachmentView]:
        with self.db.unit() as uow:
            persona = self._persona(uow, persona_id, edit=False)
            return self._views(uow, uow.attachments.of_persona(self.user_id, persona.id))

    def attach_to_persona(
        self, persona_id: str, *, collection_id: str | None, document_id: str | None
    ) -> AttachmentView:
        with self.db.unit() as uow:
            persona = self._persona(uow, persona_id, edit=True)
            source = self._source(uow, collection_id, document_id)
            attachment = uow.attachments.add(self.user_id, persona_id=persona.id, **source)
            uow.commit()
            return self._views(uow, [attachment])[0]

    def detach_from_persona(self, persona_id: str, attachment_id: str) -> None:
        with self.db.unit() as uow:
            persona = self._persona(uow, persona_id, edit=True)
            rows = uow.attachments.of_persona(self.user_id, persona.id)
            uow.attachments.delete(self._pick(rows, attachment_id))
            uow.commit()

    # --- helpers ----------------------------------------------------------------------------
    def _conversation(self, uow: Unit, conversation_id: str) -> Conversation:
        return owned_conversation(uow, self.user_id, conversation_id)

    def _persona(self, uow: Unit, persona_id: str, *, edit: bool) -> Persona:
        persona = uow.personas.get_visible(self.user_id, persona_id)
        if edit:
            return editable(persona, self.user_id, self.is_admin)
        if persona is None:
            raise NotFoundError("persona not found", param="persona_id")
        return persona

    def _source(
        self, uow: Unit, collection_id: str | None, document_id: str | None
    ) -> dict[str, str | None]:
        if (collection_id is None) == (document_id is None):
            raise InvalidRequestError("give either a collection_id or a document_id")
        if document_id is not None:
            if uow.documents.get(self.user_id, document_id) is None:
                raise NotFoundError("document not found", param="document_id")
            return {"document_id": document_id}
        if uow.collections.get_visible(self.user_id, collection_id or "") is None:
            raise NotFoundError("collection not found", param="collection_id")
        return {"collection_id": collection_id}

    @staticmethod
    def _pick(rows: Iterable[Attachment], attachment_id: str) -> Attachment:
        for row in rows:
            if row.id == attachment_id:
                return row
        raise NotFoundError("attachment not found", param="attachment_id")

    def _views(self, uow: Unit, rows: Iterable[Attachment]) -> list[AttachmentView]:
        """What the user may see of `rows`: another's private document or collection (on
        an admin's shared persona) is left out, as retrieval leaves it out."""
        views: list[AttachmentView] = []
        for a in rows:
            if a.document_id is not None:
                document = uow.documents.get(self.user_id, a.document_id)
                if document is not None:
                    views.append(AttachmentView(a.id, "document", a.document_id, document.filename))
            elif a.collection_id is not None:
                collection = uow.collections.get_visible(self.user_id, a.collection_id)
                if collection is not None:
                    views.append(
                        AttachmentView(a.id, "collection", a.collection_id, collection.name)
                    )
        return views
