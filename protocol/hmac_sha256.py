"""HMAC-SHA256 built from ``hashlib.sha256``, because MicroPython ships no ``hmac`` module.

This module is copied onto devices: it uses only the subset of Python that MicroPython runs
(no ``typing`` imports, annotations are parsed but never evaluated there).
"""

import hashlib

_BLOCK = 64


def hmac_sha256_pure(key: bytes, msg: bytes) -> bytes:
    """RFC 2104 HMAC-SHA256, written out for platforms without ``hmac``."""
    if len(key) > _BLOCK:
        key = hashlib.sha256(key).digest()
    key = key + b"\x00" * (_BLOCK - len(key))
    ipad = bytes([b ^ 0x36 for b in key])
    opad = bytes([b ^ 0x5C for b in key])
    inner = hashlib.sha256(ipad + msg).digest()
    return hashlib.sha256(opad + inner).digest()


try:
    import hmac as _hmac
except ImportError:  # MicroPython
    _hmac = None  # type: ignore[assignment]


def hmac_sha256(key: bytes, msg: bytes) -> bytes:
    """HMAC-SHA256; on CPython through the C ``hmac`` (same bytes, much faster)."""
    if _hmac is None:
        return hmac_sha256_pure(key, msg)
    return _hmac.digest(key, msg, "sha256")


def equal_tags(a: bytes, b: bytes) -> bool:
    """Compare two tags in time independent of where they differ (no timing oracle)."""
    if len(a) != len(b):
        return False
    diff = 0
    for i in range(len(a)):
        diff |= a[i] ^ b[i]
    return diff == 0
