"""Radio links behind one interface: ``sim`` now; Meshtastic ``serial``/``tcp`` plug in beside it."""
