"""The node's frame sequence counter: one per node, shared by all of its frames, u16, wraps."""


class Sequence:
    """Hands out 0, 1, 2, ... 65535, 0, ... ; (node id, boot epoch, seq) is the event's identity."""

    def __init__(self, start: int = 0) -> None:
        self._n = start & 0xFFFF

    def next(self) -> int:
        """The next sequence number (wraps after 65535)."""
        n = self._n
        self._n = (n + 1) & 0xFFFF
        return n

    def peek(self) -> int:
        """The number the next call to ``next`` will return."""
        return self._n
