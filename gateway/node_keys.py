"""The node keys a gateway may hold: its own ward's, never a demo's outside the demo.

A gateway sits in a ward office or on a roof, where it can be stolen: whoever reads its disk gets
every key it holds. Holding the province's keys would let one stolen gateway forge SOS and gauge
readings for every ward, so a registry with other wards' nodes is refused (not filtered): filtering
would still leave the province's keys on the gateway's disk, which is the harm. The operator exports
the ward's own file once (``floodmesh nodes export``) and the message says how.
"""

import logging
from pathlib import Path

from protocol.registry import NodeRegistry, RegistryError, require_real_keys

log = logging.getLogger(__name__)
_SHOWN_WARDS = 5


def check_ward_registry(registry: NodeRegistry, ward: str, source: object, allow_demo: bool) -> None:
    """Raise RegistryError (saying the command to run) unless ``registry`` holds only ``ward``'s real keys."""
    require_real_keys(registry, source, allow_demo)
    foreign = sorted(registry.wards() - {ward})
    if foreign:
        shown = ", ".join(foreign[:_SHOWN_WARDS]) + (", ..." if len(foreign) > _SHOWN_WARDS else "")
        count = sum(1 for r in registry if r.ward != ward)
        raise RegistryError(
            f"{source} holds the keys of {count} node(s) in other wards ({shown}); a gateway holds only its "
            f"own ward's keys. Export them: floodmesh nodes export --ward {ward} --registry {source} "
            f"--out nodes-{ward}.json, give the gateway that file and delete this one from its disk"
        )
    if not len(registry):
        log.warning("node registry %s holds no node of ward %s: every frame will be refused as unknown", source, ward)


def load_ward_registry(path: Path, ward: str, allow_demo: bool) -> NodeRegistry:
    """Load a gateway's registry file and check it (``check_ward_registry``); raises RegistryError."""
    registry = NodeRegistry.load(path)
    check_ward_registry(registry, ward, path, allow_demo)
    return registry
