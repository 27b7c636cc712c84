"""``manage.py load --first N --count M``: the load of the outbox test.

Transaction ``i`` creates five orders and updates each once (ten saves); every tenth one
(``i % 10 == 9``) raises at its end, so it rolls back with its outbox rows.
"""

from decimal import Decimal

from django.core.management.base import BaseCommand
from django.db import transaction

from shop.models import Order


class RolledBack(Exception):
    pass


class Command(BaseCommand):
    def add_arguments(self, parser):
        parser.add_argument("--first", type=int, required=True)
        parser.add_argument("--count", type=int, required=True)

    def handle(self, *args, first, count, **options):
        for i in range(first, first + count):
            try:
                with transaction.atomic():
                    for n in range(5):
                        order = Order.objects.create(batch=i, total=Decimal(f"{n}.50"))
                        order.status = "paid"
                        order.save()
                    if i % 10 == 9:
                        raise RolledBack(i)
            except RolledBack:
                pass
