from __future__ import annotations

import itertools
from collections import Counter

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hookline.domain.scheduling import (
    FIRST_WINDOW,
    MAX_RATE_INTERVAL_MS,
    Candidate,
    Slots,
    Windows,
    choose,
    first_slot,
    rate_interval,
    workspace_slots,
)

NOW = 1_773_828_300_000


def due(
    n: int,
    webhook: str = "wh_a",
    workspace: str = "ws_a",
    *,
    rate_limit: float | None = None,
    rate_clock: int | None = None,
) -> list[Candidate]:
    """``n`` candidates of one webhook, in queue order."""
    return [
        Candidate(f"{webhook}:{i}", webhook, workspace, rate_limit, rate_clock) for i in range(n)
    ]


def slots(per_webhook: int = 100, per_workspace: int = 100, **busy: dict[str, int]) -> Slots:
    return Slots(per_webhook, per_workspace, busy.get("webhooks", {}), busy.get("workspaces", {}))


# -- caps --------------------------------------------------------------------------------------


def test_a_webhook_gets_its_cap_minus_what_is_busy() -> None:
    choice = choose(due(10), slots(4, webhooks={"wh_a": 1}), now=NOW, limit=50)
    assert choice.chosen == ["wh_a:0", "wh_a:1", "wh_a:2"]
    assert choice.full == {"wh_a"}
    assert choice.slots.webhooks == {"wh_a": 4}


def test_a_full_webhook_gives_nothing_and_the_others_still_go() -> None:
    candidates = due(3) + due(2, "wh_b")
    choice = choose(candidates, slots(2, webhooks={"wh_a": 2}), now=NOW, limit=50)
    assert choice.chosen == ["wh_b:0", "wh_b:1"]
    assert choice.full == {"wh_a", "wh_b"}


def test_a_workspace_gets_its_share_across_its_webhooks() -> None:
    candidates = due(3, "wh_a") + due(3, "wh_b") + due(2, "wh_c", "ws_b")
    choice = choose(candidates, slots(2, 3, workspaces={"ws_a": 1}), now=NOW, limit=50)
    assert choice.chosen == ["wh_a:0", "wh_a:1", "wh_c:0", "wh_c:1"]
    assert choice.full_workspaces == {"ws_a"}
    assert choice.full == {"wh_a", "wh_c"}
    assert choice.slots.workspaces == {"ws_a": 3, "ws_b": 2}


def test_a_full_workspace_gives_nothing() -> None:
    candidates = due(2, "wh_a") + due(1, "wh_b", "ws_b")
    choice = choose(candidates, slots(per_workspace=2, workspaces={"ws_a": 2}), now=NOW, limit=9)
    assert choice.chosen == ["wh_b:0"]


def test_the_limit_stops_the_choice_in_queue_order() -> None:
    candidates = due(3) + due(3, "wh_b", rate_limit=10.0)
    choice = choose(candidates, slots(), now=NOW, limit=2)
    assert choice.chosen == ["wh_a:0", "wh_a:1"]
    # What the limit left out is neither reserved nor pushed: it stays for the next claim.
    assert (choice.deferred, choice.reserved, choice.pushed) == ([], {}, set())


def test_a_second_round_counts_what_the_first_took() -> None:
    first = choose(due(3), slots(4), now=NOW, limit=2)
    second = choose(due(5, "wh_a")[2:], first.slots, now=NOW, limit=9)
    assert second.chosen == ["wh_a:2", "wh_a:3"]
    assert second.slots.webhooks == {"wh_a": 4}


def test_the_input_slots_are_left_as_they_were() -> None:
    busy = {"wh_a": 1}
    given_slots = slots(4, webhooks=busy)
    choose(due(3), given_slots, now=NOW, limit=9)
    assert busy == {"wh_a": 1} and given_slots.webhooks == {"wh_a": 1}


# -- windows -----------------------------------------------------------------------------------


