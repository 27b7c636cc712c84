"""How much a webhook, a workspace and an event type may hold: one named constant each, which
the API's schema, the UI's forms and the service all use. Pure."""

from __future__ import annotations

MAX_NAME = 200  # characters: a webhook's, a workspace's, an API key's name
MAX_DESCRIPTION = 4000
MAX_STATUS_REASON = 200
MAX_URL = 2048  # characters, as given and once encoded
MAX_EVENT_PATTERNS = 100
MAX_HEADERS = 20
MAX_HEADER_BYTES = 4096  # names and values of a webhook's custom headers, in all
# Attempts per second: at least one every 1000 s (about 17 minutes), at most 10000.
MIN_RATE_LIMIT = 0.001
MAX_RATE_LIMIT = 10_000
MAX_GRACE_SECONDS = 30 * 86400  # a rotated secret's grace period
# An event type's schema versions: positive integers written as text ("1", "2", …).
SCHEMA_VERSION_PATTERN = r"^[1-9][0-9]{0,8}$"
MAX_SCHEMA_VERSIONS = 100
MAX_DESTINATION_TEXT = 2048  # characters of each text field of a queue destination
MAX_STREAM_LENGTH = 10**9  # a Redis destination's maxLen
MAX_AUTH_TEXT = 4096  # characters of each field of endpoint auth but a PEM
MAX_PEM = 16384  # characters of an mTLS certificate or key
MAX_CHANNELS = 10  # channels an event carries or a webhook subscribes to
MAX_CHANNEL_LENGTH = 128  # characters of one channel name
# An event's ttl (seconds), given on ingest or as a workspace's default: one second to a
# year. An event older than the retention period is deleted whatever its ttl.
MIN_TTL = 1
MAX_TTL = 365 * 86400
MAX_TRANSFORMATION_CODE = 65536  # characters of a webhook transformation's JavaScript
