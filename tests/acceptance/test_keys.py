"""A process whose encryption key is not the deployment's refuses to start, and fails nothing.

Both backends: an API process and a worker started with different data directories
(each generates its own key) on one database, and one server restarted on its data
with another ``HOOKLINE_ENCRYPTION_KEY``. The refused process exits non-zero with a
message naming ``HOOKLINE_ENCRYPTION_KEY``; the delivery waiting in the queue stays
pending until a process with the right key sends it.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from support.receiver import Receiver
from support.server import Hookline

pytestmark = pytest.mark.slow


def refused(server: Hookline) -> tuple[int, str]:
    """Start ``server`` expecting it to exit before it is ready; its exit code and output."""
    try:
        with pytest.raises(AssertionError, match="hookline exited with"):
            server.start()
    finally:
        server.stop()
    assert server.proc is not None and server.proc.returncode is not None
    return server.proc.returncode, server.output()


def assert_explains_the_key(output: str) -> None:
    assert "HOOKLINE_ENCRYPTION_KEY" in output, output
    assert "Every process of a deployment" in output, output
    assert "Traceback" not in output, output


def test_a_worker_with_another_key_refuses_to_start_and_fails_no_delivery(
    tmp_path: Path, database_url: str | None, receiver: Receiver
) -> None:
    # Different data directories, one database (on SQLite: one file both are pointed at).
    shared = database_url or f"sqlite:///{tmp_path / 'shared.db'}"
    api_server = Hookline(tmp_path / "api", database_url=shared, role="api").start()
    try:
        endpoint = receiver.endpoint()
        with api_server.api() as api:
            ws = api.workspace()
            api.webhook(ws, endpoint.url)
            event = api.send(ws, "job.finished", {"job": 1})
            (dlv,) = api.deliveries_of(event["id"])

            worker = Hookline(tmp_path / "worker", database_url=shared, role="worker", http=False)
            code, output = refused(worker)
            assert code != 0, output
            assert_explains_the_key(output)
            assert "Hookline worker role on" not in output, "it started before refusing"

            waiting = api.delivery(dlv["id"])
            assert (waiting["status"], waiting["attemptCount"]) == ("pending", 0), waiting
            assert waiting["attempts"] == []
            assert endpoint.requests == []

            # The same worker given the deployment's key starts and delivers it.
            key = (tmp_path / "api" / "encryption.key").read_text().strip()
            fixed = Hookline(
                tmp_path / "worker",
                database_url=shared,
                role="worker",
                http=False,
                env={"HOOKLINE_ENCRYPTION_KEY": key},
            ).start()
            try:
                done = api.settled(dlv["id"], timeout=20)
            finally:
                assert fixed.terminate() == 0, fixed.output()
            assert (done["status"], done["attemptCount"]) == ("succeeded", 1), done
            assert len(endpoint.requests) == 1
    finally:
        assert api_server.terminate() == 0, api_server.output()


def test_a_server_restarted_with_another_key_refuses_to_start(
    tmp_path: Path, database_url: str | None, receiver: Receiver
) -> None:
    data = tmp_path / "data"
    key, other = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    endpoint = receiver.endpoint(statuses=[503], default=200)

    def server(encryption_key: str) -> Hookline:
        env = {"HOOKLINE_ENCRYPTION_KEY": encryption_key}
        return Hookline(data, database_url=database_url, env=env)

    first = server(key).start()
    try:
        with first.api() as api:
            ws = api.workspace()
            api.webhook(ws, endpoint.url, retryPolicy={"schedule": [0, 3600]})
            event = api.send(ws, "job.finished", {"job": 1})
            (dlv,) = api.deliveries_of(event["id"])
            endpoint.wait(1)  # answered 503: due again in an hour
    finally:
        assert first.terminate() == 0, first.output()

    code, output = refused(server(other))
    assert code != 0, output
    assert_explains_the_key(output)

    again = server(key).start()
    try:
        with again.api() as api:
            waiting = api.delivery(dlv["id"])
            assert (waiting["status"], waiting["attemptCount"]) == ("pending", 1), waiting
            assert waiting["lastStatusCode"] == 503
    finally:
        assert again.terminate() == 0, again.output()
