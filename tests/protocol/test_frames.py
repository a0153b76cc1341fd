"""The frame codec produces exactly the vector bytes and refuses bad frames with their reason."""

import hmac
import json
from pathlib import Path

import pytest

from protocol import frames
from protocol.hmac_sha256 import equal_tags, hmac_sha256_pure

pytestmark = pytest.mark.unit

VECTORS = json.loads((Path(__file__).parents[2] / "protocol" / "vectors.json").read_text())


@pytest.mark.parametrize("vec", VECTORS["valid"], ids=lambda v: v["name"])
def test_valid_vectors_round_trip(vec: dict) -> None:  # type: ignore[type-arg]
    key = bytes.fromhex(vec["key"])
    assert frames.encode(frames.from_fields(vec["frame"]), key).hex() == vec["hex"]
    assert frames.to_fields(frames.decode(bytes.fromhex(vec["hex"]), key)) == vec["frame"]


@pytest.mark.parametrize("vec", VECTORS["invalid"], ids=lambda v: v["name"])
def test_invalid_vectors_are_refused(vec: dict) -> None:  # type: ignore[type-arg]
    with pytest.raises(frames.FrameError) as err:
        frames.decode(bytes.fromhex(vec["hex"]), bytes.fromhex(vec["key"]))
    assert err.value.reason == vec["reason"]


def test_a_water_level_reading_fits_24_bytes_on_air() -> None:
    reading = frames.Frame(0xFFFFFFFF, 0xFFFF, 0xFFFF, 0xFFFFFFFF, frames.WaterLevel(0xFFFF, 100, 0xFF))
    assert len(frames.encode(reading, b"k" * 16)) == 24


@pytest.mark.parametrize("key_len", [0, 1, 16, 64, 65, 200])
def test_pure_hmac_matches_cpython_hmac(key_len: int) -> None:
    key = bytes(range(256))[:key_len] if key_len <= 256 else b""
    for msg in (b"", b"abc", bytes(1000)):
        assert hmac_sha256_pure(key, msg) == hmac.digest(key, msg, "sha256")


def test_equal_tags() -> None:
    assert equal_tags(b"abcdef", b"abcdef")
    assert not equal_tags(b"abcdef", b"abcdeg")
    assert not equal_tags(b"abc", b"abcd")


@pytest.mark.parametrize(
    "build",
    [
        lambda: frames.Sos(5, 1),
        lambda: frames.Sos(1, 0),
        lambda: frames.Sos(1, 1, lat_e6=1),
        lambda: frames.Sos(1, 1, 0, 91_000_000, 0),
        lambda: frames.WaterLevel(70000, 50),
        lambda: frames.WaterLevel(1, 101),
        lambda: frames.Ack(1, 1, 1, 9),
        lambda: frames.Ack(70000, 1, 1, 1),
        lambda: frames.Config(0),
        lambda: frames.Frame(-1, 0, 0, 0, frames.Config(1)),
    ],
)
def test_out_of_range_fields_are_refused_when_building(build: object) -> None:
    with pytest.raises(frames.FrameError, match="bad_value"):
        build()  # type: ignore[operator]


def test_from_fields_refuses_unknown_types() -> None:
    with pytest.raises(frames.FrameError, match="unknown_type"):
        frames.from_fields({"type": "weather", "node_id": 1, "boot_epoch": 1, "seq": 1, "node_ts": 1, "payload": {}})


def test_event_id_is_node_boot_seq() -> None:
    frame = frames.Frame(7, 3, 99, 0, frames.SosCancel(98))
    assert frame.event_id == (7, 3, 99)
    assert frame.kind == "sos_cancel"
