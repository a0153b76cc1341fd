"""The shared air on tiny meshes: collisions without capture, capture at 6 dB, the preamble's grace, half duplex."""

import random
from collections.abc import Generator

import pytest
import simpy

from simulations.mesh.channel import Channel
from simulations.mesh.packet import Packet
from simulations.mesh.physics import PRESETS, locking_time_s
from simulations.mesh.topology import graph_topology

pytestmark = pytest.mark.unit
LONG_FAST = PRESETS["LONG_FAST"]


def _packet(origin: int, pid: int) -> Packet:
    return Packet(pid, origin, "telemetry", 31, 3, 3)


def _air(graph: dict[int, set[int]], edge_rssi: dict[tuple[int, int], float] | None = None) -> tuple[
    simpy.Environment, Channel, list[tuple[int, int]]
]:
    env = simpy.Environment()
    channel = Channel(env, graph_topology(graph, edge_rssi_dbm=edge_rssi), LONG_FAST, random.Random(1))
    decoded: list[tuple[int, int]] = []  # (receiver, packet id)
    channel.set_receiver(lambda rx, p, tx, snr: decoded.append((rx, p.packet_id)))
    return env, channel, decoded


def _send_at(env: simpy.Environment, channel: Channel, at_s: float, sender: int, packet: Packet) -> None:
    def go() -> Generator[simpy.Event, None, None]:
        yield env.timeout(at_s)
        yield env.process(channel.transmit(sender, packet))

    env.process(go())


def test_a_lone_frame_reaches_every_neighbour() -> None:
    env, channel, decoded = _air({1: {2, 3}})
    _send_at(env, channel, 0.0, 1, _packet(1, 10))
    env.run()
    assert sorted(decoded) == [(2, 10), (3, 10)]
    assert channel.counters.collisions == 0


def test_two_hidden_senders_at_once_collide_at_the_middle_node() -> None:
    # 1 - 2 - 3: 1 and 3 cannot hear each other; both send at once at equal power: 2 decodes neither.
    env, channel, decoded = _air({2: {1, 3}})
    _send_at(env, channel, 0.0, 1, _packet(1, 10))
    _send_at(env, channel, 0.0, 3, _packet(3, 30))
    env.run()
    assert decoded == []
    assert channel.counters.collisions == 2
    assert channel.counters.sensed == 2


def test_the_frame_6_db_stronger_is_captured() -> None:
    env, channel, decoded = _air({2: {1, 3}}, {(1, 2): -94.0, (3, 2): -100.0})
    _send_at(env, channel, 0.0, 1, _packet(1, 10))
    _send_at(env, channel, 0.1, 3, _packet(3, 30))
    env.run()
    assert (2, 10) in decoded
    assert (2, 30) not in decoded
    assert channel.counters.collisions == 1


def test_5_db_apart_is_not_enough_to_capture() -> None:
    env, channel, decoded = _air({2: {1, 3}}, {(1, 2): -95.0, (3, 2): -100.0})
    _send_at(env, channel, 0.0, 1, _packet(1, 10))
    _send_at(env, channel, 0.1, 3, _packet(3, 30))
    env.run()
    assert [d for d in decoded if d[0] == 2] == []


def test_an_interferer_ending_early_in_the_preamble_spares_the_new_frame() -> None:
    env, channel, decoded = _air({2: {1, 3}})
    first = _packet(1, 10)
    airtime = channel.airtime_s(first)
    # 3's frame starts just before 1's ends: 1's frame overlaps only 3's early preamble symbols.
    _send_at(env, channel, 0.0, 1, first)
    _send_at(env, channel, airtime - locking_time_s(LONG_FAST) / 2, 3, _packet(3, 30))
    env.run()
    assert (2, 30) in decoded
    assert (2, 10) not in decoded


def test_an_interferer_reaching_the_locking_symbols_kills_the_new_frame() -> None:
    env, channel, decoded = _air({2: {1, 3}})
    first = _packet(1, 10)
    airtime = channel.airtime_s(first)
    _send_at(env, channel, 0.0, 1, first)
    _send_at(env, channel, airtime - 2 * locking_time_s(LONG_FAST), 3, _packet(3, 30))
    env.run()
    assert [d for d in decoded if d[0] == 2] == []


def test_a_transmitting_node_hears_nothing() -> None:
    env, channel, decoded = _air({1: {2}})
    _send_at(env, channel, 0.0, 1, _packet(1, 10))
    _send_at(env, channel, 0.2, 2, _packet(2, 20))
    env.run()
    assert decoded == []
    assert channel.counters.half_duplex == 2


def test_channel_utilisation_counts_overlapping_frames_once() -> None:
    env, channel, _ = _air({2: {1, 3}})
    p = _packet(1, 10)
    _send_at(env, channel, 0.0, 1, p)
    _send_at(env, channel, 0.0, 3, _packet(3, 30))
    env.run()
    assert channel.utilisation(2) == pytest.approx(channel.airtime_s(p) / 60)


def test_extra_loss_drops_receptions_at_random_and_counts_them() -> None:
    env = simpy.Environment()
    channel = Channel(env, graph_topology({1: {2, 3, 4, 5}}), LONG_FAST, random.Random(1), extra_loss=0.25)
    decoded: list[int] = []
    channel.set_receiver(lambda rx, p, tx, snr: decoded.append(rx))
    for i in range(100):
        _send_at(env, channel, 10.0 * i, 1, _packet(1, i))
    env.run()
    assert channel.counters.random_losses + len(decoded) == 400
    assert 70 < channel.counters.random_losses < 130
