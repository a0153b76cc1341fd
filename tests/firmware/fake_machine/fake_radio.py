"""A fake Meshtastic radio behind the fake UART, speaking the client API (ToRadio in, FromRadio out).

``mode``: "ack" (the mesh delivers: QueueStatus then a routing ACK), "nak" (routing error
MAX_RETRANSMIT), "mute" (radio unplugged: nothing comes back). Every write is parsed strictly: a
malformed ToRadio from the firmware raises here and fails the run.

``power(pin, boot_ms)``: the radio is behind a load switch on ``pin``: it hears nothing while the
pin is low or for ``boot_ms`` after it went high (booting); such writes are counted in ``lost``.
"""

import time

import machine

from firmware import pb
from firmware.stream import StreamReader, wrap

PORT = 287


class FakeRadio:
    def __init__(self, mode="ack", my_node=0x0F0F0F0F):
        self.mode = mode
        self.my_node = my_node
        self.reader = StreamReader()
        self.frames = []  # our frames, in the order they reached the radio
        self.packets = []  # the MeshPacket fields of each
        self.hellos = 0
        self.lost = 0  # bytes written while unpowered or booting
        self.pin = None
        self.boot_ms = 0
        self.on_at = None  # ticks_ms when powered on; None: off
        machine.UART.radio = self

    def power(self, pin, boot_ms):
        self.pin = pin
        self.boot_ms = boot_ms
        machine.Pin.watch = self._switched

    def _switched(self, n, v):
        if n != self.pin:
            return
        if not v:
            self.on_at = None
        elif self.on_at is None:
            self.on_at = time.ticks_ms()

    def listening(self):
        if self.pin is None:
            return True
        return self.on_at is not None and time.ticks_diff(time.ticks_ms(), self.on_at) >= self.boot_ms

    def out(self, msg):
        machine.UART.inbox += wrap(msg)

    def on_write(self, data):
        if not self.listening():
            self.lost += len(data)
            return
        for msg in self.reader.feed(data):
            fs = pb.fields(msg)
            pkt = pb.first_bytes(fs, 1)
            if pkt is None:
                nonce = pb.first_int(fs, 3)
                assert nonce, fs
                self.hellos += 1
                if self.mode != "mute":
                    self.out(pb.f_varint(7, nonce))
                continue
            p = pb.fields(pkt)
            d = pb.fields(pb.first_bytes(p, 4))
            assert pb.first_int(d, 1) == PORT, d
            self.packets.append(p)
            self.frames.append(pb.first_bytes(d, 2))
            if self.mode == "mute":
                continue
            pid = pb.first_int(p, 6)
            self.out(pb.f_bytes(11, pb.f_varint(2, 15) + pb.f_varint(3, 16) + pb.f_varint(4, pid)))
            err = 0 if self.mode == "ack" else 5
            data = pb.f_varint(1, 5) + pb.f_bytes(2, pb.f_varint(3, err)) + pb.f_fixed32(6, pid)
            self.out(pb.f_bytes(2, pb.f_fixed32(1, self.my_node) + pb.f_bytes(4, data)))

    def downlink(self, frame, from_node=0x0F0F0F0F):
        data = pb.f_varint(1, PORT) + pb.f_bytes(2, frame)
        self.out(pb.f_bytes(2, pb.f_fixed32(1, from_node) + pb.f_bytes(4, data)))