def test_a_webhook_not_seen_yet_gets_the_first_window_and_a_known_one_its_own() -> None:
    candidates = due(10, "wh_new") + due(10, "wh_known")
    windows = Slots(16, 100, windows={"wh_known": 5})
    choice = choose(candidates, windows, now=NOW, limit=50)
    assert Counter(d.split(":")[0] for d in choice.chosen) == {
        "wh_new": FIRST_WINDOW,
        "wh_known": 5,
    }
    assert choice.full == {"wh_new", "wh_known"}
    assert choice.slots.windows == {"wh_known": 5}  # a further round keeps them


def test_a_window_never_lifts_the_cap() -> None:
    choice = choose(due(10), Slots(3, 100, windows={"wh_a": 8}), now=NOW, limit=50)
    assert len(choice.chosen) == 3


def test_without_windows_every_webhook_gets_the_cap() -> None:
    assert len(choose(due(10), Slots(6, 100), now=NOW, limit=50).chosen) == 6


def test_answers_widen_a_window_up_to_the_cap_and_timeouts_halve_it_down_to_one() -> None:
    windows = Windows(16)
    seen: list[int] = []
    for _ in range(20):
        windows.ended("wh_a", timed_out=False)
        seen.append(windows.known()["wh_a"])
    assert seen == [*range(FIRST_WINDOW + 1, 16), *[16] * (20 - (16 - FIRST_WINDOW - 1))]
    cut: list[int] = []
    for _ in range(6):
        windows.ended("wh_a", timed_out=True)
        cut.append(windows.known()["wh_a"])
    assert cut == [8, 4, 2, 1, 1, 1]
    windows.ended("wh_a", timed_out=False)
    assert windows.known()["wh_a"] == 2  # it answered again: the window opens again


def test_a_hanging_endpoint_never_gets_more_than_its_first_window() -> None:
    windows = Windows(16)
    windows.ended("wh_hang", timed_out=True)
    assert Slots(16, 100, windows=windows.known()).cap("wh_hang") == 1
    assert Slots(16, 100, windows=windows.known()).cap("wh_other") == FIRST_WINDOW


def test_only_the_most_recently_attempted_windows_are_remembered() -> None:
    windows = Windows(16, remembered=2)
    for wh in ("wh_a", "wh_b", "wh_a", "wh_c"):
        windows.ended(wh, timed_out=False)
    assert set(windows.known()) == {"wh_a", "wh_c"}


# -- FIFO and held clocks ----------------------------------------------------------------------


def test_a_candidate_that_is_not_ready_is_left_where_it_is() -> None:
    candidates = [
        Candidate("d1", "wh_f", "ws_a", ready=False),
        Candidate("d2", "wh_r", "ws_a", rate_limit=1.0, ready=False),
        Candidate("d3", "wh_a", "ws_a"),
    ]
    choice = choose(candidates, slots(), now=NOW, limit=9)
    assert choice.chosen == ["d3"]
    assert (choice.deferred, choice.reserved, choice.pushed) == ([], {}, set())


# -- rate limits -------------------------------------------------------------------------------


def test_a_rate_limit_takes_the_slot_now_and_pushes_the_rest_an_interval_apart() -> None:
    candidates = due(4, rate_limit=10.0) + due(2, "wh_b")  # one attempt per 100 ms
    choice = choose(candidates, slots(), now=NOW, limit=9)
    assert choice.chosen == ["wh_a:0", "wh_b:0", "wh_b:1"]
    assert choice.reserved == {"wh_a": NOW + 100}
    assert choice.deferred == [(NOW + 100, "wh_a:1"), (NOW + 200, "wh_a:2"), (NOW + 300, "wh_a:3")]
    assert choice.pushed == {"wh_a"}


def test_a_rate_clock_ahead_pushes_every_candidate_to_its_slot() -> None:
    candidates = due(2, rate_limit=1.0, rate_clock=NOW + 400)
    choice = choose(candidates, slots(), now=NOW, limit=9)
    assert choice.chosen == [] and choice.reserved == {}
    assert choice.deferred == [(NOW + 400, "wh_a:0"), (NOW + 1400, "wh_a:1")]


