"""Why an attempt has no answer to record: its ``error`` (the delivery's ``lastError``). Pure.

The values are wire values, documented in docs/configuration.md ("Attempt errors") and kept
as text by the stores: the API, the UI and the retry policy read them, so none ever changes.
Transports name them: the HTTP sender maps its client's exceptions to them in one table
(``hookline.dispatch.sender.ERRORS``), a publisher names the one that stands for what its
broker did, the OAuth2 wrapper says ``AUTH_ERROR`` when no token came of a token request.
"""

from __future__ import annotations

from enum import StrEnum


class AttemptError(StrEnum):
    # The connection and the answer (HTTP; a broker's connection too).
    TIMEOUT = "timeout"
    DNS_ERROR = "dns_error"
    CONNECT_ERROR = "connect_error"
    TLS_ERROR = "tls_error"
    BLOCKED_DESTINATION = "blocked_destination"
    PROXY_ERROR = "proxy_error"
    CONNECTION_CLOSED = "connection_closed"
    INVALID_RESPONSE = "invalid_response"
    NETWORK_ERROR = "network_error"
    # The URL posted to and its redirects.
    INVALID_URL = "invalid_url"
    INVALID_REDIRECT = "invalid_redirect"
    INSECURE_REDIRECT = "insecure_redirect"
    TOO_MANY_REDIRECTS = "too_many_redirects"
    # OAuth2: no token came of the token requests, so nothing was sent.
    AUTH_ERROR = "auth_error"
    # A token request's own error, in the attempt's ``tokenRequests`` (the attempt's is then
    # ``AUTH_ERROR``): the token URL did not answer 2xx, or answered no bearer token.
    TOKEN_REFUSED = "token_refused"
    INVALID_TOKEN_RESPONSE = "invalid_token_response"
    # Queues, streams and topics.
    UNROUTABLE = "unroutable"
    EXCHANGE_NOT_FOUND = "exchange_not_found"
    NO_STREAM = "no_stream"
    NOT_ACKNOWLEDGED = "not_acknowledged"
    PUBLISH_ERROR = "publish_error"
    UNEXPECTED_RESPONSE = "unexpected_response"


# Not an attempt's error: the start of a delivery's ``lastError`` when a fault of Hookline's
# own put it back unattempted, ``internal_error: <stage>: <exception class>``
# (``hookline.dispatch.faults.fault_reason``).
INTERNAL_ERROR = "internal_error"
