"""How a webhook proves itself to its endpoint, beyond the signature. Pure.

A webhook's ``auth`` is one of:

- ``{"type": "basic", "username": …, "password": …}``: HTTP Basic on every request;
- ``{"type": "bearer", "token": …}``: ``Authorization: Bearer <token>``;
- ``{"type": "oauth2", "tokenUrl": …, "clientId": …, "clientSecret": …, "scope": …,
  "clientAuth": "basic" | "post"}``: OAuth 2.0 client credentials (RFC 6749, section 4.4); the
  dispatcher fetches a token and sends it as a bearer token;
- ``{"type": "mtls", "certificate": PEM, "key": PEM}``: a client certificate presented in
  the TLS handshake.

``parse`` turns the JSON into one of ``Basic``, ``Bearer``, ``OAuth2`` and ``MTLS`` (an
``EndpointAuth``); ``load`` reads back what a store kept (``to_json``, sealed with the
deployment key). ``public()`` is what the API and the UI show: the kind and the parts that
are not secret.

Nobody reads a stored secret back, so nobody may send it where they like either: a change
that leaves the secret out (``SecretLeftOut``) keeps the stored one only while it goes
where it was given for (``moved`` says why not).

``parse`` checks the shape of each field; ``checked`` then applies the deployment's rules to
the OAuth2 token URL, as to a webhook URL.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, ClassVar, Literal

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa
from yarl import URL

from hookline.domain.limits import MAX_AUTH_TEXT, MAX_PEM
from hookline.errors import Invalid

KINDS = ("basic", "bearer", "oauth2", "mtls")
_VISIBLE_ASCII = re.compile(r"[\x21-\x7e]+")
# The fields each kind takes: required ones, then optional ones.
_FIELDS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "basic": (("username", "password"), ()),
    "bearer": (("token",), ()),
    "oauth2": (("tokenUrl", "clientId", "clientSecret"), ("scope", "clientAuth")),
    "mtls": (("certificate", "key"), ()),
}


@dataclass(frozen=True, kw_only=True, slots=True)
class Basic:
    """HTTP Basic on every request."""

    kind: ClassVar[str] = "basic"
    secret_field: ClassVar[str] = "password"
    username: str
    password: str = field(repr=False)

    @property
    def secret(self) -> str:
        return self.password

    def authorization(self) -> str | None:
        pair = f"{self.username}:{self.password}".encode()
        return "Basic " + base64.b64encode(pair).decode()

    def places(self) -> dict[str, str | None]:
        return {"username": self.username}

    def public(self) -> dict[str, Any]:
        return {"type": self.kind, "username": self.username}

    def to_json(self) -> dict[str, Any]:
        return {"type": self.kind, "username": self.username, "password": self.password}


@dataclass(frozen=True, kw_only=True, slots=True)
class Bearer:
    """``Authorization: Bearer <token>`` on every request."""

    kind: ClassVar[str] = "bearer"
    secret_field: ClassVar[str] = "token"
    token: str = field(repr=False)

    @property
    def secret(self) -> str:
        return self.token

    def authorization(self) -> str | None:
        return f"Bearer {self.token}"

    def places(self) -> dict[str, str | None]:
        return {}

    def public(self) -> dict[str, Any]:
        return {"type": self.kind}

    def to_json(self) -> dict[str, Any]:
        return {"type": self.kind, "token": self.token}


@dataclass(frozen=True, kw_only=True, slots=True)
class OAuth2:
    """OAuth 2.0 client credentials: a token fetched from ``token_url``, sent as a bearer
    token; the client authenticates with HTTP Basic or in the form (``client_auth``)."""

    kind: ClassVar[str] = "oauth2"
    secret_field: ClassVar[str] = "clientSecret"
    token_url: str
    client_id: str
    client_secret: str = field(repr=False)
    scope: str | None = None
    client_auth: Literal["basic", "post"] = "basic"

    @property
    def secret(self) -> str:
        return self.client_secret

    def authorization(self) -> str | None:
        return None  # a token the dispatcher fetches (hookline.dispatch.oauth2)

    def places(self) -> dict[str, str | None]:
        return {"tokenUrl": self.token_url, "clientId": self.client_id}

    def public(self) -> dict[str, Any]:
        return {
            "type": self.kind,
            "tokenUrl": self.token_url,
            "clientId": self.client_id,
            "scope": self.scope,
            "clientAuth": self.client_auth,
        }

    def to_json(self) -> dict[str, Any]:
        kept = {
            "type": self.kind,
            "tokenUrl": self.token_url,
            "clientId": self.client_id,
            "clientSecret": self.client_secret,
            "scope": self.scope,
            "clientAuth": None if self.client_auth == "basic" else self.client_auth,
        }
        return {name: value for name, value in kept.items() if value is not None}


@dataclass(frozen=True, kw_only=True, slots=True)
class MTLS:
    """A client certificate presented in the TLS handshake (PEM, with its unencrypted key)."""

    kind: ClassVar[str] = "mtls"
    secret_field: ClassVar[str] = "key"
    certificate: str
    key: str = field(repr=False)

    @property
    def secret(self) -> str:
        return self.key

    def authorization(self) -> str | None:
        return None

    def places(self) -> dict[str, str | None]:
        return {}

    def public(self) -> dict[str, Any]:
        return {"type": self.kind, "certificate": certificate_summary(self.certificate)}

    def to_json(self) -> dict[str, Any]:
        return {"type": self.kind, "certificate": self.certificate, "key": self.key}


EndpointAuth = Basic | Bearer | OAuth2 | MTLS
_KIND: dict[str, type[EndpointAuth]] = {k.kind: k for k in (Basic, Bearer, OAuth2, MTLS)}
# The secret of each kind: never shown, so a change may leave it out to keep the stored one.
SECRETS = {kind: cls.secret_field for kind, cls in _KIND.items()}
# Names in JSON → field names.
_FIELD_NAMES = {
    "tokenUrl": "token_url",
    "clientId": "client_id",
    "clientSecret": "client_secret",
    "clientAuth": "client_auth",
}


def parse(value: Any) -> EndpointAuth | None:
    """The auth a JSON value gives (None: none); raise ``Invalid`` (``invalid_auth``) naming
    the field. Its URL is as given: ``checked`` applies the deployment's rules to it."""
    parsed = _parse(value, secret_optional=False)
    assert not isinstance(parsed, SecretLeftOut)
    return parsed


