"""Each seed's retry promise, with its schedule scaled to fractions of a second (CONTRACT §6).

Disqua: 0/30 s/5 min/30 min/2 h, then the webhook is paused and its owner e-mailed.
Coassemble: 4 attempts at 1/5/30 min. Discko: exponential from 1 s, 8 retries, only
408/413/429/500/502/503/504 retried, redirects followed. Acadio: up to 6 retries.
Disco: no automatic retry, manual resend. Plus Retry-After, redirects and timeouts.

Each seed also keeps its envelope, brand and signature scheme, checked on every attempt.
The server of this module sends e-mail to a real SMTP server (aiosmtpd) on 127.0.0.1.
Schedules run with ``jitter: 0`` so that each gap can be checked against its delay.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import time
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import pytest
from support.mail import Mailbox
from support.polling import poll
from support.receiver import Endpoint, Receiver
from support.server import Api, Hookline

from hookline.verify import verify_rfc9421

pytestmark = pytest.mark.slow

# The arrival times come from the receiver in this process; a delay is rounded to whole
# milliseconds when it is scheduled, so a gap may come out this much short of it.
CLOCK_SLACK = 0.002


@pytest.fixture(scope="module")
def mailbox(backend: str) -> Iterator[Mailbox]:
    """One per backend's server: the e-mails of one backend's run must not count in the other's."""
    with Mailbox() as box:
        yield box


@pytest.fixture(scope="module")
def hookline(
    tmp_path_factory: pytest.TempPathFactory, mailbox: Mailbox, module_database: str | None
) -> Iterator[Hookline]:
    env = {"HOOKLINE_SMTP_URL": mailbox.url(), "HOOKLINE_PUBLIC_URL": "https://hooks.example.test"}
    server = Hookline(tmp_path_factory.mktemp("policies"), env=env, database_url=module_database)
    with server.running():
        yield server


def scaled(seconds: Sequence[float], factor: float) -> list[float]:
    return [s * factor for s in seconds]


def gaps(endpoint: Endpoint) -> list[float]:
    return [b.at - a.at for a, b in itertools.pairwise(endpoint.requests)]


def assert_spaced(endpoint: Endpoint, schedule: Sequence[float]) -> None:
    """Attempt n+1 came no sooner than ``schedule[n]`` after attempt n."""
    got = gaps(endpoint)
    assert len(got) == len(schedule) - 1, got
    for gap, delay in zip(got, schedule[1:], strict=True):
        assert gap >= delay - CLOCK_SLACK, (got, schedule)


def delivery_of(api: Api, event: dict[str, Any], wh_id: str) -> dict[str, Any]:
    (dlv,) = [d for d in api.deliveries_of(event["id"]) if d["webhookId"] == wh_id]
    return dlv


def settled_of(api: Api, event: dict[str, Any], wh_id: str) -> dict[str, Any]:
    return api.settled(delivery_of(api, event, wh_id)["id"])


# -- Disqua ------------------------------------------------------------------------------------

DISQUA_SCHEDULE = scaled([0, 30, 300, 1800, 7200], 1 / 18000)  # 0, 1.7 ms, 17 ms, 0.1 s, 0.4 s


