"""Verify Hookline deliveries on the receiving side, for every signature scheme.

Importable with only the standard library (and ``cryptography`` for ed25519,
imported when used): a receiver can copy this one module without the server.

    from hookline.verify import verify, VerificationError

    try:
        verify("standard", request.headers, raw_body, secret=secret)
    except VerificationError as exc:
        return 401, str(exc)

Schemes: ``standard`` (Standard Webhooks v1), ``svix`` (the same signature under Svix's
header names ``svix-id``, ``svix-timestamp``, ``svix-signature``), ``ed25519``
(Standard Webhooks v1a, with the ``whpk_`` public key), ``hmac-sha256``
(``X-{Brand}-Signature-256: sha256=…`` over ``"{ts}.{body}"``),
``hmac-sha256-body`` (``X-{Brand}-Hmac-Sha256`` over the body), ``rfc9421``
(HTTP Message Signatures with HMAC-SHA256 and Content-Digest; needs the
request's method and full URL) and ``none``. Every comparison is constant-time
and a signed timestamp more than ``tolerance`` seconds (default 300) away from
now is refused (for ``hmac-sha256-body``, which signs none, the unsigned
``X-{Brand}-Timestamp``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import time
from collections.abc import Mapping
from urllib.parse import urlsplit

__all__ = [
    "SCHEMES",
    "TOLERANCE_SECONDS",
    "MalformedDelivery",
    "VerificationError",
    "body_hmac",
    "check_timestamp",
    "content_digest",
    "detect_scheme",
    "ed25519_public_bytes",
    "rfc9421_signature",
    "secret_bytes",
    "signature_base",
    "signature_params",
    "standard_signature",
    "target_uri",
    "timestamped_hmac",
    "verify",
    "verify_ed25519",
    "verify_hmac_sha256",
    "verify_hmac_sha256_body",
    "verify_rfc9421",
    "verify_standard",
    "verify_svix",
]

TOLERANCE_SECONDS = 300


class VerificationError(Exception):
    """The delivery's signature could not be verified."""


class MalformedDelivery(VerificationError):
    """The request is not a signed delivery at all: a signature header is missing or cannot
    be read (a receiver answers it 400, where a signature that does not verify is 401)."""


def secret_bytes(secret: str) -> bytes:
    """The HMAC key of a Standard Webhooks secret: ``whsec_`` + base64.

    A secret that is not base64 (one the customer chose) is used as UTF-8 bytes.
    Like the Standard Webhooks libraries, a ``whsec_`` secret may omit its padding.
    """
    text = secret.removeprefix("whsec_")
    if text != secret:
        text += "=" * (-len(text) % 4)
    try:
        return base64.b64decode(text, validate=True)
    except ValueError:
        if secret.startswith("whsec_"):
            raise VerificationError("the secret is whsec_ but not followed by base64") from None
        return text.encode()


def standard_signature(key: bytes, msg_id: str, timestamp: int | str, body: bytes) -> str:
    """``v1,<base64 HMAC-SHA256(key, "{id}.{timestamp}.{body}")>``."""
    mac = hmac.new(key, f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256)
    return "v1," + base64.b64encode(mac.digest()).decode()


def verify_standard(
    secret: str,
    headers: Mapping[str, str],
    body: bytes,
    *,
    tolerance: int = TOLERANCE_SECONDS,
    now: float | None = None,
) -> None:
    """Verify a Standard Webhooks v1 delivery; raise ``VerificationError`` if it fails."""
    _verify_v1(secret, headers, body, "webhook", tolerance=tolerance, now=now)


def verify_svix(
    secret: str,
    headers: Mapping[str, str],
    body: bytes,
    *,
    tolerance: int = TOLERANCE_SECONDS,
    now: float | None = None,
) -> None:
    """Verify a delivery in Svix's format: the Standard Webhooks v1 signature under the
    header names ``svix-id``, ``svix-timestamp`` and ``svix-signature``."""
    _verify_v1(secret, headers, body, "svix", tolerance=tolerance, now=now)


def _verify_v1(
    secret: str,
    headers: Mapping[str, str],
    body: bytes,
    prefix: str,
    *,
    tolerance: int,
    now: float | None,
) -> None:
    """Verify the v1 signature in the ``{prefix}-id``, ``-timestamp`` and ``-signature``
    headers."""
    msg_id, timestamp, header = _standard_headers(headers, prefix)
    signatures = _signatures(header, "v1", f"{prefix}-signature")
    check_timestamp(timestamp, tolerance=tolerance, now=now)
    expected = standard_signature(secret_bytes(secret), msg_id, timestamp, body).encode()
    for candidate in signatures:
        if hmac.compare_digest(f"v1,{candidate}".encode(), expected):
            return
    raise VerificationError("no signature matches the secret")