def parse_change(value: Any) -> EndpointAuth | SecretLeftOut | None:
    """Like ``parse``, for a change: the secret may be left out, to keep the stored one."""
    return _parse(value, secret_optional=True)


@dataclass(frozen=True, slots=True)
class SecretLeftOut:
    """An auth given without its secret: a change that keeps the stored one, if it may."""

    kind: str
    fields: tuple[tuple[str, str], ...]  # by JSON name, every one but the secret

    def with_secret(self, stored: EndpointAuth | None) -> EndpointAuth:
        """This auth with the secret of ``stored``, which must be of the same kind."""
        secret = SECRETS[self.kind]
        if stored is None or stored.kind != self.kind:
            raise _invalid(f"auth.{secret}", f"{self.kind} auth needs {secret}")
        auth = {"type": self.kind, **dict(self.fields), secret: stored.secret}
        if isinstance(stored, MTLS):
            _check_pair(auth["certificate"], stored.key)
        return load(auth)


def _parse(value: Any, *, secret_optional: bool) -> EndpointAuth | SecretLeftOut | None:
    if value is None:
        return None
    if not isinstance(value, dict) or value.get("type") not in KINDS:
        raise _invalid("auth.type", f"auth is an object whose type is one of {', '.join(KINDS)}")
    kind = value["type"]
    required, optional = _FIELDS[kind]
    unknown = sorted(set(value) - {"type", *required, *optional})
    if unknown:
        raise _invalid(f"auth.{unknown[0]}", f"{kind} auth takes {', '.join(required + optional)}")
    left_out = secret_optional and value.get(SECRETS[kind]) is None
    out: dict[str, Any] = {"type": kind}
    for name in required + optional:
        if name not in value or value[name] is None:
            if name in required and not (left_out and name == SECRETS[kind]):
                raise _invalid(f"auth.{name}", f"{kind} auth needs {name}")
            continue
        text = value[name]
        limit = MAX_PEM if kind == "mtls" else MAX_AUTH_TEXT
        if not isinstance(text, str) or not text or len(text) > limit:
            raise _invalid(f"auth.{name}", f"{name} is a string of 1 to {limit} characters")
        if not is_utf8(text) or (kind != "mtls" and any(ord(ch) < 32 for ch in text)):
            raise _invalid(f"auth.{name}", f"{name} must be text without control characters")
        out[name] = text
    if kind == "bearer" and not left_out and not _VISIBLE_ASCII.fullmatch(out["token"]):
        raise _invalid("auth.token", "a bearer token is printable ASCII without spaces")
    if kind == "basic" and ":" in out["username"]:
        raise _invalid("auth.username", "a Basic username must not contain ':'")
    if kind == "oauth2" and out.get("clientAuth", "basic") not in ("basic", "post"):
        raise _invalid("auth.clientAuth", 'clientAuth is "basic" or "post"')
    if left_out:
        return SecretLeftOut(kind, tuple((k, v) for k, v in out.items() if k != "type"))
    if kind == "mtls":
        _check_pair(out["certificate"], out["key"])
    return load(out)


def checked(auth: EndpointAuth, check_url: Callable[[str], str]) -> EndpointAuth:
    """``auth`` with its OAuth2 token URL as it is sent, if the rules of a webhook URL
    (``check_url``) let it be reached."""
    if not isinstance(auth, OAuth2):
        return auth
    try:
        return replace(auth, token_url=check_url(auth.token_url))
    except Invalid as exc:
        raise _invalid("auth.tokenUrl", exc.message.rstrip(".")) from exc


def load(raw: dict[str, Any]) -> EndpointAuth:
    """The auth a stored (already parsed) JSON value holds."""
    fields = {_FIELD_NAMES.get(k, k): v for k, v in raw.items() if k != "type"}
    return _KIND[raw["type"]](**fields)


def moved(old_url: str, old_auth: EndpointAuth, new_url: str, new_auth: EndpointAuth) -> str | None:
    """Why the secret of ``old_auth`` at ``old_url`` may not go along to ``new_auth`` at
    ``new_url`` (a sentence), or None when it goes to the same place: the URL's origin
    (scheme, host, port) and the auth's token URL, username and client id are unchanged."""
    before, after = URL(old_url).origin(), URL(new_url).origin()
    if (before.scheme, before.host, before.port) != (after.scheme, after.host, after.port):
        return f"The URL's origin changed ({before} to {after})"
    old, new = old_auth.places(), new_auth.places()
    for name in {**old, **new}:
        if old.get(name) != new.get(name):
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
