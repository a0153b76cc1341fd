"""Configuration for the embedded amqtt broker (used only where Mosquitto is not installed).

Same trust boundary as Mosquitto: a TLS listener with the broker directory's certificate, amqtt's
``FileAuthPlugin`` over argon2 hashes of the same identities' passwords, and its
``TopicAccessControlListPlugin`` with the same publish/subscribe rules as Mosquitto's ACL. amqtt
reads these only at start: identities must exist before it starts (``start_broker(gateways=...)``).
"""

import json
from pathlib import Path

from pwdlib.hashers.argon2 import Argon2Hasher

from floodmesh.broker_auth import BrokerAuth, acl_rules
from floodmesh.broker_tls import TlsFiles
from protocol.secret_file import write_private, write_public


def amqtt_acls(auth: BrokerAuth) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """(publish ACL, subscribe ACL) by username, from the Mosquitto ACL rules of each identity."""
    publish: dict[str, list[str]] = {}
    subscribe: dict[str, list[str]] = {}
    for identity in auth.identities():
        for rule in acl_rules(identity):
            _, access, topic = rule.split(" ")
            (publish if access == "write" else subscribe).setdefault(identity.username, []).append(topic)
    return publish, subscribe


def amqtt_config(workdir: Path, host: str, port: int, insecure_plaintext: bool) -> Path:
    """Write amqtt's YAML config (JSON is valid YAML) for the broker directory ``workdir`` (already
    initialised by ``init_broker_directory``) and return its path."""
    conf = workdir / "amqtt.yaml"
    listener: dict[str, object] = {"type": "tcp", "bind": f"{host}:{port}"}
    if insecure_plaintext:
        plugins: dict[str, object] = {"amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": True}}
    else:
        tls, auth = TlsFiles.under(workdir), BrokerAuth(workdir)
        hasher = Argon2Hasher()
        hashes = "".join(f"{i.username}:{hasher.hash(auth.password(i.username))}\n" for i in auth.identities())
        write_private(workdir / "amqtt-passwd", hashes)
        publish, subscribe = amqtt_acls(auth)
        listener |= {"ssl": True, "certfile": str(tls.server_cert), "keyfile": str(tls.server_key)}
        plugins = {
            "amqtt.plugins.authentication.FileAuthPlugin": {"password_file": str(workdir / "amqtt-passwd")},
            "amqtt.plugins.topic_checking.TopicAccessControlListPlugin": {"publish_acl": publish, "acl": subscribe},
        }
    write_public(conf, json.dumps({"listeners": {"default": listener}, "plugins": plugins}, indent=2))
    return conf
