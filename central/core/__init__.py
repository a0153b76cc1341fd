"""Central's settings and small shared definitions."""
