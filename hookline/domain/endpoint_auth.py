"""How a webhook proves itself to its endpoint, beyond the signature. Pure.

A webhook's ``auth`` is one of:

- ``{"type": "basic", "username": …, "password": …}``: HTTP Basic on every request;
- ``{"type": "bearer", "token": …}``: ``Authorization: Bearer <token>``;
- ``{"type": "oauth2", "tokenUrl": …, "clientId": …, "clientSecret": …, "scope": …,
  "clientAuth": "basic" | "post"}``: OAuth 2.0 client credentials (RFC 6749, section 4.4); the
  dispatcher fetches a token and sends it as a bearer token;
- ``{"type": "mtls", "certificate": PEM, "key": PEM}``: a client certificate presented in
  the TLS handshake.

The whole object is stored sealed with the deployment key. ``public`` is what the API and
the UI show: the kind and the parts that are not secret.

Nobody reads a stored secret back, so nobody may send it where they like either: a change
that leaves the secret out keeps the stored one (``with_stored_secret``) only while it goes
where it was given for (``moved`` says why not).
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Callable
from typing import Any

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa
from yarl import URL

from hookline.errors import Invalid

KINDS = ("basic", "bearer", "oauth2", "mtls")
_VISIBLE_ASCII = re.compile(r"[\x21-\x7e]+")
MAX_TEXT = 4096
MAX_PEM = 16384
# The fields each kind takes: required ones, then optional ones.
_FIELDS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "basic": (("username", "password"), ()),
    "bearer": (("token",), ()),
    "oauth2": (("tokenUrl", "clientId", "clientSecret"), ("scope", "clientAuth")),
    "mtls": (("certificate", "key"), ()),
}
# The secret of each kind: never shown, so a change may leave it out to keep the stored one.
SECRETS = {"basic": "password", "bearer": "token", "oauth2": "clientSecret", "mtls": "key"}
# Beside the webhook URL's origin, what says where a secret goes and as whom: a stored
# secret goes along only while these stay the same.
PLACES = ("tokenUrl", "username", "clientId")


def check(value: Any, *, check_url: Callable[[str], str]) -> dict[str, Any] | None:
    """The auth as stored (None: none); raise ``Invalid`` (``invalid_auth``) naming the field.
    ``check_url`` checks the OAuth2 token URL with the rules of a webhook URL."""
    if value is None:
        return None
    if not isinstance(value, dict) or value.get("type") not in KINDS:
        raise _invalid("auth.type", f"auth is an object whose type is one of {', '.join(KINDS)}")
    kind = value["type"]
    required, optional = _FIELDS[kind]
    unknown = sorted(set(value) - {"type", *required, *optional})
    if unknown:
        raise _invalid(f"auth.{unknown[0]}", f"{kind} auth takes {', '.join(required + optional)}")
    out: dict[str, Any] = {"type": kind}
    for name in required + optional:
        if name not in value or value[name] is None:
            if name in required:
                raise _invalid(f"auth.{name}", f"{kind} auth needs {name}")
            continue
        text = value[name]
        limit = MAX_PEM if kind == "mtls" else MAX_TEXT
        if not isinstance(text, str) or not text or len(text) > limit:
            raise _invalid(f"auth.{name}", f"{name} is a string of 1 to {limit} characters")
        if not is_utf8(text) or (kind != "mtls" and any(ord(ch) < 32 for ch in text)):
            raise _invalid(f"auth.{name}", f"{name} must be text without control characters")
        out[name] = text
    if kind == "bearer" and not _VISIBLE_ASCII.fullmatch(out["token"]):
        raise _invalid("auth.token", "a bearer token is printable ASCII without spaces")
    if kind == "basic" and ":" in out["username"]:
        raise _invalid("auth.username", "a Basic username must not contain ':'")
    if kind == "oauth2":
        out["tokenUrl"] = _token_url(out["tokenUrl"], check_url)
        if out.get("clientAuth", "basic") not in ("basic", "post"):
            raise _invalid("auth.clientAuth", 'clientAuth is "basic" or "post"')
    if kind == "mtls":
        _check_pair(out["certificate"], out["key"])
    return out


def public(auth: dict[str, Any] | None) -> dict[str, Any] | None:
    """What may be shown of ``auth``: never a password, token, client secret or key."""
    if auth is None:
        return None
    kind = auth["type"]
    if kind == "basic":
        return {"type": kind, "username": auth["username"]}
    if kind == "oauth2":
        shown = {k: auth.get(k) for k in ("tokenUrl", "clientId", "scope")}
        return {"type": kind, **shown, "clientAuth": auth.get("clientAuth", "basic")}
    if kind == "mtls":
        return {"type": kind, "certificate": certificate_summary(auth["certificate"])}
    return {"type": kind}


def authorization(auth: dict[str, Any] | None) -> str | None:
    """The ``Authorization`` header value of a static kind (basic, bearer); None otherwise."""
    if auth is None:
        return None
    if auth["type"] == "basic":
        pair = f"{auth['username']}:{auth['password']}".encode()
        return "Basic " + base64.b64encode(pair).decode()
    if auth["type"] == "bearer":
        return f"Bearer {auth['token']}"
    return None


def with_stored_secret(given: Any, stored: dict[str, Any] | None) -> tuple[Any, bool]:
    """``given`` with the secret it leaves out taken from ``stored`` of the same kind, and
    whether it was; anything else as it is (``check`` then says what is wrong)."""
    if not isinstance(given, dict) or stored is None or given.get("type") != stored["type"]:
        return given, False
    name = SECRETS[stored["type"]]
    if given.get(name) is not None:
        return given, False
    return {**given, name: stored[name]}, True


def moved(
    old_url: str, old_auth: dict[str, Any], new_url: str, new_auth: dict[str, Any]
) -> str | None:
    """Why the secret of ``old_auth`` at ``old_url`` may not go along to ``new_auth`` at
    ``new_url`` (a sentence), or None when it goes to the same place: the URL's origin
    (scheme, host, port) and the auth's token URL, username and client id are unchanged."""
    before, after = URL(old_url).origin(), URL(new_url).origin()
    if (before.scheme, before.host, before.port) != (after.scheme, after.host, after.port):
        return f"The URL's origin changed ({before} to {after})"
    for name in PLACES:
        if old_auth.get(name) != new_auth.get(name):
            return f"auth.{name} changed"
    return None


