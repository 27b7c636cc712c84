"""A small shop application, the reader's own code that the documents' snippets take as given:
its SQLAlchemy models on a SQLite file, or the test Django project on another."""

from __future__ import annotations

import asyncio
import atexit
import os
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from hookline.outbox.sqlalchemy import create_table

WORKDIR = Path(os.environ["SESSION_DIR"])
TESTS = Path(__file__).parents[2]
DJANGO_PROJECT = TESTS / "django_project"
sys.path.insert(0, str(TESTS))
from support.postgres import create_database, drop_database  # noqa: E402


class Base(DeclarativeBase):
    pass


class Order(Base):
    __tablename__ = "orders"
    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int | None]
    total: Mapped[Decimal | None] = mapped_column(sa.Numeric(10, 2))


class Customer:
    id = 1
    workspace_id = "acme"


def sqlalchemy_app() -> dict[str, Any]:
    """An engine with the shop's tables and the outbox, an order and a customer."""
    engine = sa.create_engine(f"sqlite:///{WORKDIR / 'app.db'}")
    Base.metadata.create_all(engine)
    create_table(engine)
    total = Decimal("12.50")
    return {
        "Base": Base,
        "Order": Order,
        "orders": Order.__table__,
        "engine": engine,
        "customer": Customer(),
        "total": total,
        "order": Order(customer_id=Customer.id, total=total),
        "order_id": 7,
        "async_engine": _async_engine(),
    }


def _async_engine() -> AsyncEngine:
    """The shop's tables on a new PostgreSQL database, through asyncpg; dropped at exit."""
    url = create_database()
    sync = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    Base.metadata.create_all(sync)
    create_table(sync)
    sync.dispose()
    engine = create_async_engine(url.replace("postgresql://", "postgresql+asyncpg://"))

    def drop() -> None:
        asyncio.run(engine.dispose())
        drop_database(url)

    atexit.register(drop)
    return engine


def django_app() -> dict[str, Any]:
    """The test Django project set up on a new SQLite file, migrated, and an invoice whose
    payment saves an order."""
    os.environ["APP_DATABASE_URL"] = f"sqlite:///{WORKDIR / 'django.db'}"
    os.environ["HOOKLINE_WORKSPACE"] = "acme"
    os.environ["DJANGO_SETTINGS_MODULE"] = "project.settings"
    sys.path.insert(0, str(DJANGO_PROJECT))
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)
    from shop.models import Order as DjangoOrder

    class Invoice:
        pk = 1
        amount = Decimal("12.50")

        def mark_paid(self) -> None:
            DjangoOrder.objects.create(batch=1, total=self.amount, status="paid")

    return {"invoice": Invoice()}