def check_timestamp(
    value: str, *, tolerance: int = TOLERANCE_SECONDS, now: float | None = None
) -> int:
    try:
        ts = int(value)
    except ValueError as exc:
        raise MalformedDelivery("the timestamp is not a whole number of seconds") from exc
    current = time.time() if now is None else now
    if abs(current - ts) > tolerance:
        raise VerificationError(f"the timestamp is more than {tolerance} s away from now")
    return ts


# -- ed25519 (Standard Webhooks v1a) ---------------------------------------------


def ed25519_public_bytes(public_key: str) -> bytes:
    """The raw 32 bytes of a ``whpk_`` public key."""
    try:
        raw = base64.b64decode(public_key.removeprefix("whpk_"), validate=True)
    except ValueError as exc:
        raise VerificationError("the public key is not whpk_ followed by base64") from exc
    if len(raw) != 32:
        raise VerificationError("an ed25519 public key is 32 bytes")
    return raw


def verify_ed25519(
    public_key: str,
    headers: Mapping[str, str],
    body: bytes,
    *,
    tolerance: int = TOLERANCE_SECONDS,
    now: float | None = None,
) -> None:
    """Verify a Standard Webhooks v1a (ed25519) delivery with the webhook's ``whpk_`` key."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    msg_id, timestamp, header = _standard_headers(headers)
    signatures = _signatures(header, "v1a")
    check_timestamp(timestamp, tolerance=tolerance, now=now)
    key = Ed25519PublicKey.from_public_bytes(ed25519_public_bytes(public_key))
    message = f"{msg_id}.{timestamp}.".encode() + body
    for candidate in signatures:
        try:
            key.verify(base64.b64decode(candidate), message)
            return
        except (InvalidSignature, ValueError):
            continue
    raise VerificationError("no v1a signature matches the public key")


# -- hmac-sha256 (timestamped, hex) and hmac-sha256-body --------------------------


def timestamped_hmac(secret: str, timestamp: int | str, body: bytes) -> str:
    """``sha256=<hex HMAC-SHA256(secret as UTF-8, "{timestamp}.{body}")>``."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def body_hmac(secret: str, body: bytes) -> str:
    """``<hex HMAC-SHA256(secret as UTF-8, body)>``."""
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify_hmac_sha256(
    secret: str,
    headers: Mapping[str, str],
    body: bytes,
    *,
    brand: str = "Hookline",
    tolerance: int = TOLERANCE_SECONDS,
    now: float | None = None,
) -> None:
    """Verify ``X-{Brand}-Signature-256`` over ``"{X-{Brand}-Timestamp}.{body}"``."""
    signature, timestamp = _required(headers, f"X-{brand}-Signature-256", f"X-{brand}-Timestamp")
    if not _PREFIXED_SHA256.fullmatch(signature.strip()):
        raise MalformedDelivery(
            f"X-{brand}-Signature-256 is not sha256= followed by 64 hexadecimal digits"
        )
    check_timestamp(timestamp, tolerance=tolerance, now=now)
    expected = timestamped_hmac(secret, timestamp, body)
    if not hmac.compare_digest(signature.strip().encode(), expected.encode()):
        raise VerificationError("the signature does not match the secret")


def verify_hmac_sha256_body(
    secret: str,
    headers: Mapping[str, str],
    body: bytes,
    *,
    brand: str = "Hookline",
    tolerance: int = TOLERANCE_SECONDS,
    now: float | None = None,
) -> None:
    """Verify ``X-{Brand}-Hmac-Sha256`` over the raw body.

    This scheme signs no timestamp, so the window is checked on the unsigned
    ``X-{Brand}-Timestamp``: that refuses a delivery replayed as it was, not one
    whose header was rewritten. Prefer a timestamped scheme where you can.
    """
    signature, timestamp = _required(headers, f"X-{brand}-Hmac-Sha256", f"X-{brand}-Timestamp")
    if not _HEX_SHA256.fullmatch(signature.strip()):
        raise MalformedDelivery(f"X-{brand}-Hmac-Sha256 is not 64 hexadecimal digits")
    check_timestamp(timestamp, tolerance=tolerance, now=now)
    if not hmac.compare_digest(
        signature.strip().lower().encode(), body_hmac(secret, body).encode()
    ):
        raise VerificationError("the signature does not match the secret")


# -- rfc9421 (HTTP Message Signatures, HMAC-SHA256) with Content-Digest -----------

