"""The broker's TLS material: a CA the operator holds and a server certificate it signs.

The CA is floodmesh's own, not a public one: gateways sit on ward networks without reliable internet,
so nothing may depend on a public PKI at run time; every client trusts exactly this CA (``ca.crt``)
and checks that the broker's certificate names the host it dialled. Keys are ECDSA P-256: small, and
the cheapest handshake a gateway on a flaky backhaul reconnects with.
"""

import datetime as dt
import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from protocol.secret_file import write_private, write_public

DEFAULT_HOSTS: tuple[str, ...] = ("127.0.0.1", "localhost")
_CA_DAYS = 3650
_SERVER_DAYS = 825  # what clients accept for a server certificate


@dataclass(frozen=True)
class TlsFiles:
    """Where the CA and the broker's certificate live in a broker directory."""

    ca_cert: Path
    ca_key: Path
    server_cert: Path
    server_key: Path

    @classmethod
    def under(cls, directory: Path) -> "TlsFiles":
        """The standard file names inside ``directory``."""
        return cls(directory / "ca.crt", directory / "ca.key", directory / "server.crt", directory / "server.key")


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "floodmesh"),
                      x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _pem_key(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _subject_alt_names(hosts: Sequence[str]) -> x509.SubjectAlternativeName:
    names: list[x509.GeneralName] = []
    for host in hosts:
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            names.append(x509.DNSName(host))
    return x509.SubjectAlternativeName(names)


def make_ca(files: TlsFiles, now: dt.datetime, common_name: str = "floodmesh broker CA") -> None:
    """Create a new CA (key 0600) at ``files.ca_cert``/``files.ca_key``."""
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name)).issuer_name(_name(common_name))
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=_CA_DAYS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=False, content_commitment=False, key_encipherment=False,
                                     data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                     crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
        .sign(key, hashes.SHA256())
    )
    write_private(files.ca_key, _pem_key(key))
    write_public(files.ca_cert, cert.public_bytes(serialization.Encoding.PEM))


def issue_server_cert(files: TlsFiles, hosts: Sequence[str], now: dt.datetime) -> None:
    """Sign a server certificate for ``hosts`` (IPs and DNS names) with the CA in ``files``."""
    _issue(files, hosts, now, files.server_cert, files.server_key, [ExtendedKeyUsageOID.SERVER_AUTH])


def issue_peer_cert(files: TlsFiles, hosts: Sequence[str], now: dt.datetime, cert: Path, key: Path) -> None:
    """Sign a certificate a server presents to its peers both ways (a NATS route dials and accepts: mutual TLS)."""
    _issue(files, hosts, now, cert, key, [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH])


def _issue(
    files: TlsFiles, hosts: Sequence[str], now: dt.datetime, cert_path: Path, key_path: Path,
    usages: list[x509.ObjectIdentifier],
) -> None:
    if not hosts:
        raise ValueError("the broker's certificate must name at least one host (e.g. --host 127.0.0.1)")
    ca_key = serialization.load_pem_private_key(files.ca_key.read_bytes(), password=None)
    if not isinstance(ca_key, ec.EllipticCurvePrivateKey):
        raise ValueError(f"{files.ca_key} is not an EC key made by `floodmesh broker init`")
    ca_cert = x509.load_pem_x509_certificate(files.ca_cert.read_bytes())
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(hosts[0])).issuer_name(ca_cert.subject)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=_SERVER_DAYS))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_subject_alt_names(hosts), critical=False)
        .add_extension(x509.ExtendedKeyUsage(usages), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    write_private(key_path, _pem_key(key))
    write_public(cert_path, cert.public_bytes(serialization.Encoding.PEM))