def test_disqua_five_attempts_then_paused_by_the_system_and_one_email(
    api: Api, receiver: Receiver, mailbox: Mailbox
) -> None:
    ws = api.workspace(
        name="Disqua team",
        notificationEmail="ops@disqua.test",
        settings={
            "delivery": {"signature": "hmac-sha256", "envelope": "typed", "brand": "Disqua"},
            "retryPolicy": {"schedule": DISQUA_SCHEDULE, "jitter": 0, "onExhausted": "pause"},
        },
    )
    endpoint = receiver.endpoint(default=500)
    wh = api.webhook(ws, endpoint.url, name="Disqua CRM sync")
    secret = api.get(f"/v1/webhooks/{wh['id']}/secret")["secret"]

    event = api.send(ws, "message.created", {"text": "hi"})
    dlv = settled_of(api, event, wh["id"])

    assert dlv["status"] == "failed"
    assert dlv["attemptCount"] == 5
    assert [a["number"] for a in dlv["attempts"]] == [1, 2, 3, 4, 5]
    assert [a["response"]["status"] for a in dlv["attempts"]] == [500] * 5
    assert {a["outcome"] for a in dlv["attempts"]} == {"failure"}
    got = endpoint.wait(5)
    assert [r.headers["X-Disqua-Attempt"] for r in got] == ["1", "2", "3", "4", "5"]
    assert {json.loads(r.body)["id"] for r in got} == {event["id"]}
    for r in got:  # every attempt signed anew: HMAC-SHA256 over "{timestamp}.{body}"
        signed = r.headers["X-Disqua-Timestamp"].encode() + b"." + r.body
        mac = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
        assert r.headers["X-Disqua-Signature-256"] == "sha256=" + mac
    assert_spaced(endpoint, DISQUA_SCHEDULE)

    paused = poll(
        lambda: api.get(f"/v1/webhooks/{wh['id']}"),
        lambda w: w["status"] == "paused",
        what="webhook paused",
    )
    assert paused["statusReason"] == "too_many_failures"
    assert paused["statusChangedBy"] == "system"

    (mail,) = mailbox.wait(1)
    assert mail["To"] == "ops@disqua.test"
    text = mail.get_body(preferencelist=("plain",))
    assert text is not None
    content = text.get_content()
    assert "Disqua CRM sync" in mail["Subject"] + content
    assert wh["id"] in content
    assert "resume" in content.lower()
    assert f"PATCH https://hooks.example.test/v1/webhooks/{wh['id']}" in content.replace(
        "curl -X ", ""
    )
    assert '"status": "active"' in content

    # Resumed, it fails again and is paused again within the hour: no second e-mail.
    api.patch(f"/v1/webhooks/{wh['id']}", {"status": "active"})
    again = api.send(ws, "message.created", {"text": "again"})
    assert settled_of(api, again, wh["id"])["attemptCount"] == 5
    repaused = poll(
        lambda: api.get(f"/v1/webhooks/{wh['id']}"),
        lambda w: w["status"] == "paused",
        what="webhook paused again",
    )
    assert repaused["statusChangedBy"] == "system"
    assert repaused["statusChangedAt"] > paused["statusChangedAt"]
    time.sleep(1.0)  # measuring that no second e-mail comes, not synchronizing
    assert len(mailbox.messages) == 1
    assert len(endpoint.requests) == 10


# -- Coassemble --------------------------------------------------------------------------------

COASSEMBLE_SCHEDULE = scaled([0, 60, 300, 1800], 1 / 3000)  # 0, 20 ms, 0.1 s, 0.6 s


def test_coassemble_four_attempts_at_one_five_and_thirty_minutes(
    api: Api, ws: str, receiver: Receiver
) -> None:
    policy = {"schedule": COASSEMBLE_SCHEDULE, "jitter": 0}
    recovering = receiver.endpoint([500, 502, 504], default=200)
    down = receiver.endpoint(default=503)
    wh_ok = api.webhook(ws, recovering.url, retryPolicy=policy)
    wh_down = api.webhook(ws, down.url, retryPolicy=policy)

    event = api.send(ws, "course.completed", {"course": 7, "learner": "ann"})
    ok = settled_of(api, event, wh_ok["id"])
    failed = settled_of(api, event, wh_down["id"])

    assert ok["status"] == "succeeded"
    assert ok["attemptCount"] == 4
    assert [a["response"]["status"] for a in ok["attempts"]] == [500, 502, 504, 200]
    assert failed["status"] == "failed"
    assert failed["attemptCount"] == 4
    assert failed["lastStatusCode"] == 503
    # "Every attempt carries the same delivery ID."
    for endpoint in (recovering, down):
        got = endpoint.wait(4)
        assert {r.headers["X-Hookline-Delivery"] for r in got} == {event["id"]}
        assert_spaced(endpoint, COASSEMBLE_SCHEDULE)
    assert api.get(f"/v1/webhooks/{wh_down['id']}")["status"] == "active"  # fail, not pause


# -- Discko ------------------------------------------------------------------------------------

DISCKO_RETRY_ON = [408, 413, 429, 500, 502, 503, 504]
DISCKO_INITIAL = 0.005  # 1 s scaled by 1/200: the waits are 5 ms, 10 ms, … 640 ms


def discko_workspace(api: Api) -> str:
    return api.workspace(
        name="Discko",
        settings={
            "delivery": {"signature": "none", "envelope": "dated", "brand": "Discko"},
            "retryPolicy": {
                "exponential": {"initial": DISCKO_INITIAL, "factor": 2, "retries": 8},
                "retryOn": DISCKO_RETRY_ON,
                "followRedirects": True,
                "jitter": 0,
            },
        },
    )


