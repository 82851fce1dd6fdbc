"""Collections and attachments in the store on SQLite and PostgreSQL: visibility of own and
shared collections, the scoped chunk search (own or shared only, inside the SQL), and the
cascades when a document, a collection or a conversation goes."""

from __future__ import annotations

from sqlalchemy import func, select

from causerie.store.db import Database
from causerie.store.tables import Attachment, CollectionDocument, DocumentChunk
from tests.store.test_document_search import add_document, add_user


def scoped(db: Database, user_id: str, query: str, ids: set[str] | None) -> list[str]:
    with db.unit() as uow:
        return [h.text for h in uow.documents.search_chunks(user_id, query, 10, ids)]


def test_collections_are_seen_by_their_owner_and_shared_ones_by_all(db: Database) -> None:
    alice, bob = add_user(db, "a@example.org"), add_user(db, "b@example.org")
    with db.unit() as uow:
        private = uow.collections.create(alice, name="Private")
        shared = uow.collections.create(alice, name="Handbook", shared=True)
        uow.commit()
        private_id, shared_id = private.id, shared.id
    with db.unit() as uow:
        assert [c.name for c in uow.collections.visible(alice)] == ["Handbook", "Private"]
        assert [c.name for c in uow.collections.visible(bob)] == ["Handbook"]
        assert uow.collections.get_visible(bob, private_id) is None
        assert uow.collections.get_visible(bob, shared_id) is not None


def test_scoped_search_reads_own_and_shared_documents_only(db: Database) -> None:
    alice, bob = add_user(db, "a2@example.org"), add_user(db, "b2@example.org")
    mine = add_document(db, bob, "bob quokka notes")
    secret = add_document(db, alice, "alice quokka secret canary")
    public = add_document(db, alice, "alice quokka handbook")
    with db.unit() as uow:
        handbook = uow.collections.create(alice, name="Handbook", shared=True)
        hidden = uow.collections.create(alice, name="Hidden")
        uow.collections.add_document(handbook.id, public)
        uow.collections.add_document(hidden.id, secret)
        uow.commit()
        handbook_id, hidden_id = handbook.id, hidden.id
    # bob names every id: only his own and the shared one are searched
    assert sorted(scoped(db, bob, "quokka", {mine, secret, public})) == [
        "alice quokka handbook",
        "bob quokka notes",
    ]
    assert scoped(db, bob, "quokka", set()) == []
    assert scoped(db, bob, "quokka", None) == ["bob quokka notes"]  # unscoped: own only
    assert scoped(db, alice, "quokka", {mine}) == []
    with db.unit() as uow:
        assert uow.collections.member_ids(bob, [handbook_id, hidden_id]) == {public}
        assert uow.collections.member_ids(alice, [handbook_id, hidden_id]) == {public, secret}
        assert [c.text for c in uow.documents.chunks(bob, public, shared=True)] == [
            "alice quokka handbook"
        ]
        assert uow.documents.chunks(bob, public) == []
        assert uow.documents.chunks(bob, secret, shared=True) == []
        # unsharing takes the documents out of everyone else's reach at once
        col = uow.collections.get_visible(alice, handbook_id)
        assert col is not None
        col.shared = False
        uow.commit()
    assert scoped(db, bob, "quokka", {public}) == []


def test_deleting_a_document_takes_its_chunks_memberships_and_attachments(db: Database) -> None:
    alice = add_user(db, "a3@example.org")
    doc = add_document(db, alice, "one", "two")
    with db.unit() as uow:
        conv = uow.conversations.create(alice, title="t")
        col = uow.collections.create(alice, name="C")
        uow.collections.add_document(col.id, doc)
        first = uow.attachments.add(alice, conversation_id=conv.id, document_id=doc)
        again = uow.attachments.add(alice, conversation_id=conv.id, document_id=doc)
        assert first.id == again.id  # attached once
        uow.attachments.add(alice, conversation_id=conv.id, collection_id=col.id)
        uow.commit()
        conv_id, col_id = conv.id, col.id
    with db.unit() as uow:
        assert len(uow.attachments.of_conversation(alice, conv_id)) == 2
        document = uow.documents.get(alice, doc)
        assert document is not None
        uow.documents.delete(document)
        uow.commit()
    with db.unit() as uow:
        s = uow.session
        assert s.scalar(select(func.count()).select_from(DocumentChunk)) == 0
        assert s.scalar(select(func.count()).select_from(CollectionDocument)) == 0
        assert [a.collection_id for a in uow.attachments.of_conversation(alice, conv_id)] == [
            col_id
        ]
        collection = uow.collections.get_visible(alice, col_id)
        assert collection is not None
        uow.collections.delete(collection)
        uow.commit()
    with db.unit() as uow:
        assert uow.session.scalar(select(func.count()).select_from(Attachment)) == 0
