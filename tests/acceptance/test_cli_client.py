"""The API's commands (``hookline webhooks|deliveries|recover|tail|send``) as a person or a
script runs them: the installed console script against a real server."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from support.net import free_port
from support.polling import poll
from support.receiver import Receiver
from support.server import Api, Hookline

pytestmark = pytest.mark.store_independent

HOOKLINE = str(Path(sys.executable).with_name("hookline"))


def run(hookline: Hookline, *args: str, key: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "HOOKLINE_URL": hookline.base_url,
        "HOOKLINE_API_KEY": key or hookline.admin_key or "",
    }
    return subprocess.run(
        [HOOKLINE, *args], env=env, capture_output=True, text=True, timeout=60, check=False
    )


def parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def data(result: subprocess.CompletedProcess[str]) -> Any:
    assert result.returncode == 0, result.stderr
    body = json.loads(result.stdout)
    assert body["ok"] is True
    return body["data"]


def test_webhooks_create_list_pause_and_resume(
    hookline: Hookline, api: Api, ws: str, receiver: Receiver
) -> None:
    url = receiver.endpoint().url
    name = "[b]ops[/] [/]"  # printed as it is, not taken for markup
    created = data(
        run(hookline, "webhooks", "create", "-w", ws, url, "-e", "a.*", "--name", name, "--json")
    )
    wh_id = created["id"]
    assert created["url"] == url and created["events"] == ["a.*"]
    assert created["secret"] == api.get(f"/v1/webhooks/{wh_id}/secret")["secret"]

    listed = data(run(hookline, "webhooks", "list", "-w", ws, "--json"))
    assert [w["id"] for w in listed] == [wh_id]

    paused = run(hookline, "webhooks", "pause", wh_id, "--reason", "maintenance")
    assert paused.returncode == 0 and "paused" in paused.stdout
    shown = api.get(f"/v1/webhooks/{wh_id}")
    assert (shown["status"], shown["statusReason"]) == ("paused", "maintenance")
    assert data(run(hookline, "webhooks", "show", wh_id, "--json"))["statusReason"] == "maintenance"
    human = run(hookline, "webhooks", "show", wh_id)
    assert wh_id in human.stdout and url in human.stdout
    assert [line.split() for line in human.stdout.splitlines() if "reason:" in line] == [
        ["reason:", "maintenance"]
    ]
    assert data(run(hookline, "webhooks", "list", "-w", ws, "--status", "active", "--json")) == []

    assert run(hookline, "webhooks", "resume", wh_id).returncode == 0
    assert api.get(f"/v1/webhooks/{wh_id}")["status"] == "active"
    table = run(hookline, "webhooks", "list", "-w", ws)
    assert table.returncode == 0, table.stderr
    assert wh_id in table.stdout and url in table.stdout and name in table.stdout


def test_send_and_deliveries_list_with_filters(
    hookline: Hookline, api: Api, ws: str, receiver: Receiver
) -> None:
    ok, failing = receiver.endpoint(), receiver.endpoint(default=500)
    good = api.webhook(ws, ok.url)
    api.webhook(ws, failing.url, retryPolicy={"schedule": [0]})
    sent = data(run(hookline, "send", "-w", ws, "-t", "order.paid", "-d", '{"n": 1}', "--json"))
    assert sent["deliveries"] == 2

    def listed() -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = data(
            run(hookline, "deliveries", "list", "-w", ws, "--since", "1h", "--json")
        )
        return found

    poll(listed, lambda found: sorted(d["status"] for d in found) == ["failed", "succeeded"],
         timeout=20, what="both deliveries settled")  # fmt: skip
    failed = data(run(hookline, "deliveries", "list", "-w", ws, "--status", "failed", "--json"))
    assert [d["eventId"] for d in failed] == [sent["id"]]
    assert failed[0]["lastStatusCode"] == 500
    mine = data(run(hookline, "deliveries", "list", "--webhook", good["id"], "--json"))
    assert [d["status"] for d in mine] == ["succeeded"]
    later = run(
        hookline, "deliveries", "list", "-w", ws, "--since", "2099-01-01T00:00:00Z", "--json"
    )
    assert data(later) == []
    human = run(hookline, "deliveries", "list", "-w", ws)
    assert sent["id"] in human.stdout and "failed" in human.stdout


def test_send_with_channels_ttl_and_a_schema_version(
    hookline: Hookline, api: Api, ws: str, receiver: Receiver
) -> None:
    kind = f"plan.changed.{uuid.uuid4().hex[:8]}"
    api.post("/v1/event-types", {"name": kind, "schemas": {"1": {"type": "object"},
             "2": {"type": "object", "required": ["plan"]}}}, status=201)  # fmt: skip
    eu = api.webhook(ws, receiver.endpoint().url, events=[kind], channels=["eu"])
    args = ["send", "-w", ws, "-t", kind, "-d", '{"n": 1}', "--json"]

    refused = run(hookline, *args)  # the latest version wants a plan
    assert refused.returncode == 1 and "schema" in refused.stderr, refused.stderr
    sent = data(run(hookline, *args, "--schema-version", "1", "--channel", "eu", "--ttl", "600"))
    assert sent["deliveries"] == 1
    (dlv,) = api.deliveries_of(sent["id"])
    assert dlv["webhookId"] == eu["id"]
    assert api.get(f"/v1/events/{sent['id']}")["channels"] == ["eu"]
    lifetime = parse_time(dlv["expiresAt"]) - parse_time(dlv["createdAt"])
    assert lifetime.total_seconds() == pytest.approx(600, abs=1)


def test_recover_follows_the_resent_deliveries_until_they_settle(
    hookline: Hookline, api: Api, ws: str, receiver: Receiver
) -> None:
    endpoint = receiver.endpoint([500] * 3, default=200)
    wh = api.webhook(ws, endpoint.url, retryPolicy={"schedule": [0]})
    ids = [api.send(ws, "order.paid", {"n": n})["id"] for n in range(3)]
    poll(
        lambda: api.get(f"/v1/webhooks/{wh['id']}/deliveries?status=failed"),
        lambda failed: len(failed) == 3,
        timeout=20,
        what="three failed deliveries",
    )
    result = data(
        run(hookline, "recover", "--webhook", wh["id"], "--since", "1h", "--wait", "--json")
    )
    assert result == {"count": 3, "succeeded": 3, "failed": 0, "unsettled": 0}
    received = {json.loads(r.body)["data"]["n"] for r in endpoint.requests[3:]}
    assert received == {0, 1, 2} and len(ids) == 3
    until = run(hookline, "recover", "--webhook", wh["id"], "--since", "2h", "--until", "1h")
    assert until.returncode == 0 and "resending 0 deliveries" in until.stdout
    backwards = run(hookline, "recover", "--webhook", wh["id"], "--since", "1h", "--until", "2h")
    assert backwards.returncode == 1 and backwards.stderr.startswith("invalid_time_range: ")


def test_recover_of_many_follows_them_with_a_bar_by_itself(
    hookline: Hookline, api: Api, ws: str, receiver: Receiver
) -> None:
    many = 21  # above the 20 from which recover follows without --wait
    endpoint = receiver.endpoint([500] * many, default=200)
    wh = api.webhook(ws, endpoint.url, retryPolicy={"schedule": [0]})
    for n in range(many):
        api.send(ws, "order.paid", {"n": n})
    poll(
        lambda: api.get(f"/v1/webhooks/{wh['id']}/deliveries?status=failed&limit=100"),
        lambda failed: len(failed) == many,
        timeout=30,
        what=f"{many} failed deliveries",
    )
    result = run(hookline, "recover", "--webhook", wh["id"], "--since", "1h")
    assert result.returncode == 0, result.stderr
    assert f"resent {many}: {many} succeeded, 0 failed, 0 not settled" in result.stdout
    assert "resending" in result.stderr  # the bar
    found = data(run(hookline, "deliveries", "list", "--webhook", wh["id"], "--json"))
    recovered = [d for d in found if "recovered" in d["tags"]]
    assert len(recovered) == many and {d["status"] for d in recovered} == {"succeeded"}


def test_ctrl_c_stops_following_a_recovery_but_not_the_recovery(
    hookline: Hookline, api: Api, ws: str, receiver: Receiver
) -> None:
    endpoint = receiver.endpoint([500], default=200)
    wh = api.webhook(ws, endpoint.url, retryPolicy={"schedule": [0]})
    api.send(ws, "order.paid", {"n": 1})
    endpoint.wait(1)
    endpoint.hold(5)  # the resent attempt hangs, so its delivery is not settled yet
    env = {
        **os.environ,
        "HOOKLINE_URL": hookline.base_url,
        "HOOKLINE_API_KEY": hookline.admin_key or "",
    }
    proc = subprocess.Popen(
        [HOOKLINE, "recover", "--webhook", wh["id"], "--since", "1h", "--wait"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stderr is not None
    assert "following 1 resent deliveries" in proc.stderr.readline()
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
    assert "stopped following" in err
    assert "resent 1: 0 succeeded, 0 failed, 1 not settled" in out


def test_tail_prints_new_deliveries_as_json_lines(
    hookline: Hookline, api: Api, ws: str, receiver: Receiver
) -> None:
    api.webhook(ws, receiver.endpoint().url)
    env = {
        **os.environ,
        "HOOKLINE_URL": hookline.base_url,
        "HOOKLINE_API_KEY": hookline.admin_key or "",
    }
    proc = subprocess.Popen(
        [HOOKLINE, "tail", "-w", ws, "--json", "--interval", "0.2"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stderr is not None
        assert "following deliveries of" in proc.stderr.readline()
        sent = [api.send(ws, "order.paid", {"n": n})["id"] for n in range(3)]
        assert proc.stdout is not None
        seen: dict[str, set[str]] = {}
        deadline = time.monotonic() + 20
        while any("succeeded" not in seen.get(e, set()) for e in sent):
            assert time.monotonic() < deadline, f"tail printed only {seen}"
            line = proc.stdout.readline()
            assert line, proc.stderr.read() if proc.stderr else "tail ended"
            delivery = json.loads(line)
            seen.setdefault(delivery["eventId"], set()).add(delivery["status"])
        assert set(seen) == set(sent)
    finally:
        proc.terminate()
        code = proc.wait(timeout=10)
    assert code == 0


def test_tail_filters_by_status_and_stops_by_itself(
    hookline: Hookline, api: Api, ws: str, receiver: Receiver
) -> None:
    api.webhook(ws, receiver.endpoint().url)
    proc = tail(hookline, ws, "--json", "--status", "succeeded", "--max-events", "3")
    assert proc.stderr is not None
    assert "following deliveries of" in proc.stderr.readline()
    sent = [api.send(ws, "order.paid", {"n": n})["id"] for n in range(3)]
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    lines = [json.loads(line) for line in out.splitlines()]
    assert sorted(d["eventId"] for d in lines) == sorted(sent)
    assert {d["status"] for d in lines} == {"succeeded"}


def test_tail_for_a_person_prints_lines_until_ctrl_c(
    hookline: Hookline, api: Api, ws: str, receiver: Receiver
) -> None:
    wh = api.webhook(ws, receiver.endpoint().url)
    proc = tail(hookline, ws)
    try:
        assert proc.stdout is not None and proc.stderr is not None
        assert "following deliveries of" in proc.stderr.readline()
        sent = api.send(ws, "order.paid", {"n": 1})["id"]
        deadline = time.monotonic() + 20
        while True:
            assert time.monotonic() < deadline, "tail printed no settled line"
            line = proc.stdout.readline()
            assert line, proc.stderr.read() if proc.stderr else "tail ended"
            if "succeeded" in line:
                break
        assert sent in line and "order.paid" in line and wh["id"] in line and "200" in line
    finally:
        proc.send_signal(signal.SIGINT)
        code = proc.wait(timeout=10)
    assert code == 0


def test_tail_waits_out_a_restart_of_hookline(tmp_path: Path, receiver: Receiver) -> None:
    server = Hookline(tmp_path).start()  # its own, to stop and start again on the same port
    try:
        with server.api() as api:
            ws = api.workspace()
            api.webhook(ws, receiver.endpoint().url)
            proc = tail(server, ws, "--json", "--status", "succeeded", "--max-events", "2")
            try:
                assert proc.stdout is not None and proc.stderr is not None
                assert "following deliveries of" in proc.stderr.readline()
                first = api.send(ws, "order.paid", {"n": 1})["id"]
                assert json.loads(proc.stdout.readline())["eventId"] == first
                assert server.terminate() == 0
                assert "lost Hookline" in proc.stderr.readline()
                server.start(same_port=True)  # the same port, the same database
                assert "Hookline is back" in proc.stderr.readline()
                second = api.send(ws, "order.paid", {"n": 2})["id"]
                assert json.loads(proc.stdout.readline())["eventId"] == second
                assert proc.wait(timeout=20) == 0
            finally:
                proc.kill()
                proc.communicate()
    finally:
        server.stop()


def tail(hookline: Hookline, ws: str, *args: str) -> subprocess.Popen[str]:
    """``hookline tail`` running, polling fast, ending by itself after 30 s at the latest."""
    env = {
        **os.environ,
        "HOOKLINE_URL": hookline.base_url,
        "HOOKLINE_API_KEY": hookline.admin_key or "",
    }
    return subprocess.Popen(
        [HOOKLINE, "tail", "-w", ws, "--interval", "0.2", "--timeout", "30", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_errors_have_their_exit_codes(hookline: Hookline, ws: str) -> None:
    missing = run(hookline, "webhooks", "pause", "wh_missing")
    assert missing.returncode == 1 and missing.stderr.startswith("not_found: ")
    bad = run(hookline, "deliveries", "list", "-w", ws, "--since", "yesterday")
    assert bad.returncode == 2 and "neither a duration" in bad.stderr
    both = run(hookline, "deliveries", "list", "-w", ws, "--webhook", "wh_x")
    assert both.returncode == 2 and "one of --workspace and --webhook" in both.stderr
    env = {
        **os.environ,
        "HOOKLINE_URL": f"http://127.0.0.1:{free_port()}",
        "HOOKLINE_API_KEY": "hk_x",
    }
    down = subprocess.run(
        [HOOKLINE, "webhooks", "list", "-w", ws],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert down.returncode == 3 and "cannot reach Hookline at http://127.0.0.1:" in down.stderr
    nokey = subprocess.run(
        [HOOKLINE, "webhooks", "list", "-w", ws],
        env={k: v for k, v in os.environ.items() if not k.startswith("HOOKLINE_")},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert nokey.returncode == 2 and "HOOKLINE_API_KEY" in nokey.stderr


def test_tail_unreachable_from_the_start_exits_3_without_saying_it_follows(ws: str) -> None:
    env = {
        **os.environ,
        "HOOKLINE_URL": f"http://127.0.0.1:{free_port()}",
        "HOOKLINE_API_KEY": "hk_x",
    }
    down = subprocess.run(
        [HOOKLINE, "tail", "-w", ws, "--interval", "0.1"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert down.returncode == 3, down.stderr
    assert "cannot reach Hookline at http://127.0.0.1:" in down.stderr
    assert "following deliveries" not in down.stderr and down.stdout == ""


def test_the_server_commands_exit_1_when_they_cannot_start_and_2_on_bad_usage(
    tmp_path: Path,
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOOKLINE_")}
    env |= {"HOOKLINE_DATA_DIR": str(tmp_path), "HOOKLINE_WORKSPACE_SHARE": "0"}
    for command in (["serve", "--port", "0"], ["migrate"], ["config"]):
        refused = subprocess.run(
            [HOOKLINE, *command], env=env, capture_output=True, text=True, timeout=60
        )
        assert refused.returncode == 1, (command, refused.stderr)
        assert "HOOKLINE_WORKSPACE_SHARE" in refused.stderr and "Traceback" not in refused.stderr
    bad = subprocess.run(
        [HOOKLINE, "listen", "--status", "99"], capture_output=True, text=True, timeout=60
    )
    assert bad.returncode == 2 and "--status" in bad.stderr
