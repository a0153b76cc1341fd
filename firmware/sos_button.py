"""A resident's SOS button (pure logic): debounce, the SOS frame, retries until a gateway answers.

LED states (``SosButton.led``), in the order a request lives through them:

- ``"off"``: nothing sent since boot.
- ``"sending"``: an SOS is out and no gateway has answered; it is retransmitted (same bytes).
- ``"retrying"``: ``FAIL_TRIES`` sends went unanswered (mesh cut, radio silent): the failure is shown
  but the button keeps retrying, every minute, until an ACK arrives.
- ``"received"``: a gateway heard it (ACK state ``none``) but no case exists yet.
- ``"registered"`` / ``"acknowledged"`` / ``"dispatched"`` / ``"resolved"`` / ``"cancelled"``: the case
  state carried by the latest ACK (``frames.ACK_STATES``).
- ``"cancelling"``: the resident withdrew the request; the cancel is retransmitted until an ACK with
  state ``cancelled`` arrives.

There is no final ``"failed"``: a flood can cut the mesh for hours, so the button never gives up.
"""

from firmware.sequence import Sequence
from protocol import frames


def const(x: int) -> int:
    """CPython stand-in for MicroPython's compile-time constant marker (the host imports us too)."""
    return x


try:  # on MicroPython the real marker: the parser folds ``_X = const(n)`` into the bytecode
    from micropython import const  # type: ignore[import-not-found,no-redef,unused-ignore]
except ImportError:
    pass


DEBOUNCE_MS = const(1500)
# Retransmission backoff after the first send: 5 s, 10 s, 20 s, 40 s, then every 60 s forever.
RETRY_MS = (5000, 10000, 20000, 40000)
RETRY_MAX_MS = const(60000)
# After this many unanswered sends (~35 s) the LED admits the failure: "retrying".
FAIL_TRIES = const(4)
MEDICAL = const(1)  # frames.SOS_KINDS.index("medical")
# ACK state name -> LED state; the gateway's "none" means heard but not yet a case.
_LED_FOR_STATE = ("received",) + frames.ACK_STATES[1:]  # noqa: RUF005 - MicroPython has no (*x) displays
_CANCELLED = frames.ACK_STATES.index("cancelled")


def retry_delay_ms(tries: int) -> int:
    """Wait before retransmission number ``tries + 1`` (``tries`` sends so far, >= 1)."""
    if tries <= len(RETRY_MS):
        return RETRY_MS[tries - 1]
    return RETRY_MAX_MS


