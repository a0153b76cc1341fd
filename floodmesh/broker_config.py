"""Mosquitto's configuration for a floodmesh broker directory: one TLS listener, passwords, ACL.

The same text serves ``floodmesh broker init`` (an operator's broker) and ``start_broker`` (the demo's
and the tests' child broker), so what the tests prove is what an operator runs.
"""

import datetime as dt
import getpass
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from floodmesh.broker_auth import BrokerAuth, central_identity
from floodmesh.broker_tls import TlsFiles, issue_server_cert, make_ca

# max_inflight/queued limits raised: the defaults (20 in flight, 1000 queued) throttle and then
# silently drop QoS 1 bursts from a gateway draining its outbox.
_MAX_QUEUED = 1_000_000


def _limits(options: "MosquittoOptions") -> str:
    return f"max_inflight_messages 0\nmax_queued_messages {options.max_queued_messages}\nmax_queued_bytes 0\n"
# An SOS ACK is one small packet each way: without TCP_NODELAY, Nagle plus delayed ACK add ~40 ms.
_NODELAY = "set_tcp_nodelay true\n"


@dataclass(frozen=True)
class MosquittoOptions:
    """Where the broker listens and keeps its state."""

    bind_host: str
    port: int
    log_file: Path | None = None
    persistence_dir: Path | None = None
    pid_file: Path | None = None
    run_as: str | None = None  # the user Mosquitto drops to when started as root; None = the current user
    # QoS 1 messages kept per offline persistent session; past this Mosquitto drops them (fault tests lower it).
    max_queued_messages: int = _MAX_QUEUED
    # Seconds between saves of the persistence file (Mosquitto's default: 1800). A broker killed -9
    # comes back with the state of its last save: fault tests save every second or so to replay it.
    autosave_interval_s: int | None = None


def secure_config(directory: Path, options: MosquittoOptions) -> str:
    """A TLS-only, password-only, ACL-checked config for the broker directory ``directory``."""
    tls, auth = TlsFiles.under(directory), BrokerAuth(directory)
    # Mosquitto started as root drops to user `mosquitto`, which cannot read our 0600 files: stay as
    # whoever owns them.
    user = options.run_as or getpass.getuser()
    lines = [
        f"user {user}",
        "per_listener_settings false",
        "allow_anonymous false",
        f"password_file {auth.password_file_path}",
        f"acl_file {auth.acl_file_path}",
        "",
        f"listener {options.port} {options.bind_host}",
        f"cafile {tls.ca_cert}",
        f"certfile {tls.server_cert}",
        f"keyfile {tls.server_key}",
        "tls_version tlsv1.2",  # the minimum: Mosquitto 2.0 then also accepts TLS 1.3
        "",
    ]
    return "\n".join(lines) + _NODELAY + _limits(options) + _state(options)


def insecure_plaintext_config(options: MosquittoOptions) -> str:
    """An anonymous plaintext broker: only for measuring what TLS, passwords and the ACL cost."""
    return (f"listener {options.port} {options.bind_host}\nallow_anonymous true\n"
            + _NODELAY + _limits(options) + _state(options))


def _state(options: MosquittoOptions) -> str:
    text = ""
    if options.persistence_dir is not None:
        text += f"persistence true\npersistence_location {options.persistence_dir}/\n"
        if options.autosave_interval_s is not None:
            text += f"autosave_interval {options.autosave_interval_s}\n"
    else:
        text += "persistence false\n"
    if options.pid_file is not None:
        text += f"pid_file {options.pid_file}\n"
    if options.log_file is not None:
        text += f"log_dest file {options.log_file}\nlog_type error\nlog_type warning\nlog_type notice\n"
    return text


def init_broker_directory(directory: Path, hosts: Sequence[str], now: dt.datetime) -> Path:
    """Create the CA (unless there is one), a server certificate for ``hosts`` and central's identity.

    Running it again keeps the CA (every client trusts it) and central's password, and re-issues the
    server certificate, e.g. for a new host name. Returns central's password file.
    """
    tls = TlsFiles.under(directory)
    if not (tls.ca_cert.exists() and tls.ca_key.exists()):
        make_ca(tls, now)
    issue_server_cert(tls, hosts, now)
    return BrokerAuth(directory).add(central_identity())
