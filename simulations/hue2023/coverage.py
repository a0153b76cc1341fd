"""A planner's coverage survey: roof-top relays added until every home reaches its ward's gateway.

Relays placed by density alone (one per ~8 km², ``airwaves.KM2_PER_RELAY``) left hamlets in a bend of
the river out of every radio's reach: 12 of 92 homes in Thủy Xuân in the first seeded 72 h run, whose
SOS could never arrive however the mesh behaved. A ward does not deploy like that: whoever installs
the buttons checks each home's link budget and puts a relay on a roof between an unreached hamlet and
the mesh. So does this, before the scenario runs: for each home with no path of decodable links to the
gateway within the hop limit, a relay midway between it and the nearest node that has one, until every
home is reached or the budget is spent. The run reports how many it added (``relays_for_coverage``)
and what stays unreached, so the figures measure the protocol, and the survey's cost is visible.
"""

from collections.abc import Callable, Sequence

from simulations.mesh.metrics import reaching
from simulations.mesh.topology import LinkTable, MeshNode, distance_m

RELAY_HEIGHT_M = 12.0
RELAY_POWER_DBM = 14.0
RELAY_GAIN_DBI = 3.0

LinksFor = Callable[[Sequence[MeshNode]], LinkTable]


def plan_relays(
    nodes: Sequence[MeshNode], links_for: LinksFor, gateway: int, homes: Sequence[int], sensitivity_dbm: float,
    max_links: int, first_id: int, budget: int = 40,
) -> tuple[tuple[MeshNode, ...], LinkTable, int]:
    """``nodes`` plus the relays that reach every home in ``homes`` (at most ``budget``), their links, and
    how many relays were added."""
    placed = list(nodes)
    links = links_for(placed)
    added = 0
    while added < budget:
        ok = reaching(links, [gateway], sensitivity_dbm, max_links)
        unreached = [h for h in homes if h not in ok]
        if not unreached:
            break
        home = next(n for n in placed if n.node_id == unreached[0])
        anchor = min((n for n in placed if n.node_id in ok), key=lambda n: distance_m(home, n))
        placed.append(MeshNode(first_id + added, "relay", (home.lat + anchor.lat) / 2, (home.lon + anchor.lon) / 2,
                               RELAY_HEIGHT_M, RELAY_POWER_DBM, "router", RELAY_GAIN_DBI))
        added += 1
        links = links_for(placed)
    return tuple(placed), links, added
