"""The ACL floodmesh derives from its identities, and Mosquitto's password hash format."""

import base64
import hashlib

import pytest

from floodmesh.broker_auth import AuthError, acl_rules, central_identity, gateway_identity, hash_password, render_acl

pytestmark = pytest.mark.unit


def test_a_gateway_writes_only_its_own_uplinks_and_status() -> None:
    rules = acl_rules(gateway_identity("19774", "gw-19774"))
    writes = {r.split()[2] for r in rules if r.split()[1] == "write"}
    reads = {r.split()[2] for r in rules if r.split()[1] == "read"}
    assert writes == {"floodmesh/v1/19774/gw-19774/up/#", "floodmesh/v1/19774/gw-19774/status"}
    assert reads == {"floodmesh/v1/19774/gw-19774/down/#", "floodmesh/v1/19774/gw-19774/ack",
                     "floodmesh/v1/19774/alerts", "floodmesh/v1/19774/directory"}
    assert all("+" not in r and r.split()[2] != "#" for r in rules)


def test_central_reads_uplinks_and_writes_answers() -> None:
    rules = acl_rules(central_identity())
    assert "topic read floodmesh/v1/+/+/up/#" in rules
    assert {r.split()[1] for r in rules if "/up/" in r or r.endswith("/status")} == {"read"}
    assert {r.split()[1] for r in rules if r.endswith(("/alerts", "/directory", "/ack", "/down/#"))} == {"write"}


def test_the_acl_grants_nothing_to_anonymous_clients() -> None:
    text = render_acl([central_identity(), gateway_identity("19774", "gw-19774")])
    first_rule = next(line for line in text.splitlines() if line and not line.startswith("#"))
    assert first_rule == "user central"


def test_identities_that_would_break_the_files_or_topics_are_refused() -> None:
    for bad in ("gw 1", "gw:1", "gw/1", "#", ""):
        with pytest.raises(AuthError):
            gateway_identity("19774", bad)
    with pytest.raises(ValueError, match="ward"):
        gateway_identity("19/774", "gw-1")


def test_password_hash_is_mosquittos_pbkdf2_sha512() -> None:
    salt = b"0123456789ab"
    _, kind, rounds, b64salt, b64hash = hash_password("secret", salt).split("$")
    assert (kind, rounds, base64.b64decode(b64salt)) == ("7", "101", salt)
    assert base64.b64decode(b64hash) == hashlib.pbkdf2_hmac("sha512", b"secret", salt, 101)
