"""Sign a delivery: the headers each signature scheme adds. Sans I/O.

The formulas live in ``hookline.verify`` (the receiving side), so signer and
verifier cannot drift apart. During a secret rotation's grace period a webhook
has several keys, current first: schemes that carry several signatures
(``standard``, ``svix``, ``ed25519``) sign with each; the others sign with the current one.
``svix`` is ``standard`` under Svix's header names, as Svix's libraries verify it.
"""

from __future__ import annotations

import base64
import secrets as _secrets
from dataclasses import dataclass
from functools import lru_cache

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from hookline.verify import (
    SCHEMES,
    body_hmac,
    content_digest,
    rfc9421_signature,
    secret_bytes,
    signature_base,
    signature_params,
    standard_signature,
    timestamped_hmac,
)

__all__ = ["SCHEMES", "SigningKeys", "generate_keypair", "generate_secret", "signature_headers"]


@dataclass(frozen=True, kw_only=True, slots=True)
class SigningKeys:
    """A webhook's signing material, current first, then any still in their grace period."""

    key_id: str
    secrets: tuple[str, ...]
    ed25519_seeds: tuple[str, ...] = ()

    def __repr__(self) -> str:
        return f"SigningKeys(key_id={self.key_id!r}, secrets=***, ed25519_seeds=***)"


def generate_secret() -> str:
    return "whsec_" + base64.b64encode(_secrets.token_bytes(32)).decode()


def generate_keypair() -> tuple[str, str]:
    """A new ed25519 key pair: (``whsk_`` private seed, ``whpk_`` public key)."""
    private = "whsk_" + base64.b64encode(_secrets.token_bytes(32)).decode()
    return private, public_key_of(private)


def public_key_of(private: str) -> str:
    raw = _private_key(private).public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    return "whpk_" + base64.b64encode(raw).decode()


@lru_cache(maxsize=4096)
def _private_key(private: str) -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(base64.b64decode(private.removeprefix("whsk_")))


@lru_cache(maxsize=4096)
def _hmac_key(secret: str) -> bytes:
    return secret_bytes(secret)


def signature_headers(
    scheme: str,
    keys: SigningKeys,
    *,
    msg_id: str,
    timestamp: int,
    body: bytes,
    brand: str,
    url: str,
    content_type: str = "application/json",
) -> dict[str, str]:
    """The headers that sign ``body`` with ``scheme``."""
    current = keys.secrets[0]
    if scheme in ("standard", "svix"):
        prefix = "webhook" if scheme == "standard" else "svix"
        return {
            f"{prefix}-id": msg_id,
            f"{prefix}-timestamp": str(timestamp),
            f"{prefix}-signature": " ".join(
                standard_signature(_hmac_key(s), msg_id, timestamp, body) for s in keys.secrets
            ),
        }
    if scheme == "ed25519":
        message = f"{msg_id}.{timestamp}.".encode() + body
        return {
            "webhook-id": msg_id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": " ".join(
                "v1a," + base64.b64encode(_private_key(seed).sign(message)).decode()
                for seed in keys.ed25519_seeds
            ),
        }
    if scheme == "hmac-sha256":
        return {f"X-{brand}-Signature-256": timestamped_hmac(current, timestamp, body)}
    if scheme == "hmac-sha256-body":
        return {f"X-{brand}-Hmac-Sha256": body_hmac(current, body)}
    if scheme == "rfc9421":
        digest = content_digest(body)
        params = signature_params(timestamp, keys.key_id)
        base = signature_base(
            ["@method", "@target-uri", "content-digest", "content-type"],
            params,
            method="POST",
            url=url,
            headers={"content-digest": digest, "content-type": content_type},
        )
        return {
            "Content-Digest": digest,
            "Signature-Input": f"sig1={params}",
            "Signature": f"sig1=:{rfc9421_signature(current, base)}:",
        }
    if scheme == "none":
        return {}
    raise ValueError(f"unknown signature scheme {scheme!r}")
