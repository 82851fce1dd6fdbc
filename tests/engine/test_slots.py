"""Slot choice and cache donors, on token lists alone (no model)."""

from __future__ import annotations

from causerie.engine.llamacpp.slots import (
    COPY_TOKENS_PER_SAVED,
    ParkingLot,
    Slot,
    best_move,
    choose_slot,
    common_prefix,
    donor,
    runs,
)

SYSTEM = list(range(100, 140))  # a 40-token system prompt


def test_common_prefix() -> None:
    assert common_prefix([1, 2, 3], [1, 2, 4]) == 2
    assert common_prefix([1, 2], [1, 2, 3]) == 2
    assert common_prefix([], [1]) == 0
    assert common_prefix(list(range(1000)), [*range(777), -1]) == 777


def test_a_next_turn_goes_back_to_its_own_slot() -> None:
    slots = [Slot(0, [*SYSTEM, 1, 2, 3]), Slot(1, [*SYSTEM, 7, 8, 9])]
    choice = choose_slot(slots, ParkingLot(0), [*SYSTEM, 7, 8, 9, 10, 11])
    assert choice is not None and choice.slot.id == 1 and choice.reuse == 43


def test_donor_is_the_slot_sharing_most_busy_or_not() -> None:
    target = Slot(0)
    busy = Slot(1, [*SYSTEM, 1, 2, 3], busy=object())
    other = Slot(2, SYSTEM[:10])
    found = donor([target, busy, other], target, [*SYSTEM, 5, 6], 0)
    assert found == (busy, 40)


def test_no_donor_when_the_target_already_has_the_prefix_or_the_copy_costs_more() -> None:
    target = Slot(0, SYSTEM[:38])
    rich = Slot(1, [*SYSTEM, 1])
    assert donor([target, rich], target, [*SYSTEM, 5], 38) is None  # 2 tokens: not worth it
    empty = Slot(0)
    long_history = Slot(1, SYSTEM + list(range(40 * COPY_TOKENS_PER_SAVED)))
    assert donor([empty, long_history], empty, [*SYSTEM, 5], 0) is None


def test_runs_counts_consecutive_slot_ids() -> None:
    assert runs([]) == 0
    assert runs([3]) == 1
    assert runs([2, 0, 1]) == 1
    assert runs([0, 2, 3, 7]) == 3


def test_a_new_chat_takes_an_empty_slot_next_to_the_busy_ones() -> None:
    slots = [Slot(i) for i in range(6)]
    slots[0].busy = slots[1].busy = object()
    choice = choose_slot(slots, ParkingLot(0), [*SYSTEM, 99])
    assert choice is not None and choice.slot.id == 2
    slots[2].busy, slots[1].busy = object(), None  # busy {0, 2}: the gap is filled first
    choice = choose_slot(slots, ParkingLot(0), [*SYSTEM, 99])
    assert choice is not None and choice.slot.id == 1


def test_with_no_empty_slot_the_least_recently_used_cache_goes() -> None:
    slots = [Slot(i, [*SYSTEM, 50 + i], last_used=float(10 - i)) for i in range(6)]
    slots[0].busy = slots[1].busy = object()
    choice = choose_slot(slots, ParkingLot(0), [*SYSTEM, 99])
    assert choice is not None and choice.slot.id == 5  # a lasting split is mended later


def test_a_conversation_still_goes_back_to_its_own_slot_away_from_the_run() -> None:
    slots = [Slot(0, busy=object()), Slot(1), Slot(2), Slot(3, [*SYSTEM, 1, 2, 3])]
    choice = choose_slot(slots, ParkingLot(0), [*SYSTEM, 1, 2, 3, 4])
    assert choice is not None and choice.slot.id == 3 and choice.reuse == 43


def test_best_move_closes_a_gap_copying_the_least() -> None:
    slots = [Slot(i, list(range(10 * (i + 1)))) for i in range(5)]
    slots[0].busy = slots[1].busy = slots[3].busy = object()
    # busy {0, 1, 3}: both 0 -> 2 and 3 -> 2 make one run; 0 copies 10 tokens, 3 copies 40
    move = best_move(slots)
    assert move is not None and (move[0].id, move[1].id) == (0, 2)
    slots[3].busy, slots[2].busy = None, object()
    assert best_move(slots) is None  # {0, 1, 2} is one run already


def test_a_parked_cache_is_restored_when_it_spares_a_few_tokens_of_prefill() -> None:
    asked = [*SYSTEM, *range(1, 18)]  # the same short question again, after an eviction
    lot = ParkingLot(1 << 20)
    lot.put([*asked, *range(500, 628)], bytearray(10))  # with its 128-token answer
    slots = [Slot(0, [*SYSTEM, 900, 901])]  # the slot kept only the system prompt
    choice = choose_slot(slots, lot, asked)
    assert choice is not None and choice.restore is not None and choice.reuse == len(asked)
    assert lot.get(choice.restore) is not None and len(lot) == 1  # restoring leaves it there


def test_no_restore_for_a_few_tokens_or_when_the_copy_outweighs_them() -> None:
    lot = ParkingLot(1 << 20)
    lot.put([*SYSTEM, 1, 2, 3, *range(500, 540)], bytearray(10))
    slots = [Slot(0, SYSTEM[:]), Slot(1)]
    choice = choose_slot(slots, lot, [*SYSTEM, 1, 2, 3, 4])  # 3 tokens more than the slot
    assert choice is not None and choice.restore is None and choice.reuse == 40
    lot = ParkingLot(1 << 30)
    lot.put([*SYSTEM, *range(1, 11), *range(1000, 1000 + 10 * COPY_TOKENS_PER_SAVED)], bytearray(1))
    choice = choose_slot([Slot(0, SYSTEM[:])], lot, [*SYSTEM, *range(1, 11), 7])
    assert choice is not None and choice.restore is None  # 10 tokens for 680 copied


def test_the_lot_keeps_the_cheapest_of_equal_matches_and_drops_what_a_new_cache_extends() -> None:
    lot = ParkingLot(1 << 20)
    lot.put([*SYSTEM, 1, 2, *range(300, 400)], bytearray(100))
    lot.put([*SYSTEM, 1, 2, 3], bytearray(10))
    key, shared = lot.best([*SYSTEM, 1, 2, 9], 0)
    found = lot.get(key) if key is not None else None
    assert shared == 42 and found is not None and len(found.tokens) == 43  # less to copy
    lot.put([*SYSTEM, 1, 2, 3, 4, 5], bytearray(20))  # the same conversation, further on
    assert len(lot) == 2 and lot.used == 120
    key, shared = lot.best([*SYSTEM, 1, 2, 3, 4], 0)
    found = lot.get(key) if key is not None else None
    assert shared == 44 and found is not None and len(found.tokens) == 45
    lot.drop(key)
    assert len(lot) == 1 and lot.used == 100


def test_the_lot_offers_an_entry_whose_copy_pays_over_a_longer_match_that_does_not() -> None:
    lot = ParkingLot(1 << 30)
    question = [*SYSTEM, *range(1, 21)]
    lot.put([*question, *range(1000, 1000 + 3840)], bytearray(1))  # 20 more for 3900 copied
    lot.put([*SYSTEM, *range(1, 11), *[99] * 30], bytearray(1))  # 10 more for 80 copied
    key, shared = lot.best([*question, 7], len(SYSTEM))
    assert key is not None and shared == 50
    assert lot.best([*question, 7], 55) == (None, 55)  # the slot keeps more than it offers
