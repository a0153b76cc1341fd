"""The MQTT topic scheme: ``floodmesh/v1/<ward>/<gateway>/<direction>/<leaf>``.

- ``up/<kind>``: a gateway forwards one radio frame (``kind`` is the frame type's name);
  ``up/batch`` carries many frames at once (an ``UplinkBatch``) while an outbox drains.
- ``down/<node>``: central sends a frame to node ``<node>`` (8 hex digits) through that gateway;
  ``down/text`` carries a text for officials' radios (a ``TextDownlink``).
- ``ack``: central's end-to-end acknowledgement; the gateway's outbox forgets a message only then.
- ``status``: the gateway's retained online/offline state (also its MQTT last will).

Ward-wide topics, for every gateway in the ward: ``floodmesh/v1/<ward>/alerts`` (flood alerts from
central, to broadcast on the mesh) and ``floodmesh/v1/<ward>/directory`` (the ward authority's
duty officers, retained, cached by the gateway for when central is unreachable).
"""

from dataclasses import dataclass

PREFIX = "floodmesh/v1"
UPLINK_FILTER = PREFIX + "/+/+/up/+"
STATUS_FILTER = PREFIX + "/+/+/status"

_SEGMENT_FORBIDDEN = frozenset("/+#\x00")


@dataclass(frozen=True)
class Topic:
    """A parsed floodmesh topic."""

    ward: str
    gateway: str
    direction: str
    leaf: str


class TopicError(ValueError):
    """A topic outside the scheme."""


def _segment(value: str, what: str) -> str:
    if not value or any(ch in _SEGMENT_FORBIDDEN for ch in value):
        raise TopicError(f"{what} {value!r} is not a valid topic segment")
    return value


def node_segment(node_id: int) -> str:
    """A node id as it appears in topics and logs: 8 lowercase hex digits."""
    return f"{node_id:08x}"


def shared(group: str, topic_filter: str) -> str:
    """``topic_filter`` as an MQTT shared subscription of ``group``: each message goes to one member."""
    return f"$share/{_segment(group, 'shared subscription group')}/{topic_filter}"


def uplink(ward: str, gateway: str, kind: str) -> str:
    """Topic on which ``gateway`` publishes frames of ``kind``."""
    return f"{PREFIX}/{_segment(ward, 'ward')}/{_segment(gateway, 'gateway')}/up/{_segment(kind, 'kind')}"


def downlink(ward: str, gateway: str, node_id: int) -> str:
    """Topic on which central sends a frame for ``node_id`` to ``gateway``."""
    return f"{PREFIX}/{_segment(ward, 'ward')}/{_segment(gateway, 'gateway')}/down/{node_segment(node_id)}"


def text_downlink(ward: str, gateway: str) -> str:
    """Topic on which central sends a text for officials' radios through ``gateway``."""
    return f"{PREFIX}/{_segment(ward, 'ward')}/{_segment(gateway, 'gateway')}/down/text"


def downlink_filter(ward: str, gateway: str) -> str:
    """Subscription that gives a gateway every downlink addressed through it."""
    return f"{PREFIX}/{_segment(ward, 'ward')}/{_segment(gateway, 'gateway')}/down/+"


def app_ack(ward: str, gateway: str) -> str:
    """Topic of central's end-to-end acknowledgements to ``gateway``."""
    return f"{PREFIX}/{_segment(ward, 'ward')}/{_segment(gateway, 'gateway')}/ack"


def status(ward: str, gateway: str) -> str:
    """Retained topic of the gateway's online/offline state."""
    return f"{PREFIX}/{_segment(ward, 'ward')}/{_segment(gateway, 'gateway')}/status"


WARD_LEVEL = ("alerts", "directory")


def alerts(ward: str) -> str:
    """Topic of the flood alerts for one ward."""
    return f"{PREFIX}/{_segment(ward, 'ward')}/alerts"


def directory(ward: str) -> str:
    """Retained topic of one ward's authority directory."""
    return f"{PREFIX}/{_segment(ward, 'ward')}/directory"


def parse(topic: str) -> Topic:
    """Split a floodmesh topic into its parts; raises TopicError for anything else."""
    parts = topic.split("/")
    if len(parts) == 4 and "/".join(parts[:2]) == PREFIX and parts[3] in WARD_LEVEL:
        return Topic(parts[2], "", parts[3], "")
    if len(parts) < 5 or "/".join(parts[:2]) != PREFIX:
        raise TopicError(f"not a floodmesh/v1 topic: {topic!r}")
    ward, gateway, direction = parts[2], parts[3], parts[4]
    if direction in ("up", "down") and len(parts) == 6:
        return Topic(ward, gateway, direction, parts[5])
    if direction in ("ack", "status") and len(parts) == 5:
        return Topic(ward, gateway, direction, "")
    raise TopicError(f"unknown floodmesh topic shape: {topic!r}")