def test_a_rate_clock_that_came_due_gives_its_slot() -> None:
    choice = choose(due(1, rate_limit=2.0, rate_clock=NOW), slots(), now=NOW, limit=9)
    assert choice.chosen == ["wh_a:0"]
    assert choice.reserved == {"wh_a": NOW + 500}


def test_a_rate_limited_webhook_at_its_cap_is_not_pushed() -> None:
    choice = choose(due(3, rate_limit=10.0), slots(1, webhooks={"wh_a": 1}), now=NOW, limit=9)
    assert (choice.chosen, choice.deferred, choice.pushed) == ([], [], set())


@pytest.mark.parametrize("rate", [0.0, None])
def test_no_rate_or_zero_is_no_limit(rate: float | None) -> None:
    choice = choose(due(3, rate_limit=rate), slots(), now=NOW, limit=9)
    assert len(choice.chosen) == 3 and choice.reserved == {}


@pytest.mark.parametrize(
    ("rate", "interval"),
    [(10.0, 100), (0.001, 1_000_000), (1e4, 1), (1e9, 1), (1e-300, MAX_RATE_INTERVAL_MS)],
)
def test_rate_intervals_stay_between_a_millisecond_and_a_day(rate: float, interval: int) -> None:
    assert rate_interval(rate) == interval


@pytest.mark.parametrize("rate", [-1.0, float("nan"), float("-inf")])
def test_a_rate_that_is_not_positive_waits_a_day(rate: float) -> None:
    assert rate_interval(rate) == MAX_RATE_INTERVAL_MS


@pytest.mark.parametrize(
    ("clock", "slot"),
    [
        (None, NOW),
        (NOW - 5, NOW),
        (NOW + 5, NOW + 5),
        (NOW + MAX_RATE_INTERVAL_MS, NOW + MAX_RATE_INTERVAL_MS),
        (NOW + MAX_RATE_INTERVAL_MS + 1, NOW),  # a damaged clock is ignored
        (float("nan"), NOW),
    ],
)
def test_the_first_slot_is_the_clock_or_now(clock: float | None, slot: int) -> None:
    assert first_slot(clock, NOW) == slot


# -- the workspace share -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("share", "worker", "cap"),
    [(0.5, 128, 64), (1.0, 128, 128), (0.3, 10, 3), (0.25, 10, 3), (0.001, 8, 1), (0.5, 1, 1)],
)
def test_a_workspace_gets_ceil_of_its_share_and_at_least_one_slot(
    share: float, worker: int, cap: int
) -> None:
    assert workspace_slots(share, worker) == cap


# -- properties --------------------------------------------------------------------------------

WEBHOOKS = {"wh_a": "ws_a", "wh_b": "ws_a", "wh_c": "ws_b", "wh_d": "ws_b"}


@st.composite
def queues(draw: st.DrawFn) -> list[Candidate]:
    """Due candidates in queue order; each webhook with one workspace, rate and clock."""
    rates = {wh: draw(st.sampled_from([None, 0.5, 10.0, 1e4])) for wh in WEBHOOKS}
    clocks = {
        wh: draw(st.one_of(st.none(), st.integers(NOW - 1000, NOW + 5000))) for wh in WEBHOOKS
    }
    rows = draw(st.lists(st.tuples(st.sampled_from(sorted(WEBHOOKS)), st.booleans()), max_size=40))
    return [
        Candidate(f"d{n}", wh, WEBHOOKS[wh], rates[wh], clocks[wh], ready)
        for n, (wh, ready) in enumerate(rows)
    ]


