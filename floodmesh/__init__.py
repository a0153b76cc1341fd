"""The `floodmesh` command line."""
