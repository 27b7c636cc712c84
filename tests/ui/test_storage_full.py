"""The UI while the database's disk is full: the page says so, and nothing typed is lost.

The database is on a small tmpfs that the test fills (``support.storage.SmallDisk``:
mounting needs root; elsewhere these tests are skipped, saying why).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from support.storage import SmallDisk, Unavailable

from .conftest import CSRF_RE, MakeUi, Ui

MESSAGE = "The disk of Hookline&#39;s database is full"


@pytest.fixture
def disk() -> Iterator[SmallDisk]:
    try:
        made = SmallDisk(8).mount()
    except Unavailable as exc:
        pytest.skip(str(exc))
    try:
        yield made
    finally:
        made.unmount()


@pytest.fixture
async def ui(make_ui: MakeUi, disk: SmallDisk) -> Ui:
    """Signed in, with workspace "acme" and its webhook, on the small disk."""
    made = await make_ui(database_url=f"sqlite:///{disk.path / 'hookline.db'}")
    await made.api("POST", "/v1/workspaces", 201, json={"id": "acme", "name": "Acme"})
    await made.api(
        "POST",
        "/v1/workspaces/acme/webhooks",
        201,
        json={"url": "https://acme.example.com/hook", "events": ["*"], "name": "Acme"},
    )
    await made.login()
    return made


async def csrf(ui: Ui, path: str) -> str:
    found = CSRF_RE.search((await ui.client.get(path)).text)
    assert found, path
    return found.group(1)


async def test_the_webhook_form_says_the_disk_is_full_and_keeps_what_was_typed(
    ui: Ui, disk: SmallDisk
) -> None:
    token = await csrf(ui, "/ui/w/acme/webhooks/new")
    disk.fill()

    data = {"csrf": token, "url": "https://acme.example.com/new", "events": ["*"], "name": "New"}
    response = await ui.client.post("/ui/w/acme/webhooks/new", data=data)

    assert response.status_code == 503, response.text
    assert MESSAGE in response.text
    assert "Something went wrong" not in response.text
    assert 'value="https://acme.example.com/new"' in response.text
    assert 'value="New"' in response.text

    disk.free()
    response = await ui.client.post("/ui/w/acme/webhooks/new", data=data)
    assert response.status_code == 303, response.text


async def test_an_action_says_the_disk_is_full_on_the_page_it_came_from(
    ui: Ui, disk: SmallDisk
) -> None:
    (hook,) = await ui.api("GET", "/v1/workspaces/acme/webhooks")
    page = f"/ui/webhooks/{hook['id']}"
    token = await csrf(ui, page)
    disk.fill()

    response = await ui.client.post(
        f"{page}/status",
        data={"csrf": token, "status": "paused"},
        headers={"Referer": f"http://hookline.test{page}"},
    )

    assert response.status_code == 303, response.text
    assert response.headers["location"] == page
    shown = await ui.client.get(page)
    assert shown.status_code == 200
    assert MESSAGE in shown.text
    assert (await ui.api("GET", f"/v1/webhooks/{hook['id']}"))["status"] == "active"


async def test_the_workspace_form_says_the_disk_is_full_and_keeps_what_was_typed(
    ui: Ui, disk: SmallDisk
) -> None:
    token = await csrf(ui, "/ui/workspaces")
    disk.fill()

    data = {"csrf": token, "id": "initech", "name": "Initech", "plan": "pro"}
    response = await ui.client.post("/ui/workspaces", data=data)

    assert response.status_code == 503, response.text
    assert MESSAGE in response.text
    assert "please correct the fields" not in response.text
    assert 'value="Initech"' in response.text
