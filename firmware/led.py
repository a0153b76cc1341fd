"""LED blink patterns per button state (pure): what a resident sees is the whole user interface.

A pattern is (on_ms, off_ms, on_ms, off_ms, ...) repeated; () is always off, (1,) always on.
"""

PATTERNS = {
    "off": (),
    "sending": (100, 100),  # fast flicker: trying to reach the gateway
    "received": (200, 800),  # heard by a gateway, no case yet
    "registered": (1,),  # steady on: the request is a case
    "acknowledged": (900, 100),  # on with a short gap: the ward official has taken it
    "dispatched": (150, 150, 150, 1050),  # double blink: a team is coming
    "resolved": (50, 2950),  # rare heartbeat
    "cancelling": (100, 400, 100, 1400),  # telling the gateway the request is withdrawn
    "cancelled": (),
}


def led_on(state: str, t_ms: int) -> bool:
    """Whether the LED is lit at time ``t_ms`` in ``state``'s pattern (unknown states blink fast)."""
    pat = PATTERNS.get(state, (100, 100))
    if not pat:
        return False
    if len(pat) == 1:
        return True
    t = t_ms % sum(pat)
    for i in range(len(pat)):
        if t < pat[i]:
            return not (i & 1)
        t -= pat[i]
    return False
