"""A conversation's system prompt, on SQLite and PostgreSQL: made from a persona it takes
the persona's prompt unless one is given, and an empty one given on purpose stays empty;
an update may clear it too."""

from __future__ import annotations

from causerie.chat.conversations import Conversations
from causerie.chat.personas import Personas
from causerie.store.db import Database
from tests.store.test_document_search import add_user

PIRATE = "You are a pirate. Answer like a pirate."


def test_a_persona_chat_keeps_the_prompt_it_was_given(db: Database) -> None:
    alice = add_user(db, "alice@example.org")
    persona = Personas(db, alice, is_admin=False).create(name="Pirate", system_prompt=PIRATE)
    chats = Conversations(db, alice)
    assert chats.create(persona_id=persona.id).system_prompt == PIRATE  # not given
    assert chats.create(persona_id=persona.id, system_prompt=None).system_prompt == PIRATE
    cleared = chats.create(persona_id=persona.id, system_prompt="")
    assert cleared.system_prompt == "" and cleared.persona_id == persona.id
    assert chats.view(cleared.id).system_prompt == ""  # as stored
    own = chats.create(persona_id=persona.id, system_prompt="Talk like a parrot.")
    assert own.system_prompt == "Talk like a parrot."


def test_without_a_persona_no_prompt_is_an_empty_one(db: Database) -> None:
    bob = add_user(db, "bob@example.org")
    chats = Conversations(db, bob)
    assert chats.create().system_prompt == ""
    assert chats.create(system_prompt=None).system_prompt == ""
    assert chats.create(system_prompt="").system_prompt == ""
    assert chats.create(system_prompt="Be brief.").system_prompt == "Be brief."


def test_an_update_can_clear_the_prompt_and_none_leaves_it(db: Database) -> None:
    carol = add_user(db, "carol@example.org")
    persona = Personas(db, carol, is_admin=False).create(name="Pirate", system_prompt=PIRATE)
    chats = Conversations(db, carol)
    conv = chats.create(persona_id=persona.id).id
    assert chats.update(conv, system_prompt=None, title="Kept").system_prompt == PIRATE
    assert chats.update(conv, system_prompt="").system_prompt == ""
    assert chats.view(conv).system_prompt == ""
    assert chats.view(conv).title == "Kept"
