"""Export a user's conversations (whole trees as JSON, active paths as Markdown) and import
Causerie JSON or ChatGPT's `conversations.json`.

Imports always get fresh ids (an import can never touch existing rows) and keep the tree
shape and each message's checked `meta` (tool calls and results, sources, citations);
anything malformed is refused with a 400 before anything is written.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from causerie.chat.transfer_input import check_text, import_time
from causerie.chat.transfer_meta import clean_meta
from causerie.chat.tree import children_of, path_to
from causerie.core.errors import InvalidRequestError
from causerie.store.db import Database
from causerie.store.tables import ChatMessage, Conversation, new_id

FORMAT = "causerie"
ROLES = {"system", "user", "assistant", "tool"}
MAX_CONVERSATIONS = 10_000


def _iso(value: datetime) -> str:
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).isoformat()


def _message_dict(m: ChatMessage) -> dict[str, Any]:
    return {
        "id": m.id,
        "parent_id": m.parent_id,
        "role": m.role,
        "content": m.content,
        "status": m.status,
        "model": m.model,
        "created_at": _iso(m.created_at),
        "prompt_tokens": m.prompt_tokens,
        "completion_tokens": m.completion_tokens,
        "meta": dict(m.meta or {}),
    }


def _conversation_dict(c: Conversation, messages: list[ChatMessage]) -> dict[str, Any]:
    return {
        "id": c.id,
        "title": c.title,
        "model": c.model,
        "system_prompt": c.system_prompt,
        "params": dict(c.params or {}),
        "pinned": c.pinned,
        "archived": c.archived,
        "created_at": _iso(c.created_at),
        "updated_at": _iso(c.updated_at),
        "current_leaf_id": c.current_leaf_id,
        "messages": [_message_dict(m) for m in messages],
    }


def export_json(db: Database, user_id: str) -> dict[str, Any]:
    with db.unit() as uow:
        convs = [
            _conversation_dict(c, list(uow.messages.all_in(c.id)))
            for c in uow.conversations.all_for(user_id)
        ]
    return {
        "format": FORMAT,
        "version": 1,
        "exported_at": _iso(datetime.now(UTC)),
        "conversations": convs,
    }


def export_markdown(db: Database, user_id: str) -> str:
    parts: list[str] = []
    with db.unit() as uow:
        for conv in uow.conversations.all_for(user_id):
            path = path_to(list(uow.messages.all_in(conv.id)), conv.current_leaf_id)
            parts.append(f"# {conv.title or 'Untitled'}\n\n_{_iso(conv.created_at)}_\n")
            if conv.system_prompt:
                parts.append(f"**System:** {conv.system_prompt}\n")
            parts += [_markdown_message(m) for m in path]
            parts.append("---\n")
    return "\n".join(parts)


def _fenced(text: str, lang: str = "") -> str:
    """`text` in a code fence longer than any run of backticks inside it."""
    ticks = "`" * max(3, _longest_run(text) + 1)
    return f"{ticks}{lang}\n{text}\n{ticks}"


def _longest_run(text: str) -> int:
    best = run = 0
    for char in text:
        run = run + 1 if char == "`" else 0
        best = max(best, run)
    return best


def _markdown_message(m: ChatMessage) -> str:
    meta = m.meta or {}
    if m.role == "tool":
        name = str(meta.get("name") or "tool")
        parts = [f"**Tool result ({name}):**\n"]
        if meta.get("arguments"):
            parts.append(f"Arguments:\n\n{_fenced(str(meta['arguments']), 'json')}\n")
        parts.append(_fenced(m.content) + "\n")
        return "\n".join(parts)
    parts = [f"**{m.role.capitalize()}:**\n"]
    if m.content:
        parts.append(f"{m.content}\n")
    for call in meta.get("tool_calls") or []:
        name, arguments = str(call.get("name", "")), str(call.get("arguments", ""))
        parts.append(f"Calls the tool {name}:\n\n{_fenced(arguments, 'json')}\n")
    sources = meta.get("sources") or []
    if sources:
        lines = ["Sources:", ""]
        for s in sources:
            heading = f" — {s['heading']}" if s.get("heading") else ""
            lines.append(f"- [{s.get('n')}] {s.get('filename', '')}{heading}")
        parts.append("\n".join(lines) + "\n")
    return "\n".join(parts)


# --- import ---------------------------------------------------------------------------------


def _time(value: Any, where: str) -> datetime:
    return value if isinstance(value, datetime) else import_time(value, where)


def _from_causerie(data: dict[str, Any]) -> list[dict[str, Any]]:
    convs = data.get("conversations")
    if not isinstance(convs, list):
        raise InvalidRequestError("a Causerie export needs a 'conversations' list")
    return convs


def _chatgpt_text(message: dict[str, Any]) -> str:
    content = message.get("content") or {}
    parts = content.get("parts") if isinstance(content, dict) else None
    if isinstance(parts, list):
        return "\n".join(p for p in parts if isinstance(p, str))
    text = content.get("text") if isinstance(content, dict) else None
    return text if isinstance(text, str) else ""


def _visible_parent(
    nodes: dict[str, dict[str, Any]], kept: dict[str, Any], node_id: Any
) -> str | None:
    """The nearest ancestor (or self) that was kept; hidden system/tool nodes are skipped."""
    seen: set[str] = set()
    while isinstance(node_id, str) and node_id in nodes and node_id not in seen:
        seen.add(node_id)
        if node_id in kept:
            return node_id
        node = nodes[node_id]
        node_id = node.get("parent") if isinstance(node, dict) else None
    return None


def _from_chatgpt(items: list[Any]) -> list[dict[str, Any]]:
    """ChatGPT's export: conversations with a `mapping` of nodes linked by `parent`."""
    out: list[dict[str, Any]] = []
    for i, item in enumerate(items):
        if not isinstance(item, dict) or not isinstance(item.get("mapping"), dict):
            raise InvalidRequestError("not a ChatGPT export: a conversation has no 'mapping'")
        nodes: dict[str, dict[str, Any]] = item["mapping"]
        kept: dict[str, dict[str, Any]] = {}
        times: dict[str, tuple[float, datetime]] = {}  # sort key (no time first), time
        for node_id, node in nodes.items():
            message = node.get("message") if isinstance(node, dict) else None
            if isinstance(message, dict):
                raw = message.get("create_time")
                at = _time(raw, f"[{i}].mapping.{node_id[:40]}.message.create_time")
                times[node_id] = (0.0 if raw is None else at.timestamp(), at)
        for node_id in sorted(times, key=lambda k: times[k][0]):
            node = nodes[node_id]
            message = node["message"]
            author = message.get("author")
            role = author.get("role") if isinstance(author, dict) else None
            text = _chatgpt_text(message)
            if role not in ("user", "assistant") or not text.strip():
                continue
            kept[node_id] = {
                "id": node_id,
                "role": role,
                "content": text,
                "created_at": times[node_id][1],
                "parent_raw": node.get("parent"),
            }
        messages = []
        for node_id, entry in kept.items():
            parent = _visible_parent(nodes, kept, entry.pop("parent_raw"))
            messages.append({**entry, "parent_id": parent if parent != node_id else None})
        current = _visible_parent(nodes, kept, item.get("current_node"))
        out.append(
            {
                "title": item.get("title") or "",
                "created_at": _time(item.get("create_time"), f"[{i}].create_time"),
                "updated_at": _time(item.get("update_time"), f"[{i}].update_time"),
                "current_leaf_id": current,
                "messages": messages,
            }
        )
    return out


