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
    # The webhook's transformation threw, ran past its limits or returned what cannot be sent:
    # nothing was sent (its message is in the attempt's request record).
    TRANSFORMATION_ERROR = "transformation_error"


# Not an attempt's error: the start of a delivery's ``lastError`` when a fault of Hookline's
# own put it back unattempted, ``internal_error: <stage>: <exception class>``
# (``hookline.dispatch.faults.fault_reason``).
INTERNAL_ERROR = "internal_error"


# What each error means, said to the person whose endpoint it is: shown beside the code.
SENTENCES: dict[AttemptError, str] = {
    AttemptError.TIMEOUT: "The endpoint did not answer within the time allowed.",
    AttemptError.DNS_ERROR: "The name could not be resolved.",
    AttemptError.CONNECT_ERROR: "The connection to the endpoint was refused or could not be made.",
    AttemptError.TLS_ERROR: "The secure connection (TLS) could not be set up; check the "
    "endpoint's certificate.",
    AttemptError.BLOCKED_DESTINATION: "The address is not allowed: it resolves to a private, "
    "loopback or otherwise reserved network.",
    AttemptError.PROXY_ERROR: "The outgoing proxy could not reach the endpoint.",
    AttemptError.CONNECTION_CLOSED: "The endpoint closed the connection before it answered.",
    AttemptError.INVALID_RESPONSE: "The endpoint's answer was not valid HTTP.",
    AttemptError.NETWORK_ERROR: "The network failed while the request was under way.",
    AttemptError.INVALID_URL: "The URL cannot be requested as it is.",
    AttemptError.INVALID_REDIRECT: "The endpoint redirected to a location that is not a valid URL.",
    AttemptError.INSECURE_REDIRECT: "The endpoint redirected to an address that is not HTTPS "
    "or not allowed.",
    AttemptError.TOO_MANY_REDIRECTS: "The endpoint redirected too many times.",
    AttemptError.AUTH_ERROR: "No access token could be obtained, so nothing was sent.",
    AttemptError.TOKEN_REFUSED: "The token URL refused the token request.",
    AttemptError.INVALID_TOKEN_RESPONSE: "The token URL's answer held no access token.",
    AttemptError.UNROUTABLE: "The broker could not route the message to any queue.",
    AttemptError.EXCHANGE_NOT_FOUND: "The exchange does not exist on the broker.",
    AttemptError.NO_STREAM: "The stream or topic does not exist.",
    AttemptError.NOT_ACKNOWLEDGED: "The broker did not acknowledge the message.",
    AttemptError.PUBLISH_ERROR: "The broker refused to publish the message.",
    AttemptError.UNEXPECTED_RESPONSE: "The service answered in a way it should not have.",
    AttemptError.TRANSFORMATION_ERROR: "The webhook's transformation failed, so nothing was "
    "sent; its message says why.",
}
INTERNAL_SENTENCE = "A fault inside the delivery service held the attempt back; it is tried again."


def sentence(error: str | None) -> str | None:
    """The sentence for an attempt's ``error`` or a delivery's ``lastError``; None for
    none, or for a value this version does not know."""
    if error is None:
        return None
    if error.startswith(INTERNAL_ERROR):
        return INTERNAL_SENTENCE
    try:
        return SENTENCES[AttemptError(error)]
    except ValueError:
        return None
