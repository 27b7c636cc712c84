"""The operator's commands (``hookline workspaces|keys|portal-link``) as a person or a script
runs them: the installed console script against a real server, and the examples of
docs/cli.md as they are written."""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from support.server import Api, Hookline

from .test_cli_client import HOOKLINE, data, run

DOC = Path(__file__).parents[2] / "docs" / "cli.md"
PLANS = {"free": {"maxWebhooks": 10}, "pro": {"maxWebhooks": None}, "solo": {"maxWebhooks": 1}}


@pytest.fixture(scope="module")
def hookline(
    tmp_path_factory: pytest.TempPathFactory, module_database: str | None
) -> Iterator[Hookline]:
    """A server whose plans include one of a single endpoint."""
    with Hookline(
        tmp_path_factory.mktemp("hookline"),
        database_url=module_database,
        env={"HOOKLINE_PLANS": json.dumps(PLANS)},
    ).running() as server:
        yield server


def sends(hookline: Hookline, key: str, ws: str) -> int:
    response = httpx.post(
        f"{hookline.base_url}/v1/workspaces/{ws}/events",
        json={"type": "a.b", "data": {}},
        headers={"Authorization": f"Bearer {key}"},
    )
    return response.status_code


def test_keys_create_list_and_revoke(hookline: Hookline, api: Api, ws: str) -> None:
    created = data(
        run(
            hookline,
            "keys",
            "create",
            "-w",
            ws,
            "--name",
            "Billing",
            "--role",
            "publisher",
            "--json",
        )
    )
    assert (created["name"], created["role"], created["workspaceId"]) == (
        "Billing",
        "publisher",
        ws,
    )
    assert created["key"].startswith("hk_") and sends(hookline, created["key"], ws) == 202

    listed = data(run(hookline, "keys", "list", "-w", ws, "--json"))
    assert [(k["id"], k["name"]) for k in listed] == [(created["id"], "Billing")]
    assert "key" not in listed[0]
    human = run(hookline, "keys", "list", "-w", ws)
    assert created["id"] in human.stdout and created["key"] not in human.stdout

    revoked = run(hookline, "keys", "revoke", created["id"])
    assert revoked.returncode == 0 and f"{created['id']} is revoked" in revoked.stdout
    assert sends(hookline, created["key"], ws) == 401
    assert data(run(hookline, "keys", "list", "-w", ws, "--json")) == []
    again = run(hookline, "keys", "revoke", created["id"])
    assert again.returncode == 1 and again.stderr.startswith("not_found: ")


def test_keys_create_prints_the_key_once_for_people(hookline: Hookline, ws: str) -> None:
    made = run(hookline, "keys", "create", "-w", ws, "--name", "[b]CI[/]", "--role", "admin")
    assert made.returncode == 0, made.stderr
    (key,) = re.findall(r"^key: (hk_\S+)$", made.stdout, re.M)
    assert "[b]CI[/]" in made.stdout and "not shown again" in made.stderr
    assert sends(hookline, key, ws) == 202
    wrong = run(hookline, "keys", "create", "-w", ws, "--name", "x", "--role", "root")
    assert wrong.returncode == 2 and "root" in wrong.stderr


def test_an_owner_key_manages_its_own_keys_but_no_plan(
    hookline: Hookline, api: Api, ws: str
) -> None:
    owner = api.post(f"/v1/workspaces/{ws}/api-keys", {"name": "o", "role": "owner"}, status=201)
    other = api.workspace()
    member = ("keys", "create", "-w", ws, "--name", "n", "--role", "member", "--json")
    made = run(hookline, *member, key=owner["key"])
    assert data(made)["role"] == "member"
    foreign = run(hookline, "keys", "list", "-w", other, key=owner["key"])
    assert foreign.returncode == 1 and foreign.stderr.startswith("not_found: ")
    plan = run(hookline, "workspaces", "set-plan", ws, "free", key=owner["key"])
    assert plan.returncode == 1 and plan.stderr.startswith("forbidden: ")
    assert api.get(f"/v1/workspaces/{ws}")["plan"] == "pro"


def test_set_plan_applies_the_plans_limit(hookline: Hookline, api: Api, ws: str) -> None:
    body = {"url": "https://example.com/h", "events": ["*"]}
    api.post(f"/v1/workspaces/{ws}/webhooks", body, status=201)
    moved = data(run(hookline, "workspaces", "set-plan", ws, "solo", "--json"))
    assert moved["plan"] == "solo"
    refused = api.post(f"/v1/workspaces/{ws}/webhooks", body, status=403)
    assert refused["code"] == "plan_limit_reached"
    back = run(hookline, "workspaces", "set-plan", ws, "pro")
    assert back.returncode == 0 and f"{ws} is on the pro plan" in back.stdout
    api.post(f"/v1/workspaces/{ws}/webhooks", body, status=201)
    unknown = run(hookline, "workspaces", "set-plan", ws, "gold")
    assert unknown.returncode == 1 and unknown.stderr.startswith("unknown_plan: ")
    listed = {w["id"]: w["plan"] for w in data(run(hookline, "workspaces", "list", "--json"))}
    assert listed[ws] == "pro"
    assert ws in run(hookline, "workspaces", "list").stdout


def test_portal_link_opens_the_portal_once(hookline: Hookline, ws: str) -> None:
    issued = run(hookline, "portal-link", "-w", ws, "--expires", "1h")
    assert issued.returncode == 0, issued.stderr
    url = issued.stdout.strip()
    assert url.startswith(f"{hookline.base_url}/ui/portal/") and "\n" not in url
    assert "valid once, until" in issued.stderr
    with httpx.Client() as browser:
        opened = browser.get(url)
        assert opened.status_code == 303 and opened.headers["location"] == f"/ui/w/{ws}"
        portal = browser.get(f"{hookline.base_url}/ui/w/{ws}")
        assert portal.status_code == 200 and "Portal · " in portal.text
    assert httpx.get(url).status_code == 403  # used
    as_json = data(run(hookline, "portal-link", "-w", ws, "--json"))
    assert set(as_json) == {"url", "expiresAt"}
    short = run(hookline, "portal-link", "-w", ws, "--expires", "30s")
    assert short.returncode == 1 and short.stdout == ""
    vague = run(hookline, "portal-link", "-w", ws, "--expires", "soon")
    assert vague.returncode == 2 and "not a duration" in vague.stderr


def doc_block() -> str:
    text = DOC.read_text()
    section = text[text.index("## Workspaces, API keys and portal links") :]
    match = re.search(r"```sh\n(.*?)```", section, re.DOTALL)
    assert match, "the section has no sh block"
    return match.group(1)


def test_the_docs_examples_run_as_written(hookline: Hookline, api: Api) -> None:
    api.post("/v1/workspaces", {"id": "acme", "name": "Acme", "plan": "free"}, status=201)
    env = {
        **os.environ,
        "HOOKLINE_URL": hookline.base_url,
        "HOOKLINE_API_KEY": hookline.admin_key or "",
        "PATH": f"{Path(HOOKLINE).parent}:{os.environ['PATH']}",
    }
    done = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", doc_block()],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, f"{done.stdout}\n{done.stderr}"
    assert api.get("/v1/workspaces/acme")["plan"] == "pro"
    keys = api.get("/v1/workspaces/acme/api-keys")
    assert [(k["name"], k["role"]) for k in keys] == [("Billing service", "publisher")]
    assert re.search(r"^key: hk_\S+$", done.stdout, re.M)
    assert re.search(rf"^{re.escape(hookline.base_url)}/ui/portal/\S+$", done.stdout, re.M)
