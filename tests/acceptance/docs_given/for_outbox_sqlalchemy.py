"""docs/outbox-sqlalchemy.md takes the application's engine, models, a customer and an order."""

from _shop import sqlalchemy_app

given = sqlalchemy_app()
globals().update(given)
__all__ = list(given)
