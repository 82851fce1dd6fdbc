"""KV-cache slots and the RAM parking lot for evicted conversations.

A `Slot` is one llama.cpp sequence id; `cache` is exactly the tokens whose K/V it holds.
`choose_slot` picks where a new prompt goes: the free slot sharing the longest prefix with
it, else an empty or least-recently-used slot, into which a parked cache that shares more
is restored. Parked caches stay in the lot when restored (a slot may use only their start);
one that a newly parked cache extends is dropped as redundant.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

PARK_MIN_TOKENS = 32  # shorter caches are not parked: few are ever asked for again
# Copying a cache into a slot (from another slot or from the lot) takes the whole source,
# and costs far less than prefilling: on the bundled model, on 2 cores, 2.5 us per token
# for a slot copy and 0.6 us for a restore from RAM, against about 2 ms per prefilled
# token. A copy is made when it saves a few tokens and at least 1/64 of what it copies
# (kept this low so that a larger model, or a slower memory, still gains).
COPY_TOKENS_PER_SAVED = 64
COPY_MIN_SAVED = 4


def copy_pays(saved: int, copied: int) -> bool:
    """Whether copying `copied` cached tokens beats prefilling the `saved` it spares."""
    return saved >= COPY_MIN_SAVED and saved * COPY_TOKENS_PER_SAVED >= copied


def common_prefix(a: list[int], b: list[int]) -> int:
    """Length of the longest common prefix (slice compares run in C)."""
    n = min(len(a), len(b))
    if a[:n] == b[:n]:
        return n
    lo, hi = 0, n  # invariant: a[:lo] == b[:lo] and a[:hi] != b[:hi]
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if a[lo:mid] == b[lo:mid]:
            lo = mid
        else:
            hi = mid
    return lo


@dataclass(eq=False)
class Slot:
    id: int
    cache: list[int] = field(default_factory=list)
    busy: Any = None  # the Sequence using it, or None when free
    last_used: float = 0.0


@dataclass(eq=False)
class Parked:
    tokens: list[int]
    state: bytearray


class ParkingLot:
    """Evicted KV states in RAM; beyond `capacity` bytes the least recently parked or
    restored is dropped first."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.used = 0
        self._items: OrderedDict[int, Parked] = OrderedDict()
        self._next = 0

    def __len__(self) -> int:
        return len(self._items)

    def put(self, tokens: list[int], state: bytearray) -> None:
        if len(state) > self.capacity:
            return
        covered = [
            k for k, it in self._items.items() if common_prefix(tokens, it.tokens) == len(it.tokens)
        ]
        for key in covered:
            self.used -= len(self._items.pop(key).state)  # the new one holds all of it
        self._items[self._next] = Parked(tokens, state)
        self._next += 1
        self.used += len(state)
        while self.used > self.capacity:
            _, dropped = self._items.popitem(last=False)
            self.used -= len(dropped.state)

    def best(self, prompt: list[int], have: int) -> tuple[int | None, int]:
        """The parked cache worth restoring for `prompt` into a slot that keeps `have` of
        its tokens: of those whose copy pays, the one sharing most (the shortest among
        equals); its key and the length it shares, or (None, have)."""
        best_key, best_len, best_size = None, have, 0
        for key, item in self._items.items():
            n = common_prefix(item.tokens, prompt)
            if not copy_pays(n - have, len(item.tokens)):
                continue
            if n > best_len or (n == best_len and len(item.tokens) < best_size):
                best_key, best_len, best_size = key, n, len(item.tokens)
        return best_key, best_len

    def get(self, key: int) -> Parked | None:
        """An entry, left in the lot (marked recently used); None if it was dropped to
        make room meanwhile."""
        item = self._items.get(key)
        if item is not None:
            self._items.move_to_end(key)
        return item

    def drop(self, key: int) -> None:
        """Forget an entry (one that could not be restored)."""
        item = self._items.pop(key, None)
        if item is not None:
            self.used -= len(item.state)


@dataclass(frozen=True)
class Choice:
    slot: Slot
    reuse: int  # tokens of the slot's cache (after any restore) that match the prompt
    park_first: bool  # the slot's current cache is worth parking before it is overwritten
    restore: int | None  # parking-lot key to restore into the slot first


def runs(ids: list[int]) -> int:
    """How many runs of consecutive slot ids `ids` makes: llama.cpp decodes each run of
    busy slots (one KV stream each) as a separate micro-batch, one pass over the weights."""
    ordered = sorted(ids)
    return sum(1 for i, x in enumerate(ordered) if i == 0 or x != ordered[i - 1] + 1)


def choose_slot(slots: list[Slot], lot: ParkingLot, prompt: list[int]) -> Choice | None:
    free = [s for s in slots if s.busy is None]
    if not free:
        return None
    busy = [s.id for s in slots if s.busy is not None]

    def continued(slot: Slot) -> int:
        """Tokens reused when the prompt mostly continues the slot's cache (a next turn, a
        regenerate) or keeps most of it; 0 when the slot holds another conversation."""
        shared = common_prefix(slot.cache, prompt)
        mostly = shared * 2 >= len(prompt) or shared * 2 >= len(slot.cache)
        return shared if shared > 0 and mostly else 0

    # A conversation goes back to the slot holding it. Anything else goes to an empty slot
    # where the busy slots stay in the fewest runs, else evicts the least recently used
    # cache (a split that lasts is mended later by moving the short newcomer, far cheaper
    # than parking a long conversation now); a shared start (a system prompt) is copied
    # there from any slot (`donor`).
    def rank(s: Slot) -> tuple[int, bool, float, int]:
        return (-continued(s), bool(s.cache), s.last_used if s.cache else 0.0, runs([*busy, s.id]))

    slot = min(free, key=rank)
    keep = common_prefix(slot.cache, prompt)
    park = len(slot.cache) - keep >= PARK_MIN_TOKENS
    parked_key, parked_len = lot.best(prompt, keep)
    if parked_key is not None:
        return Choice(slot, parked_len, park, parked_key)
    return Choice(slot, keep, park, None)


def best_move(slots: list[Slot]) -> tuple[Slot, Slot] | None:
    """The move of one busy slot's sequence into a free slot that leaves the busy slots in
    fewer runs, copying as little cache as possible; None when no move helps."""
    busy = {s.id for s in slots if s.busy is not None}
    now = runs(list(busy))
    best: tuple[int, int, Slot, Slot] | None = None
    for src in slots:
        if src.busy is None:
            continue
        for dst in slots:
            if dst.busy is not None:
                continue
            after = runs(list((busy - {src.id}) | {dst.id}))
            if after >= now:
                continue
            key = (after, len(src.cache) + len(dst.cache))  # copy in, park out
            if best is None or key < best[:2]:
                best = (*key, src, dst)
    return None if best is None else (best[2], best[3])


def touch(slot: Slot) -> None:
    slot.last_used = time.monotonic()


def donor(slots: list[Slot], target: Slot, prompt: list[int], have: int) -> tuple[Slot, int] | None:
    """Another slot, busy or free, whose cache starts with more of `prompt` than the `have`
    tokens `target` keeps (most often a system prompt or persona that every new chat
    shares), when copying its cache is cheaper than prefilling the difference."""
    best: tuple[Slot, int] | None = None
    for slot in slots:
        if slot is target or not slot.cache:
            continue
        shared = common_prefix(slot.cache, prompt)
        if not copy_pays(shared - have, len(slot.cache)):
            continue
        if best is None or shared > best[1]:
            best = (slot, shared)
    return best
