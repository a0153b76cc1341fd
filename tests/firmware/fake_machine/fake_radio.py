"""A fake Meshtastic radio behind the fake UART, speaking the client API (ToRadio in, FromRadio out).

``mode``: "ack" (the mesh delivers: QueueStatus then a routing ACK), "nak" (routing error
MAX_RETRANSMIT), "mute" (radio unplugged: nothing comes back). Every write is parsed strictly: a
malformed ToRadio from the firmware raises here and fails the run.
"""

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
        machine.UART.radio = self

    def out(self, msg):
        machine.UART.inbox += wrap(msg)

    def on_write(self, data):
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
