"""A local certificate authority and a server certificate for 127.0.0.1 / localhost.

The sandbox speaks HTTPS only, like Salesforce, and clients trust it through a CA-bundle
setting pointing at ``ca.pem`` — never by turning verification off. The files are made
once per directory and reused while valid, so a long-lived ``cert_dir`` (the demo's state
folder) keeps the same CA across runs and whatever trusts it keeps working.
"""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CA_FILE = "ca.pem"
CA_KEY_FILE = "ca-key.pem"
SERVER_FILE = "server.pem"
SERVER_KEY_FILE = "server-key.pem"
HOSTS = ("127.0.0.1", "localhost")
# Regenerate when a certificate has less than this left, so a run never straddles expiry.
MIN_REMAINING = timedelta(days=2)


@dataclass(frozen=True)
class CertPaths:
    ca_cert: Path  # the CA bundle clients trust
    server_cert: Path
    server_key: Path


def ensure_certificates(cert_dir: Path, now: datetime | None = None) -> CertPaths:
    """Return the CA and server files in ``cert_dir``, creating or renewing them if needed."""
    now = now or datetime.now(UTC)
    cert_dir.mkdir(parents=True, exist_ok=True)
    paths = CertPaths(cert_dir / CA_FILE, cert_dir / SERVER_FILE, cert_dir / SERVER_KEY_FILE)
    ca_key_path = cert_dir / CA_KEY_FILE
    ca = _load_ca(paths.ca_cert, ca_key_path, now)
    if ca is None:
        ca = _new_ca(now)
        _write_key(ca_key_path, ca[1])
        _write(paths.ca_cert, ca[0].public_bytes(serialization.Encoding.PEM))
    if not _server_valid(paths, ca[0], now):
        cert, key = _new_server_cert(ca, now)
        _write_key(paths.server_key, key)
        _write(paths.server_cert, cert.public_bytes(serialization.Encoding.PEM))
    return paths


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "syncd sandbox"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _new_ca(now: datetime) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())  # EC: fast to make, unlike RSA
    name = _name("syncd sandbox local CA")
    public = key.public_key()
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .sign(key, hashes.SHA256())
    )
    return cert, key


def _new_server_cert(
    ca: tuple[x509.Certificate, ec.EllipticCurvePrivateKey], now: datetime
) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    ca_cert, ca_key = ca
    key = ec.generate_private_key(ec.SECP256R1())
    public = key.public_key()
    ca_ski = ca_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    san = x509.SubjectAlternativeName(
        [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
    )
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name("127.0.0.1"))
        .issuer_name(ca_cert.subject)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        # Under 398 days: what browsers and strict TLS stacks accept for a leaf.
        .not_valid_after(now + timedelta(days=390))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(san, critical=False)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    return cert, key


def _load_ca(
    cert_path: Path, key_path: Path, now: datetime
) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey] | None:
    try:
        cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
        key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    except (OSError, ValueError):
        return None
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        return None
    if cert.public_key() != key.public_key() or not _fresh(cert, now):
        return None
    return cert, key


def _server_valid(paths: CertPaths, ca_cert: x509.Certificate, now: datetime) -> bool:
    try:
        cert = x509.load_pem_x509_certificate(paths.server_cert.read_bytes())
        key = serialization.load_pem_private_key(paths.server_key.read_bytes(), password=None)
    except (OSError, ValueError):
        return False
    if cert.public_key() != key.public_key() or not _fresh(cert, now):
        return False
    try:
        cert.verify_directly_issued_by(ca_cert)
    except (ValueError, TypeError, InvalidSignature):
        return False  # signed by an older CA: reissue under the current one
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return False
    return ipaddress.ip_address("127.0.0.1") in san.get_values_for_type(x509.IPAddress)


def _fresh(cert: x509.Certificate, now: datetime) -> bool:
    return cert.not_valid_before_utc <= now and cert.not_valid_after_utc - now > MIN_REMAINING


def _write(path: Path, data: bytes, mode: int = 0o644) -> None:
    """Write atomically, so a reader never sees half a PEM file."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    tmp.replace(path)


def _write_key(path: Path, key: ec.EllipticCurvePrivateKey) -> None:
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    _write(path, pem, mode=0o600)
