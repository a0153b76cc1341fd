"""Nodes placed on a Huế ward: seeded, inside the ward, the gateway on a roof, the link budget as physics says."""

import pytest
from shapely.geometry import Point

from simulations.mesh.physics import REGIONS, TERRAINS
from simulations.mesh.topology import distance_m, ward_topology
from simulations.ward_sites import WardShapes

pytestmark = pytest.mark.unit


def test_same_seed_same_mesh_and_another_seed_another() -> None:
    a = ward_topology("19774", buttons=20, sensors=2, seed=7)
    assert a == ward_topology("19774", buttons=20, sensors=2, seed=7)
    assert a.links != ward_topology("19774", buttons=20, sensors=2, seed=8).links


def test_kinds_counts_heights_and_every_node_inside_the_ward() -> None:
    topo = ward_topology("19813", buttons=30, sensors=3, handhelds=2, seed=1)
    assert [len(topo.ids(k)) for k in ("gateway", "sensor", "handheld", "button")] == [1, 3, 2, 30]
    assert topo.node(1).height_m == 12.0
    assert all(topo.node(b).height_m == 1.5 for b in topo.ids("button"))
    ward = WardShapes().geometry("19813")
    assert all(ward.contains(Point(topo.node(b).lon, topo.node(b).lat)) for b in topo.ids("button"))


def test_the_kim_long_gauge_carries_the_first_sensor_of_its_ward() -> None:
    topo = ward_topology("19813", buttons=1, sensors=2, seed=1)  # central's stations.json: kim_long is in 19813
    first = topo.node(topo.ids("sensor")[0])
    assert (first.lat, first.lon) == (16.41667, 107.5667)


def test_link_budget_is_power_plus_gains_minus_path_loss_within_shadowing() -> None:
    topo = ward_topology("19774", buttons=10, sensors=0, handhelds=0, seed=3)
    gw = topo.node(1)
    region = REGIONS["VN"]
    offsets = []
    for b in topo.ids("button"):
        rssi = topo.links.rssi_dbm.get((b, 1))
        if rssi is None:
            continue
        node = topo.node(b)
        loss = TERRAINS["suburban"].path_loss_db(distance_m(node, gw), region.centre_hz, node.height_m, gw.height_m)
        offsets.append(14.0 + 0.0 + gw.antenna_gain_dbi - loss - rssi)
    assert offsets
    assert all(abs(o) < 15 for o in offsets)  # 5 sigma of 3 dB shadowing
    assert len(set(offsets)) == len(offsets)  # each directed link has its own draw


def test_unknown_ward_says_where_codes_come_from() -> None:
    with pytest.raises(ValueError, match=r"hue_wards\.geojson"):
        ward_topology("99999", buttons=1, sensors=0)