def test_discko_nine_attempts_with_doubling_waits_on_every_retryable_status(
    api: Api, receiver: Receiver
) -> None:
    ws = discko_workspace(api)
    answers = [*DISCKO_RETRY_ON, 500, 502]  # every retryable status, then two more: 9 failures
    endpoint = receiver.endpoint(answers, default=200)
    wh = api.webhook(ws, endpoint.url)

    event = api.send(ws, "lead.created", {"status": "NEW"})
    dlv = settled_of(api, event, wh["id"])

    assert dlv["status"] == "failed"
    assert dlv["attemptCount"] == 9
    assert [a["response"]["status"] for a in dlv["attempts"]] == answers
    got = endpoint.wait(9)
    assert len(got) == 9
    envelope = json.loads(got[0].body)
    assert set(envelope) == {"date", "event", "data"}
    assert envelope["event"] == "lead.created"
    assert not any("signature" in name.lower() for name in got[0].headers)
    schedule = [0.0] + [DISCKO_INITIAL * 2**n for n in range(8)]
    assert_spaced(endpoint, schedule)


def test_discko_client_errors_fail_at_once_after_one_attempt(api: Api, receiver: Receiver) -> None:
    ws = discko_workspace(api)
    endpoints = {status: receiver.endpoint(default=status) for status in (400, 404, 410, 501)}
    hooks = {status: api.webhook(ws, ep.url)["id"] for status, ep in endpoints.items()}
    control = receiver.endpoint([500], default=200)  # retried after the same first wait
    api.webhook(ws, control.url)

    event = api.send(ws, "lead.created", {"status": "NEW"})

    for status, wh_id in hooks.items():
        dlv = settled_of(api, event, wh_id)
        assert dlv["status"] == "failed", status
        assert dlv["attemptCount"] == 1, status
        assert dlv["lastStatusCode"] == status
        assert dlv["nextAttemptAt"] is None
    # The control's retry was due when theirs would have been: once it came, so would have they.
    control.wait(2)
    assert {s: len(ep.requests) for s, ep in endpoints.items()} == dict.fromkeys(endpoints, 1)


def test_discko_redirects_are_followed(api: Api, receiver: Receiver) -> None:
    ws = discko_workspace(api)
    target = receiver.endpoint()
    statuses = (301, 302, 303, 307, 308)
    hops = {s: receiver.endpoint([(s, {"Location": target.url})]) for s in statuses}
    hooks = {s: api.webhook(ws, ep.url)["id"] for s, ep in hops.items()}

    event = api.send(ws, "lead.created", {"status": "NEW"})

    for status, wh_id in hooks.items():
        dlv = settled_of(api, event, wh_id)
        assert dlv["status"] == "succeeded", (status, dlv)
        assert dlv["attemptCount"] == 1
        assert dlv["lastStatusCode"] == 200
        assert len(hops[status].requests) == 1
    arrived = target.wait(len(statuses))
    assert {r.method for r in arrived} == {"POST"}
    assert {json.loads(r.body)["event"] for r in arrived} == {"lead.created"}


# -- Acadio ------------------------------------------------------------------------------------


def test_acadio_up_to_six_retries_is_seven_attempts(api: Api, receiver: Receiver) -> None:
    ws = api.workspace(
        name="Acadio",
        settings={"delivery": {"signature": "hmac-sha256-body", "brand": "Acadio"}},
    )
    endpoint = receiver.endpoint(default=500)
    schedule = [0, *[0.02] * 6]
    wh = api.webhook(ws, endpoint.url, retryPolicy={"schedule": schedule, "jitter": 0})
    secret = api.get(f"/v1/webhooks/{wh['id']}/secret")["secret"]

    event = api.send(ws, "course/completion/create", {"course_id": 3})
    dlv = settled_of(api, event, wh["id"])

    assert dlv["status"] == "failed"
    assert dlv["attemptCount"] == 7
    got = endpoint.wait(7)
    assert len(got) == 7
    assert [r.headers["X-Acadio-Attempt"] for r in got] == [str(n) for n in range(1, 8)]
    for r in got:
        mac = hmac.new(secret.encode(), r.body, hashlib.sha256).hexdigest()
        assert r.headers["X-Acadio-Hmac-Sha256"] == mac
    assert_spaced(endpoint, schedule)


