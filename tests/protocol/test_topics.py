"""The MQTT topic scheme builds and parses every topic the tiers use."""

import pytest

from protocol import topics

pytestmark = pytest.mark.unit


def test_uplink_and_downlink_topics() -> None:
    assert topics.uplink("19774", "gw-19774", "sos") == "floodmesh/v1/19774/gw-19774/up/sos"
    assert topics.downlink("19774", "gw-19774", 0x0B000001) == "floodmesh/v1/19774/gw-19774/down/0b000001"
    parsed = topics.parse("floodmesh/v1/19774/gw-19774/up/water_level")
    assert parsed == topics.Topic("19774", "gw-19774", "up", "water_level")
    assert topics.parse(topics.app_ack("1", "g")) == topics.Topic("1", "g", "ack", "")


@pytest.mark.parametrize(
    "topic", ["other/v1/a/b/up/sos", "floodmesh/v1/a/b/up", "floodmesh/v1/a/b/sideways/x", "floodmesh/v1/a/b/ack/x"]
)
def test_parse_refuses_topics_outside_the_scheme(topic: str) -> None:
    with pytest.raises(topics.TopicError):
        topics.parse(topic)


@pytest.mark.parametrize("bad", ["", "a/b", "a+", "#"])
def test_segments_cannot_inject_wildcards(bad: str) -> None:
    with pytest.raises(topics.TopicError):
        topics.uplink(bad, "gw", "sos")