RFC9421_COMPONENTS = ("@method", "@target-uri", "content-digest", "content-type")
_SIG_INPUT = re.compile(r"\s*([a-z*][a-z0-9_.*-]*)=\(([^)]*)\)((?:;[^,]*)?)")
_SIG_VALUE = re.compile(r"\s*([a-z*][a-z0-9_.*-]*)=:([A-Za-z0-9+/=]*):")


def content_digest(body: bytes) -> str:
    """RFC 9530 ``Content-Digest`` with SHA-512: ``sha-512=:<base64>:``."""
    return "sha-512=:" + base64.b64encode(hashlib.sha512(body).digest()).decode() + ":"


def signature_params(created: int, key_id: str) -> str:
    components = " ".join(f'"{c}"' for c in RFC9421_COMPONENTS)
    return f'({components});created={created};keyid="{key_id}";alg="hmac-sha256"'


def signature_base(
    components: list[str], params: str, *, method: str, url: str, headers: Mapping[str, str]
) -> bytes:
    """The RFC 9421 signature base of a request for ``components`` and the raw ``params``."""
    lower = _lower(headers)
    lines = []
    for name in components:
        if name == "@method":
            value = method.upper()
        elif name == "@target-uri":
            value = target_uri(url)
        elif name.startswith("@"):
            raise VerificationError(f"component {name} is not supported")
        elif name in lower:
            value = lower[name].strip()
        else:
            raise VerificationError(f"the signed header {name} is missing")
        lines.append(f'"{name}": {value}')
    lines.append(f'"@signature-params": {params}')
    return "\n".join(lines).encode()


def target_uri(url: str) -> str:
    """``url`` as RFC 9421's ``@target-uri``: the scheme and host in lower case, no default port,
    ``/`` for an empty path, no fragment; path and query as given (pass them as received)."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise VerificationError(f"the URL is malformed: {exc}") from None
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if ":" in host:
        host = f"[{host}]"
    if port is not None and (scheme, port) not in (("http", 80), ("https", 443)):
        host += f":{port}"
    query = f"?{parts.query}" if parts.query or url.split("#", 1)[0].endswith("?") else ""
    return f"{scheme}://{host}{parts.path or '/'}{query}"


def rfc9421_signature(secret: str, base: bytes) -> str:
    return base64.b64encode(hmac.new(secret.encode(), base, hashlib.sha256).digest()).decode()


def verify_rfc9421(
    secret: str,
    headers: Mapping[str, str],
    body: bytes,
    *,
    method: str,
    url: str,
    tolerance: int = TOLERANCE_SECONDS,
    now: float | None = None,
) -> None:
    """Verify an RFC 9421 HMAC-SHA256 signature and the body's ``Content-Digest``.

    ``url`` is the full URL the request was sent to (``@target-uri``): the one the receiver
    was called at, with the path and query as they arrived (see ``target_uri``).
    """
    inputs, values, digest = _required(headers, "Signature-Input", "Signature", "Content-Digest")
    signatures = {m.group(1): m.group(2) for m in _SIG_VALUE.finditer(values)}
    labelled = list(_SIG_INPUT.finditer(inputs))
    if not signatures:
        raise MalformedDelivery("Signature is not a list of label=:base64: values (RFC 9421)")
    if not any(m.group(1) in signatures for m in labelled):
        raise MalformedDelivery(
            "Signature-Input has no label=(components);params entry for a label of Signature"
        )
    if not hmac.compare_digest(digest.strip().encode(), content_digest(body).encode()):
        raise VerificationError("Content-Digest does not match the body")
    for match in labelled:
        label, inner, raw_params = match.groups()
        components = [c.strip('"') for c in inner.split()]
        params = f"({inner}){raw_params.strip()}"
        created = re.search(r";created=(\d+)", raw_params)
        if label not in signatures or created is None or "content-digest" not in components:
            continue
        check_timestamp(created.group(1), tolerance=tolerance, now=now)
        base = signature_base(components, params, method=method, url=url, headers=headers)
        if hmac.compare_digest(
            signatures[label].encode(), rfc9421_signature(secret, base).encode()
        ):
            return
    raise VerificationError("no signature matches the secret")


# -- any scheme ---------------------------------------------------------------------

SCHEMES = ("standard", "svix", "ed25519", "hmac-sha256", "hmac-sha256-body", "rfc9421", "none")


def verify(
    scheme: str,
    headers: Mapping[str, str],
    body: bytes,
    *,
    secret: str | None = None,
    public_key: str | None = None,
    brand: str = "Hookline",
    method: str = "POST",
    url: str | None = None,
    tolerance: int = TOLERANCE_SECONDS,
    now: float | None = None,
) -> None:
    """Verify a delivery signed with ``scheme``; raise ``VerificationError`` if it fails.

    ``body`` is the request body exactly as received, as bytes: a ``str`` (decoded, perhaps
    re-encoded) is a ``TypeError``, since no signature can be checked on it reliably.
    """
    if not isinstance(body, bytes | bytearray | memoryview):
        raise TypeError(
            f"body must be the raw request body as bytes, not {type(body).__name__}: pass "
            "await request.body() (FastAPI/Starlette), request.get_data() (Flask), "
            "request.body (Django) or await request.read() (aiohttp)"
        )
    body = bytes(body)
    if scheme not in SCHEMES:
        raise VerificationError(f"unknown signature scheme {scheme!r}")
    if scheme == "none":
        return
    if scheme == "ed25519":
        if not public_key:
            raise VerificationError("ed25519 needs the webhook's public key (whpk_…)")
        return verify_ed25519(public_key, headers, body, tolerance=tolerance, now=now)
    if not secret:
        raise VerificationError(f"{scheme} needs the webhook's secret")
    if scheme == "standard":
        return verify_standard(secret, headers, body, tolerance=tolerance, now=now)
    if scheme == "svix":
        return verify_svix(secret, headers, body, tolerance=tolerance, now=now)
    if scheme == "hmac-sha256":
        return verify_hmac_sha256(secret, headers, body, brand=brand, tolerance=tolerance, now=now)
    if scheme == "hmac-sha256-body":
        return verify_hmac_sha256_body(
            secret, headers, body, brand=brand, tolerance=tolerance, now=now
        )
    if scheme == "rfc9421":
        if url is None:
            raise VerificationError("rfc9421 needs the request's full URL")
        return verify_rfc9421(
            secret, headers, body, method=method, url=url, tolerance=tolerance, now=now
        )
    raise VerificationError(f"unknown signature scheme {scheme!r}")


def detect_scheme(headers: Mapping[str, str]) -> str:
    """Which scheme a delivery's headers carry (``none`` when unsigned)."""
    lower = _lower(headers)
    if "signature-input" in lower:
        return "rfc9421"
    signature = lower.get("webhook-signature", "")
    if signature:
        return "ed25519" if signature.lstrip().startswith("v1a,") else "standard"
    if lower.get("svix-signature"):
        return "svix"
    if any(k.startswith("x-") and k.endswith("-signature-256") for k in lower):
        return "hmac-sha256"
    if any(k.startswith("x-") and k.endswith("-hmac-sha256") for k in lower):
        return "hmac-sha256-body"
    return "none"


