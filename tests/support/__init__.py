"""What several test tiers share: a ``hookline serve`` subprocess and a client of its API
(``server``), a recording receiver with scripted answers (``receiver``), polling with a
deadline (``polling``), an SMTP sink (``mail``), PostgreSQL test databases (``postgres``),
storage that fills up (``storage``), an egress proxy (``proxy``), the in-process API
(``app``) and the message brokers (``brokers``).

``pyproject.toml`` puts ``tests/`` on the import path: ``from support.receiver import
Receiver``. Fixtures every tier uses are in ``tests/conftest.py``.
"""
