"""Webhook transformations' sandbox: customer JavaScript run in V8 (``mini-racer``) inside
processes of their own (``worker``), driven from asyncio by a small pool (``pool``)."""