@given(
    candidates=queues(),
    per_webhook=st.integers(1, 6),
    per_workspace=st.integers(1, 10),
    busy_webhooks=st.dictionaries(st.sampled_from(sorted(WEBHOOKS)), st.integers(0, 6)),
    busy_workspaces=st.dictionaries(st.sampled_from(["ws_a", "ws_b"]), st.integers(0, 10)),
    limit=st.integers(0, 30),
)
def test_a_choice_keeps_every_cap_and_the_queue_order(
    candidates: list[Candidate],
    per_webhook: int,
    per_workspace: int,
    busy_webhooks: dict[str, int],
    busy_workspaces: dict[str, int],
    limit: int,
) -> None:
    choice = choose(
        candidates,
        Slots(per_webhook, per_workspace, busy_webhooks, busy_workspaces),
        now=NOW,
        limit=limit,
    )

    by_id = {c.id: c for c in candidates}
    chosen = set(choice.chosen)
    assert chosen <= by_id.keys()
    assert len(choice.chosen) == len(chosen) <= limit
    assert choice.chosen == [c.id for c in candidates if c.id in chosen]  # queue order
    assert all(by_id[i].ready for i in chosen)
    per_wh = Counter(by_id[i].webhook_id for i in chosen)
    per_ws = Counter(by_id[i].workspace_id for i in chosen)
    for wh in WEBHOOKS:
        assert per_wh[wh] == 0 or busy_webhooks.get(wh, 0) + per_wh[wh] <= per_webhook
        assert choice.slots.webhooks.get(wh, 0) == busy_webhooks.get(wh, 0) + per_wh[wh]
    for ws in ("ws_a", "ws_b"):
        assert per_ws[ws] == 0 or busy_workspaces.get(ws, 0) + per_ws[ws] <= per_workspace
        assert choice.slots.workspaces.get(ws, 0) == busy_workspaces.get(ws, 0) + per_ws[ws]
    # A rate-limited webhook gets at most one slot now, the rest are pushed an interval apart.
    deferred = [i for _, i in choice.deferred]
    assert not set(deferred) & chosen
    assert all(by_id[i].ready and by_id[i].rate_limit for i in deferred)
    assert choice.pushed == {by_id[i].webhook_id for i in deferred}
    for wh in WEBHOOKS:
        rate = next((c.rate_limit for c in candidates if c.webhook_id == wh), None)
        if not rate:
            continue
        assert per_wh[wh] <= 1
        taken = [NOW] if per_wh[wh] else []
        slots_of = taken + [slot for slot, i in choice.deferred if by_id[i].webhook_id == wh]
        assert all(slot > NOW for slot in slots_of[len(taken) :])
        gaps = [b - a for a, b in itertools.pairwise(slots_of)]
        assert gaps == [rate_interval(rate)] * len(gaps)
        assert choice.reserved.get(wh) == (NOW + rate_interval(rate) if per_wh[wh] else None)


def test_expired_candidates_are_ended_not_taken_and_take_no_slot() -> None:
    fresh = due(2)
    stale = [
        Candidate("old:0", "wh_a", "ws_a", expires_at=NOW - 1),
        Candidate("old:1", "wh_b", "ws_a", rate_limit=1.0, expires_at=NOW - 1000),
    ]
    just_in_time = Candidate("edge", "wh_a", "ws_a", expires_at=NOW)
    choice = choose(
        [stale[0], *fresh, stale[1], just_in_time], slots(per_webhook=3), now=NOW, limit=3
    )
    assert choice.chosen == ["wh_a:0", "wh_a:1", "edge"]
    assert choice.expired == ["old:0", "old:1"]
    assert choice.reserved == {}  # an expired candidate reserves no rate-limit slot
    assert choice.slots.webhooks == {"wh_a": 3}


def test_an_expired_candidate_behind_a_fifo_head_or_a_full_webhook_still_ends() -> None:
    blocked = Candidate("held:0", "wh_a", "ws_a", ready=False, expires_at=NOW - 1)
    full = Candidate("full:0", "wh_b", "ws_a", expires_at=NOW - 1)
    choice = choose([blocked, full], slots(per_webhook=1, webhooks={"wh_b": 1}), now=NOW, limit=5)
    assert choice.chosen == []
    assert choice.expired == ["held:0", "full:0"]
