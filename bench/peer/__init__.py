"""The Python peer: django-webhook delivering through a Celery worker on the local Redis.

A minimal Django project (settings in code, SQLite) whose one model, ``BenchEvent``,
django-webhook watches: each saved row is one event, fanned out by django-webhook's
``post_save`` signal to a ``fire_webhook`` Celery task per subscribed webhook.
"""