# -- Disco -------------------------------------------------------------------------------------


def test_disco_tries_once_and_a_manual_resend_delivers(api: Api, receiver: Receiver) -> None:
    ws = api.workspace(
        name="Disco academy",
        settings={"delivery": {"signature": "rfc9421", "brand": "Disco"}},
    )
    erroring = receiver.endpoint([500], default=200)
    slow = receiver.endpoint(delay=1.0)
    policy = {"schedule": [0], "timeout": 0.3}
    wh_err = api.webhook(ws, erroring.url, retryPolicy=policy)
    wh_slow = api.webhook(ws, slow.url, retryPolicy=policy)
    control = receiver.endpoint([500], default=200)  # the same, but with one retry
    api.webhook(ws, control.url, retryPolicy={"schedule": [0, 0.3], "timeout": 0.3})

    event = api.send(ws, "course.enrolled", {"course": 1})
    failed = settled_of(api, event, wh_err["id"])
    timed_out = settled_of(api, event, wh_slow["id"])

    assert failed["status"] == "failed"
    assert failed["attemptCount"] == 1
    assert failed["lastStatusCode"] == 500
    assert timed_out["status"] == "failed"
    assert timed_out["attemptCount"] == 1
    assert timed_out["lastError"] == "timeout"
    assert timed_out["attempts"][0]["error"] == "timeout"
    assert timed_out["attempts"][0]["response"] is None
    # Once the control's retry came, a retry of the erroring one would have come as well.
    control.wait(2)
    assert len(erroring.requests) == 1

    resent = api.post(f"/v1/deliveries/{failed['id']}/resend", status=202)
    assert resent["resentFrom"] == failed["id"]
    assert resent["tags"] == ["resent"]
    done = api.settled(resent["id"])
    assert done["status"] == "succeeded"
    first, second = erroring.wait(2)
    assert first.headers["X-Disco-Delivery"] == second.headers["X-Disco-Delivery"] == event["id"]
    secret = api.get(f"/v1/webhooks/{wh_err['id']}/secret")["secret"]
    for r in (first, second):
        verify_rfc9421(secret, dict(r.headers), r.body, method="POST", url=erroring.url)
    assert api.delivery(failed["id"])["status"] == "failed"  # the original stays as it was


# -- Retry-After, redirects, timeouts ------------------------------------------------------------


def test_retry_after_is_honoured_on_429_and_503_up_to_max_retry_after(
    api: Api, ws: str, receiver: Receiver
) -> None:
    delay = 0.3
    ahead = format_datetime(datetime.now(UTC) + timedelta(seconds=6), usegmt=True)
    # name → (status, Retry-After, the policy's maxRetryAfter, the least wait, the most wait)
    cases: dict[str, tuple[int, str, float | None, float, float]] = {
        "429 far, capped": (429, "30", 1, 1, 1),
        "503 beyond the schedule": (503, "1.5", None, 1.5, 1.5),
        "429 sooner": (429, "0", None, delay, delay),  # never sooner than the schedule
        # A date 6 s ahead of now, before the webhooks are made: well past the schedule's step
        # when the first attempt reads it, and never past the date itself.
        "503 http-date": (503, ahead, None, 1, 6),
        "500 ignored": (500, "30", None, delay, delay),  # only 429 and 503 are read
        "429 with the cap at 0": (429, "30", 0, delay, delay),  # 0: Retry-After ignored
    }
    endpoints = {
        name: receiver.endpoint([(status, {"Retry-After": value})], default=200)
        for name, (status, value, _cap, _least, _most) in cases.items()
    }
    for name, endpoint in endpoints.items():
        cap = cases[name][2]
        extra = {} if cap is None else {"maxRetryAfter": cap}
        api.webhook(ws, endpoint.url, retryPolicy={"schedule": [0, delay], "jitter": 0, **extra})

    api.send(ws, "invoice.paid", {"amount": 1})

    waited = {name: ep.wait(2)[1].at - ep.wait(2)[0].at for name, ep in endpoints.items()}
    late = 0.25  # how late the dispatcher may start a due attempt on a busy test machine
    for name, (_status, _value, _cap, least, most) in cases.items():
        assert least - CLOCK_SLACK <= waited[name] < most + late, (name, waited)


