"""README.md's outbox and Django excerpts take an engine, an order and an invoice from the
reader's application."""

from _shop import django_app, sqlalchemy_app

globals().update(sqlalchemy_app())
globals().update(django_app())
