"""How floodmesh rides on the Meshtastic mesh (MicroPython-safe: copied onto devices too).

Our frames travel as the payload of a Meshtastic ``Data`` message on a private application port
(Meshtastic reserves 256-511 for private apps); ward officials' commands are plain
``TEXT_MESSAGE_APP`` text.
"""

FLOODMESH_PORTNUM = 287
TEXT_MESSAGE_PORTNUM = 1
