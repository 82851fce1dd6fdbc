"""KV-cache slots and the RAM parking lot for evicted conversations.

A `Slot` is one llama.cpp sequence id; `cache` is exactly the tokens whose K/V it holds.
`choose_slot` picks where a new prompt goes: the free slot sharing the longest prefix with
it, else a parked cache that shares more, else an empty or least-recently-used slot.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

PARK_MIN_TOKENS = 32  # caches shorter than this are cheaper to recompute than to park
# Copying a slot's cache costs about 1/64 of prefilling as many tokens (measured on the
# bundled model: ~35 us per copied token against ~2.3 ms per prefilled one, and the copy
# takes the donor's whole cache), with a floor below which a copy is not worth a step.
DONOR_TOKENS_PER_SAVED = 64
DONOR_MIN_SAVED = 4


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
    """Evicted KV states in RAM, least recently parked dropped first beyond `capacity` bytes."""

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
        self._items[self._next] = Parked(tokens, state)
        self._next += 1
        self.used += len(state)
        while self.used > self.capacity:
            _, dropped = self._items.popitem(last=False)
            self.used -= len(dropped.state)

    def best(self, prompt: list[int]) -> tuple[int | None, int]:
        """The key of the parked cache sharing the longest prefix with `prompt`, and that length."""
        best_key, best_len = None, 0
        for key, item in self._items.items():
            n = common_prefix(item.tokens, prompt)
            if n > best_len:
                best_key, best_len = key, n
        return best_key, best_len

    def take(self, key: int) -> Parked | None:
        """Remove and return an entry; None if it was dropped to make room meanwhile."""
        item = self._items.pop(key, None)
        if item is not None:
            self.used -= len(item.state)
        return item


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
    parked_key, parked_len = lot.best(prompt)
    if parked_key is not None and parked_len >= keep + PARK_MIN_TOKENS:  # worth a restore
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
        saved = shared - have
        if saved < DONOR_MIN_SAVED or saved * DONOR_TOKENS_PER_SAVED < len(slot.cache):
            continue
        if best is None or shared > best[1]:
            best = (slot, shared)
    return best
