"""docs/django.md takes a Django project with the outbox installed, and an invoice."""

from _shop import django_app

given = django_app()
globals().update(given)
__all__ = list(given)
