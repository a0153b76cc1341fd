"""Provisioning builds a registry the gateway and central can verify frames with."""

import pytest

from edge_nodes.fleet import BUTTON_ID_BASE, SENSOR_ID_BASE, ButtonSite, StationSite, build_fleet, derive_demo_key

pytestmark = pytest.mark.unit

SITES = [StationSite("kim_long", "19813", 16.41667, 107.5667)]


def test_fleet_has_sensors_at_stations_and_buttons_in_wards() -> None:
    reg = build_fleet(SITES, [ButtonSite("19774", 16.4, 107.54), ButtonSite("19753")], sensors_per_station=2)
    sensors = [r for r in reg if r.kind == "water_level"]
    buttons = [r for r in reg if r.kind == "sos_button"]
    assert [r.node_id for r in sensors] == [SENSOR_ID_BASE + 1, SENSOR_ID_BASE + 2]
    assert all(r.station_id == "kim_long" and r.ward == "19813" for r in sensors)
    assert [(r.node_id, r.ward, r.lat) for r in buttons] == [(BUTTON_ID_BASE + 1, "19774", 16.4),
                                                              (BUTTON_ID_BASE + 2, "19753", None)]


def test_real_provisioning_gives_every_node_its_own_random_key() -> None:
    a = build_fleet(SITES, [ButtonSite("19774")], sensors_per_station=3)
    b = build_fleet(SITES, [ButtonSite("19774")], sensors_per_station=3)
    keys = [r.key for r in a] + [r.key for r in b]
    assert len(set(keys)) == len(keys)
    assert all(len(k) == 16 for k in keys)


def test_demo_keys_are_reproducible_and_distinct() -> None:
    a = build_fleet(SITES, [ButtonSite("19774")], demo_secret=b"s")
    b = build_fleet(SITES, [ButtonSite("19774")], demo_secret=b"s")
    assert [r.key for r in a] == [r.key for r in b]
    assert derive_demo_key(b"s", 1) != derive_demo_key(b"s", 2)
