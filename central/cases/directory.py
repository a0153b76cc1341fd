"""Ward directories (duty officers, escalation chain): seeded from authorities.csv, edited via the API,
published retained on ``floodmesh/v1/<ward>/directory`` for the ward's gateways to cache."""

from collections.abc import Mapping
from datetime import datetime

from central.geo.authorities import Authority
from central.geo.ward_locator import WardLocator
from central.store.base import CentralStore
from central.store.records import iso
from protocol import topics
from protocol.envelopes import DutyOfficer, WardDirectory

CHAIN_SEPARATOR = "|"
"""authorities.csv's ``escalation`` lists the levels above the ward, nearest first: ``district|Hue IOC``."""


def seed(locator: WardLocator, authorities: Mapping[str, Authority]) -> list[WardDirectory]:
    """A directory for every ward: its authority's duty officer and escalation chain from the CSV."""
    out = []
    for ward in locator.wards:
        a = authorities.get(ward.code)
        officers, chain = [], []
        if a is not None:
            if a.duty_officer:
                officers.append(
                    DutyOfficer(name=a.duty_officer, role="duty officer", phone=a.phone, radio_node_id=a.radio_node_id,
                                public_key=a.radio_public_key)
                )
            chain = [level.strip() for level in a.escalation.split(CHAIN_SEPARATOR) if level.strip()]
        out.append(
            WardDirectory(
                ward=ward.code,
                authority=locator.authority_name(ward.code),
                officers=officers,
                escalation=chain or ["Hue IOC"],
            )
        )
    return out


def install(store: CentralStore, directories: list[WardDirectory], now: datetime) -> None:
    """Store the seeded directories of wards that have none yet (edits made via the API are kept)."""
    with store.transaction() as tx:
        for d in directories:
            tx.put_directory(d.ward, d.model_dump_json(), iso(now), replace=False)


def put(store: CentralStore, directory: WardDirectory, now: datetime) -> None:
    """Replace one ward's directory."""
    with store.transaction() as tx:
        tx.put_directory(directory.ward, directory.model_dump_json(), iso(now))


def pins(directory: WardDirectory) -> set[tuple[str, int, str]]:
    """(officer, radio node id, public key) of every enrolled radio: what only an operator may add or change."""
    return {(o.name, o.radio_node_id, o.public_key) for o in directory.officers
            if o.radio_node_id is not None and o.public_key is not None}


def enrol_radio(directory: WardDirectory, officer: str, radio_node_id: int, public_key: str) -> WardDirectory:
    """The directory with ``officer``'s radio pinned to (node id, public key); KeyError if no such officer.

    Other officers pinned to the same node lose that pin: one radio, one key, one holder.
    """
    if all(o.name != officer for o in directory.officers):
        raise KeyError(officer)
    officers = []
    for o in directory.officers:
        if o.name == officer:
            o = o.model_copy(update={"radio_node_id": radio_node_id, "public_key": public_key})
        elif o.radio_node_id == radio_node_id:
            o = o.model_copy(update={"public_key": None})
        officers.append(o)
    return WardDirectory.model_validate(directory.model_copy(update={"officers": officers}).model_dump())


def unenrol_radio(directory: WardDirectory, officer: str) -> WardDirectory:
    """The directory with ``officer``'s pinned key removed (a lost or replaced radio); KeyError if no such officer."""
    if all(o.name != officer for o in directory.officers):
        raise KeyError(officer)
    officers = [o.model_copy(update={"public_key": None}) if o.name == officer else o for o in directory.officers]
    return directory.model_copy(update={"officers": officers})


def message(directory: WardDirectory) -> tuple[str, str]:
    """(retained topic, payload) announcing a ward's directory to its gateways."""
    return topics.directory(directory.ward), directory.model_dump_json()
