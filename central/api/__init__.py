"""Central's REST API and dashboard."""

from central.api.app import create_app

__all__ = ["create_app"]