def parse_import(data: Any) -> list[dict[str, Any]]:
    check_text(data)
    if isinstance(data, dict) and data.get("format") == FORMAT:
        convs = _from_causerie(data)
    elif isinstance(data, list):
        convs = _from_chatgpt(data)
    else:
        raise InvalidRequestError(
            "unknown format: expected a Causerie export or ChatGPT's conversations.json"
        )
    if len(convs) > MAX_CONVERSATIONS:
        raise InvalidRequestError(f"at most {MAX_CONVERSATIONS} conversations per import")
    return convs


def import_conversations(db: Database, user_id: str, data: Any) -> int:
    convs = parse_import(data)
    with db.unit() as uow:
        for i, raw in enumerate(convs):
            if not isinstance(raw, dict) or not isinstance(raw.get("messages"), list):
                raise InvalidRequestError("each conversation needs a 'messages' list")
            where = f"conversations[{i}]"
            conv = uow.conversations.create(
                user_id,
                title=str(raw.get("title") or "")[:300],
                system_prompt=str(raw.get("system_prompt") or ""),
                model=str(raw.get("model") or "")[:200],
                created_at=_time(raw.get("created_at"), f"{where}.created_at"),
                updated_at=_time(raw.get("updated_at"), f"{where}.updated_at"),
            )
            ids = {str(m.get("id")): new_id() for m in raw["messages"] if isinstance(m, dict)}
            by_new = {ids[str(m.get("id"))]: m for m in raw["messages"] if isinstance(m, dict)}
            position = {id(m): j for j, m in enumerate(raw["messages"])}
            kids = children_of([_Node(k, _parent(m, ids)) for k, m in by_new.items()])
            pending = list(kids.get(None, []))
            while pending:  # parents before children; unreachable (cyclic) nodes are dropped
                node = pending.pop(0)
                m = by_new[node.id]
                role = m["role"] if str(m.get("role")) in ROLES else "user"
                at = f"{where}.messages[{position[id(m)]}].created_at"
                uow.messages.add(
                    conv,
                    parent_id=node.parent_id,
                    role=role,
                    content=str(m.get("content") or ""),
                    id=node.id,
                    status="complete",
                    model=str(m["model"])[:200] if m.get("model") is not None else None,
                    created_at=_time(m.get("created_at"), at),
                    meta=clean_meta(m.get("meta")),
                )
                pending += kids.get(node.id, [])
            leaf = ids.get(str(raw.get("current_leaf_id")))
            conv.current_leaf_id = leaf or (list(ids.values())[-1] if ids else None)
        uow.commit()
    return len(convs)


class _Node:
    def __init__(self, id: str, parent_id: str | None) -> None:
        self.id, self.parent_id = id, parent_id


def _parent(m: dict[str, Any], ids: dict[str, str]) -> str | None:
    parent = m.get("parent_id")
    return ids.get(str(parent)) if parent is not None else None
