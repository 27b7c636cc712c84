"""README.md's outbox and Django excerpts take an engine, an order and an invoice from the
reader's application."""

from _shop import django_app, sqlalchemy_app

given = sqlalchemy_app() | django_app()
globals().update(given)
__all__ = list(given)
