"""The closest Python peer: django-outbound-webhooks, a database outbox with no broker.

A minimal Django project (settings in code) on SQLite or PostgreSQL. One
event, ``outbox.BenchEvent`` (``events.py``), is fired once per committed
transaction; django-outbound-webhooks' wildcard receiver writes one delivery row
per subscribed endpoint in that transaction, and django-domain-events' relay
(``relay.py``) claims the rows under a lease and runs the receiver, which renders
the envelope, signs it (Standard Webhooks), posts it and logs the attempt.
"""
