"""A discrete-event model of floodmesh's LoRa mesh: Meshtastic flooding over Huế's wards.

``physics`` (presets, time on air, path loss), ``topology`` (nodes on a ward, links), ``channel`` (the
shared air: collisions, capture, half duplex), ``flooding`` (the firmware's router per node), ``model``
(``MeshModel``: transmissions in, receptions out), ``traffic`` (a ward's load), ``metrics``.
"""
