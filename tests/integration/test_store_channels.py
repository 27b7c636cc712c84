"""Channels in the store's contract, on every backend: a webhook's and an event's channels
are kept as given, a repeated event gives back the first one's, and a change of a webhook's
channels moves the configuration counter that ingestion's cache of subscribers watches."""

from __future__ import annotations

from dataclasses import replace

from test_store import T0, add_webhook, add_workspace, an_event, to

from hookline.store.port import NewEvent, Store, WebhookChanges, WebhookPatch


async def test_a_webhooks_channels_round_trip_and_change(store: Store) -> None:
    await add_workspace(store)
    none = await add_webhook(store)
    some = await add_webhook(store, channels=("project_123", "org:acme.eu-1"))
    assert (await store.get_webhook(none.id)) == none
    assert none.channels == ()
    assert (await store.get_webhook(some.id)) == some
    subscribed = {w.id: w.channels for w in await store.subscribed_webhooks("acme")}
    assert subscribed == {none.id: (), some.id: ("project_123", "org:acme.eu-1")}

    before = await store.config_version()
    await store.update_webhook(
        some.id, WebhookChanges(patch=WebhookPatch(channels=("other",))), T0 + 5
    )
    assert await store.config_version() > before
    assert await store.get_webhook(some.id) == replace(some, channels=("other",), updated_at=T0 + 5)
    await store.update_webhook(some.id, WebhookChanges(patch=WebhookPatch(channels=())), T0 + 6)
    cleared = await store.get_webhook(some.id)
    assert cleared is not None and cleared.channels == ()


async def test_an_events_channels_are_stored_and_a_repeat_gives_the_first_ones(
    store: Store,
) -> None:
    await add_workspace(store)
    wh = await add_webhook(store, channels=("a",))
    first = an_event(id="order-1", channels=("a", "b"))
    (created,) = await store.insert_events([to(first, wh)])
    assert created.created and created.event.channels == ("a", "b")
    assert await store.get_event("order-1", ws_id="acme") == first

    (repeat,) = await store.insert_events([to(replace(first, channels=("c",)), wh)])
    assert not repeat.created
    assert repeat.event == first

    plain = an_event(created_at=T0 + 1)
    await store.insert_events([NewEvent(event=plain, webhook_ids=[], delivery_ids=[])])
    page = await store.list_events("acme", type=None, since=None, until=None, limit=10, cursor=None)
    assert [(e.id, e.channels) for e in page.items] == [(plain.id, ()), ("order-1", ("a", "b"))]
