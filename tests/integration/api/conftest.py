"""Fixtures of the in-process API tests: the app behind httpx on a fresh SQLite database
(``support.app``)."""

from support.app import api, clean_environment, make_api, ws  # noqa: F401 (fixtures)
