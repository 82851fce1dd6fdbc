"""A reusable `llama_batch`: tokens of many sequences decoded in one `llama_decode` call."""

from __future__ import annotations

import llama_cpp as lc


class Batch:
    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.raw = lc.llama_batch_init(capacity, 0, 1)
        self.n = 0

    def clear(self) -> None:
        self.n = 0
        self.raw.n_tokens = 0

    def add(self, token: int, pos: int, seq_id: int, logits: bool) -> int:
        """Append one token; returns its row index (for `llama_get_logits_ith`)."""
        i = self.n
        raw = self.raw
        raw.token[i] = token
        raw.pos[i] = pos
        raw.n_seq_id[i] = 1
        raw.seq_id[i][0] = seq_id
        raw.logits[i] = logits
        self.n = i + 1
        raw.n_tokens = self.n
        return i

    @property
    def room(self) -> int:
        return self.capacity - self.n

    def free(self) -> None:
        lc.llama_batch_free(self.raw)