def certificate_summary(pem: str) -> dict[str, Any]:
    cert = x509.load_pem_x509_certificate(pem.encode())
    return {
        "subject": cert.subject.rfc4514_string(),
        "issuer": cert.issuer.rfc4514_string(),
        "notAfter": cert.not_valid_after_utc.isoformat().replace("+00:00", "Z"),
        "sha256": hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).hexdigest(),
    }


def _token_url(url: str, check_url: Callable[[str], str]) -> str:
    try:
        return check_url(url)
    except Invalid as exc:
        raise _invalid("auth.tokenUrl", exc.message.rstrip(".")) from exc


def is_utf8(text: str) -> bool:
    """Whether ``text`` encodes (a lone surrogate, which JSON can carry, does not)."""
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True


def _check_pair(cert_pem: str, key_pem: str) -> None:
    try:
        cert = x509.load_pem_x509_certificate(cert_pem.encode())
        cert_key = cert.public_key()
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise _invalid("auth.certificate", "certificate is not a PEM X.509 certificate") from exc
    try:
        key = serialization.load_pem_private_key(key_pem.encode(), password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        raise _invalid("auth.key", "key is not an unencrypted PEM private key") from exc
    if not isinstance(
        key,
        rsa.RSAPrivateKey
        | ec.EllipticCurvePrivateKey
        | ed25519.Ed25519PrivateKey
        | ed448.Ed448PrivateKey,
    ):
        raise _invalid("auth.key", "key is not an RSA, EC or EdDSA key")
    raw = serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    if key.public_key().public_bytes(*raw) != cert_key.public_bytes(*raw):
        raise _invalid("auth.key", "key is not the certificate's private key")


def _invalid(field: str, why: str) -> Invalid:
    return Invalid(f"{why}.", code="invalid_auth", details=[{"field": field, "message": why}])
