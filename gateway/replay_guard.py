"""Telling a node's new frames from mesh duplicates, retries and replays.

Sequence numbers are u16 and wrap, so "newer" uses serial-number arithmetic (RFC 1982): a frame is
new when its seq is 1..32767 ahead of the newest seen in the same boot epoch. A frame seen recently
is a duplicate (the mesh repeats packets, buttons retry); an older one never seen in this window,
or one from an earlier boot epoch, is a replay.
"""

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

Verdict = Literal["new", "duplicate", "replay"]
_HALF = 0x8000
_RECENT = 256


@dataclass
class _NodeState:
    boot: int
    newest: int
    recent: deque[int] = field(default_factory=lambda: deque(maxlen=_RECENT))


class ReplayGuard:
    """Per-node memory of the newest (boot epoch, seq) and the recently seen seqs."""

    def __init__(self, known: Iterable[tuple[int, int, int]] = ()) -> None:
        self._nodes: dict[int, _NodeState] = {}
        for node_id, boot, seq in known:
            self._nodes[node_id] = _NodeState(boot, seq, deque([seq], maxlen=_RECENT))

    def check(self, node_id: int, boot: int, seq: int) -> Verdict:
        """Classify a frame without remembering it."""
        state = self._nodes.get(node_id)
        if state is None or boot > state.boot:
            return "new"
        if boot < state.boot:
            return "replay"
        if seq in state.recent:
            return "duplicate"
        ahead = (seq - state.newest) & 0xFFFF
        return "new" if 0 < ahead < _HALF else "replay"

    def accept(self, node_id: int, boot: int, seq: int) -> None:
        """Remember a frame judged new."""
        state = self._nodes.get(node_id)
        if state is None or boot != state.boot:
            self._nodes[node_id] = _NodeState(boot, seq, deque([seq], maxlen=_RECENT))
            return
        state.recent.append(seq)
        if 0 < (seq - state.newest) & 0xFFFF < _HALF:
            state.newest = seq

    def newest(self) -> list[tuple[int, int, int]]:
        """(node, boot, newest seq) for every node, to persist."""
        return [(n, s.boot, s.newest) for n, s in self._nodes.items()]