class SosButton:
    """One SOS button: call ``press``/``cancel`` on input, ``due`` each loop, ``on_downlink`` per frame.

    Every method returns the bytes to hand to the radio (``b""`` when there is nothing to send).
    A later press (after the debounce) sends a new SOS with a new sequence that supersedes the old
    one: only the latest request is retried and only ACKs for it are accepted.
    """

    def __init__(self, node_id: int, key: bytes, boot_epoch: int, seq: "Sequence | None" = None) -> None:
        self.node_id = node_id
        self.key = key
        self.boot_epoch = boot_epoch
        self.seq = seq if seq is not None else Sequence()
        self.led = "off"
        self.case_number: "int | None" = None
        self.sos_seq: "int | None" = None  # sequence of the current SOS (the one ACKs refer to)
        self._state = -1  # ACK state index of the current SOS; -1 before any ACK
        self._last_press: "int | None" = None
        self._last_sos: "tuple[int, int, int, int | None, int | None]" = (0, 1, 0, None, None)  # the current SOS
        self._pending = b""  # frame retransmitted until answered (SOS, or its cancel)
        self._tries = 0
        self._next_ms = 0

    def _frame(self, now_s: int, payload: "frames.Sos | frames.SosCancel") -> "tuple[int, bytes]":
        n = self.seq.next()
        f = frames.Frame(self.node_id, self.boot_epoch, n, int(now_s) & 0xFFFFFFFF, payload)
        return n, frames.encode(f, self.key)

    def _schedule(self, now_ms: int, data: bytes) -> bytes:
        self._pending = data
        self._tries = 1
        self._next_ms = now_ms + retry_delay_ms(1)
        return data

    def press(
        self,
        now_ms: int,
        now_s: int,
        kind: int = 0,
        people: int = 1,
        vulnerable: int = 0,
        lat_e6: "int | None" = None,
        lon_e6: "int | None" = None,
    ) -> bytes:
        """The resident pressed: a new SOS frame, or b"" within DEBOUNCE_MS of the last accepted press."""
        if self._last_press is not None and now_ms - self._last_press < DEBOUNCE_MS:
            return b""
        payload = frames.Sos(kind, people, vulnerable, lat_e6, lon_e6)  # bad values raise FrameError
        self._last_press = now_ms
        self._last_sos = (kind, people, vulnerable, lat_e6, lon_e6)
        n, data = self._frame(now_s, payload)
        self.sos_seq = n
        self.case_number = None
        self._state = -1
        self.led = "sending"
        return self._schedule(now_ms, data)

    def medical(self, now_ms: int, now_s: int) -> bytes:
        """The medical press pattern: a new SOS of kind medical superseding the current one (no debounce)."""
        _k, people, vulnerable, lat_e6, lon_e6 = self._last_sos
        self._last_press = None
        return self.press(now_ms, now_s, MEDICAL, people, vulnerable, lat_e6, lon_e6)

    def cancel(self, now_ms: int, now_s: int) -> bytes:
        """The resident withdrew the request: an SosCancel for the current SOS, or b"" if none."""
        if self.sos_seq is None or self.led in ("cancelling", "cancelled", "resolved"):
            return b""
        _n, data = self._frame(now_s, frames.SosCancel(self.sos_seq))
        self.led = "cancelling"
        return self._schedule(now_ms, data)

    def due(self, now_ms: int, now_s: int) -> bytes:
        """The unanswered frame again (identical bytes: its sequence is the dedupe key) when its wait expired."""
        if not self._pending or now_ms < self._next_ms:
            return b""
        self._tries += 1
        self._next_ms = now_ms + retry_delay_ms(self._tries)
        if self._tries >= FAIL_TRIES and self.led == "sending":
            self.led = "retrying"
        return self._pending

    def retrying(self) -> bool:
        """Whether a frame is still waiting for its ACK (the main loop stays awake while it is)."""
        return bool(self._pending)

    def state(self) -> "list[object]":
        """What must survive a deep sleep (JSON-able); the button sleeps only when nothing is retried."""
        return [self.seq.peek(), self.led, self.case_number, self.sos_seq, self._state, list(self._last_sos)]

    def restore(self, st: "list[Any]") -> None:  # type: ignore[name-defined]  # noqa: F821
        """Take back a ``state()`` after a deep-sleep wake."""
        self.seq = Sequence(st[0])
        self.led, self.case_number, self.sos_seq, self._state = st[1], st[2], st[3], st[4]
        self._last_sos = tuple(st[5])

    def on_downlink(self, data: bytes) -> bool:
        """Take an ACK for the current SOS; anything else (bad tag, other node, stale seq) -> False."""
        try:
            f = frames.decode(data, self.key)
        except Exception:  # nothing heard on air may stop the main loop (the watchdog would reboot us)
            return False
        ack = f.payload
        # The Ack names our SOS by (boot epoch, seq): an ACK from before a reboot never matches a new SOS.
        if f.node_id != self.node_id or not isinstance(ack, frames.Ack):
            return False
        if ack.sos_boot != self.boot_epoch or ack.sos_seq != self.sos_seq:
            return False
        if ack.state < self._state:
            return False  # an older ACK overtaken on the mesh (or replayed): the LED never goes backwards
        if self.led == "cancelling" and ack.state != _CANCELLED:
            self.case_number = ack.case_number  # still withdrawn: keep sending the cancel
            return True
        self.case_number = ack.case_number
        self._state = ack.state
        self.led = _LED_FOR_STATE[ack.state]
        self._pending = b""
        return True
