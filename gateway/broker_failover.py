"""The brokers a gateway may reach, in order, and which one it dials now.

At the IOC the broker tier is a cluster (``floodmesh.nats_cluster``): every node takes the same
identity and keeps the gateway's session in replicated JetStream, so when the node a gateway talks
to becomes unreachable the gateway simply dials the next one. Pure bookkeeping, thread-safe: paho's
network thread advances it on a failed connect, the worker reads it for a fresh client.
"""

import threading
from collections.abc import Sequence
from dataclasses import replace

from protocol.mqtt_endpoint import EndpointError, MqttEndpoint


def parse_brokers(spec: str) -> list[tuple[str, int]]:
    """``"host:port,host:port"`` as (host, port) pairs; an empty string is no failover broker."""
    pairs = []
    for item in (part.strip() for part in spec.split(",")):
        if not item:
            continue
        host, _, port = item.rpartition(":")
        if not host or not port.isdigit() or not 1 <= int(port) <= 65535:
            raise EndpointError(f"broker_failover entry {item!r}: write HOST:PORT, comma-separated "
                                "(e.g. ioc-nats-2:8883,ioc-nats-3:8883)")
        pairs.append((host, int(port)))
    return pairs


class BrokerFailover:
    """A gateway's brokers: the primary first, then each failover broker, round and round."""

    def __init__(self, endpoints: Sequence[MqttEndpoint]) -> None:
        if not endpoints:
            raise EndpointError("a gateway needs at least one broker")
        self._endpoints = list(endpoints)
        self._index = 0
        self._lock = threading.Lock()
        self.switches = 0  # how often the gateway moved to another broker (a counter for stats)

    @classmethod
    def from_primary(cls, primary: MqttEndpoint, others: Sequence[tuple[str, int]]) -> "BrokerFailover":
        """The primary and the same identity and TLS settings on each of ``others``."""
        return cls([primary, *(replace(primary, host=host, port=port) for host, port in others)])

    @property
    def current(self) -> MqttEndpoint:
        """The broker to dial now."""
        with self._lock:
            return self._endpoints[self._index]

    @property
    def has_alternatives(self) -> bool:
        """Whether there is any other broker to try."""
        return len(self._endpoints) > 1

    def advance(self) -> MqttEndpoint:
        """The current broker could not be reached: move to the next one and return it."""
        with self._lock:
            if len(self._endpoints) > 1:
                self._index = (self._index + 1) % len(self._endpoints)
                self.switches += 1
            return self._endpoints[self._index]
