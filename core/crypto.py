"""AES-256-GCM encryption of secrets at rest, with key ids for rotation and row binding.

A ciphertext is the text ``v1.<key id>.<base64url(nonce || ciphertext+tag)>``. The
associated data names the table, column, user and connector the value belongs to, so a
ciphertext copied into another row fails to decrypt.
"""
from __future__ import annotations

import base64
import hashlib
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

VERSION = "v1"
NONCE_BYTES = 12


class DecryptionError(Exception):
    """A ciphertext cannot be decrypted: unknown key, tampered, or bound to another row."""


def generate_key() -> str:
    """Return a new random 32-byte key, URL-safe base64 encoded."""
    return base64.urlsafe_b64encode(os.urandom(32)).decode()


def parse_keys(raw: str) -> list[str]:
    """Split a comma-separated key list (newest first), checking each is 32 bytes."""
    keys = [k.strip() for k in raw.split(",") if k.strip()]
    if not keys:
        raise ValueError("no key given")
    for position, key in enumerate(keys, 1):
        try:
            decoded = base64.urlsafe_b64decode(key + "=" * (-len(key) % 4))
        except (ValueError, TypeError):
            raise ValueError(f"key #{position} is not URL-safe base64") from None
        if len(decoded) != 32:
            raise ValueError(f"key #{position} must decode to 32 bytes, got {len(decoded)}")
    return keys


def associated_data(table: str, column: str, user_id: int, connector: str) -> bytes:
    """The bytes binding a ciphertext to one row and column."""
    return f"{table}|{column}|{user_id}|{connector}".encode()


class Cipher:
    """Encrypts with the newest key; decrypts with whichever key id a ciphertext names."""

    def __init__(self, keys: list[str] | tuple[str, ...]):
        if not keys:
            raise ValueError("at least one encryption key is required")
        self._keys: dict[str, AESGCM] = {}
        self._order: list[str] = []
        self._derived: dict[bytes, bytes] = {}
        for key in keys:
            raw = base64.urlsafe_b64decode(key + "=" * (-len(key) % 4))
            kid = hashlib.sha256(raw).hexdigest()[:8]
            self._keys[kid] = AESGCM(raw)
            self._order.append(kid)
        self._newest = base64.urlsafe_b64decode(keys[0] + "=" * (-len(keys[0]) % 4))

    @property
    def current_key_id(self) -> str:
        return self._order[0]

    def derive_key(self, info: bytes) -> bytes:
        """A 32-byte key for one purpose (``info``), derived with HKDF-SHA256 from the newest key's
        material; another purpose, or another newest key, gives an unrelated key."""
        derived = self._derived.get(info)
        if derived is None:
            derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(self._newest)
            self._derived[info] = derived
        return derived

    def encrypt(self, plaintext: str, aad: bytes) -> str:
        """Encrypt ``plaintext`` under the newest key, bound to ``aad``."""
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._keys[self.current_key_id].encrypt(nonce, plaintext.encode(), aad)
        body = base64.urlsafe_b64encode(nonce + sealed).decode().rstrip("=")
        return f"{VERSION}.{self.current_key_id}.{body}"

    def key_id_of(self, token: str) -> str:
        """Return the key id a ciphertext was made with."""
        try:
            version, kid, _ = token.split(".", 2)
        except ValueError:
            raise DecryptionError("not a ciphertext") from None
        if version != VERSION:
            raise DecryptionError(f"unknown ciphertext version {version!r}")
        return kid

    def decrypt(self, token: str, aad: bytes) -> str:
        """Decrypt ``token``; raise :class:`DecryptionError` on any mismatch."""
        kid = self.key_id_of(token)
        aead = self._keys.get(kid)
        if aead is None:
            raise DecryptionError(f"no configured key has id {kid}")
        body = token.split(".", 2)[2]
        try:
            blob = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
            return aead.decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:], aad).decode()
        except (InvalidTag, ValueError):
            raise DecryptionError("ciphertext does not match its key or row") from None

    def needs_rotation(self, token: str) -> bool:
        """True when ``token`` was not made with the newest key."""
        return self.key_id_of(token) != self.current_key_id
