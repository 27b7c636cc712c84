"""Custom headers: the names a webhook may not set (``is_reserved``), and what Hookline shows
of the others: credentials redacted, other values masked. Pure.

A webhook's custom headers often authenticate to the receiving endpoint
(``Authorization: Bearer …``). An attempt's request record keeps every header
that was sent, except that a custom header whose name marks it as a credential
is stored as ``REDACTED``: its value never reaches the database. The rule is a
case-insensitive substring match on the name, any of ``CREDENTIAL_WORDS``; it
covers ``Authorization``, ``Proxy-Authorization``, ``Cookie``, ``X-Api-Key``,
``Api-Key``, ``X-Auth-Token``, ``Ocp-Apim-Subscription-Key`` and anything
containing ``token``, ``secret``, ``password`` or ``key``. Headers Hookline sets
itself (the signature ones among them) are never touched: a signature is made
for one delivery and proves nothing else.

Keys that may not manage webhooks (member) see every custom header value as
``MASKED``, in the webhook and in its attempts.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

# Headers Hookline sets, or that only a connection may carry: no webhook sets them.
RESERVED_HEADERS = frozenset(
    {
        "content-type",
        "content-length",
        "host",
        "user-agent",
        "signature",
        "signature-input",
        "content-digest",
        "connection",
        "transfer-encoding",
        "te",
        "trailer",
        "upgrade",
        "keep-alive",
        "proxy-connection",
        "expect",
    }
)
REDACTED = "[redacted]"
MASKED = "***"
CREDENTIAL_WORDS = (
    "auth",
    "cookie",
    "credential",
    "key",
    "passwd",
    "password",
    "secret",
    "session",
    "token",
)


def is_credential(name: str) -> bool:
    """Whether a header named ``name`` carries a credential (see the module docstring)."""
    lower = name.lower()
    return any(word in lower for word in CREDENTIAL_WORDS)


def masked(headers: Mapping[str, str]) -> dict[str, str]:
    """The names of ``headers``, each with the value ``MASKED``."""
    return dict.fromkeys(headers, MASKED)


def redacted(
    headers: Mapping[str, str], is_custom: Callable[[str], bool], *, mask: bool = False
) -> dict[str, str]:
    """``headers`` with each custom credential's value ``REDACTED`` and, with ``mask``, every
    other custom value ``MASKED``; the headers ``is_custom`` rejects stay as they are."""
    shown = dict(headers)
    for name in headers:
        if is_custom(name):
            if is_credential(name):
                shown[name] = REDACTED
            elif mask:
                shown[name] = MASKED
    return shown


def is_reserved(name: str, brand: str) -> bool:
    """Whether Hookline sets the header ``name`` itself (so a webhook cannot)."""
    lower = name.lower()
    return lower in RESERVED_HEADERS or lower.startswith(("webhook-", f"x-{brand.lower()}-"))
