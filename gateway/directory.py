"""The ward authority's directory, synced from central and cached on disk for when it is gone."""

import json
import logging
from pathlib import Path

from pydantic import ValidationError

from protocol.envelopes import WardDirectory
from protocol.secret_file import write_private

log = logging.getLogger(__name__)


class DirectoryCache:
    """The latest ``WardDirectory`` for one ward, kept in a JSON file beside the outbox."""

    def __init__(self, path: Path, ward: str) -> None:
        self.path = path
        self.ward = ward
        self.directory: WardDirectory | None = None
        if path.exists():
            try:
                self.directory = WardDirectory.model_validate_json(path.read_text())
            except (OSError, ValidationError) as exc:
                log.warning("ward directory cache %s unreadable, waiting for central: %s", path, exc)

    def update(self, payload: bytes) -> bool:
        """Take a directory from central; returns False (and keeps the old one) if it is invalid."""
        try:
            directory = WardDirectory.model_validate_json(payload)
        except ValidationError:
            return False
        if directory.ward != self.ward:
            return False
        # Atomic and fsynced: cut off, this file is how the gateway knows whose radios to trust, and a
        # power cut must leave the old directory or the new one, not an empty file (0600: phone numbers).
        write_private(self.path, json.dumps(directory.model_dump(mode="json")))
        self.directory = directory
        return True

    def officer_nodes(self) -> set[int]:
        """Radio node ids of the ward's duty officers."""
        if self.directory is None:
            return set()
        return {o.radio_node_id for o in self.directory.officers if o.radio_node_id is not None}

    def pinned_keys(self) -> dict[int, bytes]:
        """Enrolled radios: node id -> the public key the IOC pinned for it (kept while isolated)."""
        if self.directory is None:
            return {}
        return self.directory.pinned_keys()
