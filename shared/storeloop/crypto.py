"""Field encryption at rest (AES-256-GCM with the data key) and keyed hashes for looking up personal identifiers."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os

from cryptography.hazmat.primitives.ciphers.aead import AESGCM


def _key(data_key: str) -> bytes:
    # The data key is a generated secret string; SHA-256 turns it into the 32 bytes AES-256 needs.
    return hashlib.sha256(data_key.encode()).digest()


def encrypt(data_key: str, plaintext: str, purpose: str) -> str:
    """`purpose` is bound as associated data, so a ciphertext cannot be moved to another field."""
    nonce = os.urandom(12)
    ct = AESGCM(_key(data_key)).encrypt(nonce, plaintext.encode(), purpose.encode())
    return base64.b64encode(nonce + ct).decode()


def decrypt(data_key: str, token: str, purpose: str) -> str:
    raw = base64.b64decode(token)
    return AESGCM(_key(data_key)).decrypt(raw[:12], raw[12:], purpose.encode()).decode()


def keyed_hash(data_key: str, value: str, purpose: str) -> str:
    """A stable, non-reversible id for a personal identifier (e.g. the openid) to use in keys."""
    mac = hmac.new(_key(data_key), f"{purpose}:{value}".encode(), hashlib.sha256)
    return mac.hexdigest()[:40]
