"""LED blink and buzzer patterns per button state (pure): what a resident sees and hears is the whole UI.

A pattern is (on_ms, off_ms, on_ms, off_ms, ...) repeated; () is always off, (1,) always on.
The buzzer plays its pattern once when the state changes (a resident in the dark, or who cannot
see the LED, hears that help is registered or coming; a repeating buzzer would drain the cell).
"""

PATTERNS = {
    "off": (),
    "sending": (100, 100),  # fast flicker: trying to reach the gateway
    "retrying": (100, 100, 100, 100, 100, 1400),  # triple flash: not reached yet, still trying
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


BEEPS = {
    "sending": (80,),
    "retrying": (600,),  # one long low note: not through yet
    "registered": (80, 80, 80),
    "dispatched": (80, 80, 80, 80, 80),  # help is on the way
    "cancelled": (300,),
}


def beep_on(state: str, since_ms: int) -> bool:
    """Whether the buzzer sounds ``since_ms`` after entering ``state`` (its pattern plays once)."""
    t = since_ms
    pat = BEEPS.get(state, ())
    for i in range(len(pat)):
        if t < pat[i]:
            return not (i & 1)
        t -= pat[i]
    return False