def test_a_redirect_fails_unless_follow_redirects_is_on(
    api: Api, ws: str, receiver: Receiver
) -> None:
    target = receiver.endpoint()
    stay = receiver.endpoint(default=(302, {"Location": target.url}))
    follow = receiver.endpoint(default=(307, {"Location": target.url}))
    policy = {"schedule": [0, 0.05], "jitter": 0}
    wh_stay = api.webhook(ws, stay.url, retryPolicy=policy)
    wh_follow = api.webhook(ws, follow.url, retryPolicy={**policy, "followRedirects": True})

    event = api.send(ws, "invoice.paid", {"amount": 1})
    stayed = settled_of(api, event, wh_stay["id"])
    followed = settled_of(api, event, wh_follow["id"])

    assert stayed["status"] == "failed"
    assert stayed["attemptCount"] == 2  # a 3xx is a failed attempt, retried like any other
    assert stayed["lastStatusCode"] == 302
    assert [a["outcome"] for a in stayed["attempts"]] == ["failure", "failure"]
    assert stayed["attempts"][0]["response"]["headers"]["Location"] == target.url
    assert followed["status"] == "succeeded"
    assert followed["attemptCount"] == 1
    assert len(target.wait(1)) == 1
    assert len(stay.requests) == 2


@pytest.mark.parametrize("forward", [False, True], ids=["default", "forwardHeadersOnRedirect"])
def test_a_redirect_to_another_origin_carries_custom_headers_only_when_the_webhook_says_so(
    api: Api, ws: str, receiver: Receiver, forward: bool
) -> None:
    """Same origin: every header. Another origin: never Authorization; the webhook's other
    custom headers only with forwardHeadersOnRedirect; the signature and Hookline's own
    headers always."""
    same, other = receiver.endpoint(), receiver.endpoint()
    # "localhost" is another origin than "127.0.0.1", though the same receiver (dev mode).
    elsewhere = other.url.replace("127.0.0.1", "localhost")
    hops = [
        receiver.endpoint(default=(307, {"Location": same.path})),
        receiver.endpoint(default=(307, {"Location": elsewhere})),
    ]
    policy = {"schedule": [0], "followRedirects": True}
    headers = {"Authorization": "Bearer abc", "X-Api-Key": "k-42"}
    opt_in = {"forwardHeadersOnRedirect": True} if forward else {}  # false when left out
    made = [api.webhook(ws, hop.url, headers=headers, retryPolicy=policy, **opt_in) for hop in hops]

    api.send(ws, "invoice.paid", {"amount": 1})

    (kept,) = same.wait(1)
    (moved,) = other.wait(1)
    assert (kept.headers["Authorization"], kept.headers["X-Api-Key"]) == ("Bearer abc", "k-42")
    assert "Authorization" not in moved.headers
    assert moved.headers.get("X-Api-Key") == ("k-42" if forward else None)
    assert moved.headers["webhook-signature"].startswith("v1,")  # still signed
    assert moved.headers["X-Hookline-Delivery"] == kept.headers["X-Hookline-Delivery"]
    assert [wh["forwardHeadersOnRedirect"] for wh in made] == [forward, forward]


def test_a_redirect_loop_stops_after_five_hops(api: Api, ws: str, receiver: Receiver) -> None:
    loop = receiver.endpoint()
    loop.script(default=(308, {"Location": loop.url}))  # every answer redirects to itself
    wh = api.webhook(ws, loop.url, retryPolicy={"schedule": [0], "followRedirects": True})

    event = api.send(ws, "invoice.paid", {"amount": 1})
    dlv = settled_of(api, event, wh["id"])

    assert dlv["status"] == "failed"
    assert dlv["lastError"] == "too_many_redirects"
    assert len(loop.requests) == 6  # the first request and five redirects


def test_timeout_is_recorded_as_timeout_and_retried(api: Api, ws: str, receiver: Receiver) -> None:
    endpoint = receiver.endpoint(delay=2.0)
    wh = api.webhook(ws, endpoint.url, retryPolicy={"schedule": [0, 0.05], "timeout": 0.25})

    event = api.send(ws, "invoice.paid", {"amount": 1})
    dlv = settled_of(api, event, wh["id"])

    assert dlv["status"] == "failed"
    assert dlv["attemptCount"] == 2
    assert dlv["lastError"] == "timeout"
    assert dlv["lastStatusCode"] is None
    for attempt in dlv["attempts"]:
        assert attempt["error"] == "timeout"
        assert attempt["response"] is None
        assert 200 <= attempt["durationMs"] < 1500