def _lower(headers: Mapping[str, str]) -> dict[str, str]:
    return {k.lower(): v for k, v in headers.items()}


def _standard_headers(headers: Mapping[str, str], prefix: str = "webhook") -> tuple[str, str, str]:
    """The id, timestamp and signatures of a v1 delivery, under ``{prefix}-id`` and so on."""
    msg_id, timestamp, signatures = _required(
        headers, f"{prefix}-id", f"{prefix}-timestamp", f"{prefix}-signature"
    )
    return msg_id, timestamp, signatures


_SIGNATURE = re.compile(r"(v[0-9a-z]+),([A-Za-z0-9+/]+={0,2})")
_HEX_SHA256 = re.compile(r"[0-9a-fA-F]{64}")
_PREFIXED_SHA256 = re.compile(r"sha256=[0-9a-fA-F]{64}")


def _signatures(header: str, version: str, name: str = "webhook-signature") -> list[str]:
    """The base64 signatures of ``version`` in a signature header ``name`` (space-separated
    ``version,base64`` entries). A header with none this verifier can read is malformed:
    either no entry has that shape, or they are all of versions it does not know."""
    readable = [m for entry in header.split() if (m := _SIGNATURE.fullmatch(entry))]
    mine = [m.group(2) for m in readable if m.group(1) == version]
    if mine:
        return mine
    if readable:
        others = ", ".join(sorted({m.group(1) for m in readable}))
        raise MalformedDelivery(
            f"{name} carries only {others} signatures; this verifier reads {version}"
        )
    raise MalformedDelivery(f"{name} is not a list of version,base64 signatures (such as v1,K5oZ…)")


def _required(headers: Mapping[str, str], *names: str) -> list[str]:
    """The values of ``names`` (any case); a ``VerificationError`` naming each one missing."""
    lower = _lower(headers)
    values = [lower.get(name.lower(), "") for name in names]
    missing = [name for name, value in zip(names, values, strict=True) if not value]
    if missing:
        raise MalformedDelivery(
            f"missing header{'s' if len(missing) > 1 else ''} {', '.join(missing)}"
        )
    return values
