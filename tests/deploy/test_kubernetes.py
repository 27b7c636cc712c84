"""deploy/kubernetes renders, validates and runs as written.

The block of docs/deploy.md that makes `keys.env` and renders the manifests runs as written
(bash, `kubectl kustomize`) in a copy of the directory; what it prints is validated against
Kubernetes' schemas (`kubernetes-validate`, strict: no unknown field). Then the pods' commands
run as processes, the way the kubelet would run them from the image built by the Dockerfile:
the image's ENTRYPOINT with each container's args, the image's environment under the
ConfigMap and the Secret, as a user that can write nowhere (a read-only root file system),
against a real PostgreSQL in place of the URL the docs leave to the reader. The API's init
container migrates, the API and the workers come up, their probes answer and an event is
delivered. Every variable the manifests give Hookline must be a setting it reads.
"""

from __future__ import annotations

import base64
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import httpx
import kubernetes_validate  # type: ignore[import-untyped]
import pytest
import yaml
from support.deployed import (
    RECEIVER_ALLOWED,
    Launched,
    Unprivileged,
    delivers,
    doc_block,
    unknown_settings,
)
from support.images import ROOT, Image, installed, read_image
from support.net import free_port
from support.receiver import Receiver
from support.requirements import unavailable

pytestmark = pytest.mark.slow

MANIFESTS = ROOT / "deploy" / "kubernetes"
RENDER = "deploy/kubernetes/keys.env <<"


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, Any]]:
    """What the docs' block prints, run in a copy of the repository's deploy/kubernetes."""
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        unavailable("kubectl is not installed", "HOOKLINE_REQUIRE_DEPLOY")
    root = tmp_path_factory.mktemp("checkout")
    # Without a keys.env an earlier run of the docs left in the checkout: the block makes it.
    shutil.copytree(
        MANIFESTS, root / "deploy" / "kubernetes", ignore=shutil.ignore_patterns("keys.env")
    )
    done = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", doc_block(RENDER)],
        cwd=root,
        env={"PATH": os.environ["PATH"]},
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return [doc for doc in yaml.safe_load_all(done.stdout) if doc]


def of_kind(docs: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {d["metadata"]["name"]: d for d in docs if d["kind"] == kind}


def test_the_manifests_are_valid_kubernetes(rendered: list[dict[str, Any]]) -> None:
    version = kubernetes_validate.latest_version()
    for doc in rendered:
        kubernetes_validate.validate(doc, version, strict=True)
    assert sorted(d["kind"] for d in rendered) == [
        "ConfigMap",
        "Deployment",
        "Deployment",
        "Secret",
        "Service",
    ]
    assert set(of_kind(rendered, "Deployment")) == {"hookline-api", "hookline-worker"}


def environment(docs: list[dict[str, Any]], container: dict[str, Any]) -> dict[str, str]:
    """The variables a container gets from its envFrom and env (which must all be found)."""
    maps, secrets = of_kind(docs, "ConfigMap"), of_kind(docs, "Secret")
    env: dict[str, str] = {}
    for source in container.get("envFrom", []):
        if "configMapRef" in source:
            env.update(maps[source["configMapRef"]["name"]]["data"])
        else:
            data = secrets[source["secretRef"]["name"]]["data"]
            env.update({k: base64.b64decode(v).decode() for k, v in data.items()})
    env.update({e["name"]: e["value"] for e in container.get("env", [])})
    return env


def pod(docs: list[dict[str, Any]], name: str) -> dict[str, Any]:
    spec: dict[str, Any] = of_kind(docs, "Deployment")[name]["spec"]["template"]["spec"]
    return spec


def test_every_variable_is_a_setting_and_the_keys_come_from_the_secret(
    rendered: list[dict[str, Any]],
) -> None:
    for name in ("hookline-api", "hookline-worker"):
        spec = pod(rendered, name)
        for container in [*spec.get("initContainers", []), *spec["containers"]]:
            env = environment(rendered, container)
            assert unknown_settings(sorted(env)) == [], container["name"]
            assert {"HOOKLINE_DATABASE_URL", "HOOKLINE_ADMIN_KEY"} <= set(env)
            assert "HOOKLINE_ENCRYPTION_KEY" in env


def test_pods_run_as_the_images_user_on_a_read_only_root(
    rendered: list[dict[str, Any]],
) -> None:
    uid = re.search(r"useradd [^&]*--uid (\d+)", " ".join(read_image().runs))
    assert uid is not None, "the image's user has a fixed uid"
    for name in ("hookline-api", "hookline-worker"):
        spec = pod(rendered, name)
        assert spec["securityContext"]["runAsNonRoot"] is True
        assert spec["securityContext"]["runAsUser"] == int(uid[1])
        for container in [*spec.get("initContainers", []), *spec["containers"]]:
            assert container["securityContext"]["readOnlyRootFilesystem"] is True


def argv_of(image: Image, container: dict[str, Any]) -> list[str]:
    """What the kubelet runs: ``command`` or the image's ENTRYPOINT, then ``args`` or CMD."""
    return [
        *container.get("command", image.entrypoint),
        *container.get("args", [] if "command" in container else image.cmd),
    ]


def flag(argv: list[str], name: str) -> str:
    assert name in argv, f"{argv} has no {name}"
    return argv[argv.index(name) + 1]


def on(argv: list[str], name: str, value: str) -> list[str]:
    at = argv.index(name) + 1
    return [*argv[:at], value, *argv[at + 1 :]]


class Pod:
    """One Deployment's pod as processes: its init containers run to completion, then its one
    container started; probes checked against what it declares."""

    def __init__(
        self,
        docs: list[dict[str, Any]],
        name: str,
        *,
        user: Unprivileged,
        database: str,
        log_dir: Path,
    ) -> None:
        image = read_image()
        spec = pod(docs, name)
        self.user = user
        self.cwd = user.read_only_dir()  # the image's WORKDIR on a read-only root
        # The image's data directory, which a read-only root file system does not let it make.
        base = user.env(**{**image.env, "HOOKLINE_DATA_DIR": str(self.cwd / "var-lib-hookline")})

        def env_of(container: dict[str, Any]) -> dict[str, str]:
            env = {**base, **environment(docs, container), **RECEIVER_ALLOWED}
            env["HOOKLINE_DATABASE_URL"] = database
            return env

        self.init = [
            (installed(argv_of(image, c)), env_of(c)) for c in spec.get("initContainers", [])
        ]
        (container,) = spec["containers"]
        argv = argv_of(image, container)
        assert flag(argv, "--host") == "0.0.0.0", f"{name} listens on the pod's interfaces"
        (port,) = container["ports"]
        assert int(flag(argv, "--port")) == port["containerPort"]
        self.port = free_port()
        self.probes = {
            kind: container[kind]["httpGet"] for kind in ("readinessProbe", "livenessProbe")
        }
        for probe in self.probes.values():
            assert probe["port"] in (port["name"], port["containerPort"])
        argv = on(on(argv, "--host", "127.0.0.1"), "--port", str(self.port))
        self.launched = Launched(
            user.command(installed(argv)),
            env=env_of(container),
            cwd=self.cwd,
            port=self.port,
            log_dir=log_dir,
            name=name,
        )

    def __enter__(self) -> Launched:
        for argv, env in self.init:
            done = self.user.run(argv, env=env, cwd=self.cwd)
            assert done.returncode == 0, f"{argv}: {done.stdout}"
        self.launched.__enter__()
        return self.launched

    def __exit__(self, *exc: Any) -> None:
        self.launched.__exit__(*exc)
        assert list(self.cwd.iterdir()) == []  # nothing written, no data directory made

    def probe_paths(self) -> dict[str, str]:
        return {kind: probe["path"] for kind, probe in self.probes.items()}

    def probes_answer(self) -> None:
        for probe in self.probes.values():
            response = httpx.get(f"http://127.0.0.1:{self.port}{probe['path']}", timeout=5)
            assert response.status_code == 200, probe


@pytest.mark.postgres
def test_the_api_and_workers_run_on_postgresql_and_deliver(
    rendered: list[dict[str, Any]],
    user: Unprivileged,
    database: str,
    receiver: Receiver,
    tmp_path: Path,
) -> None:
    pods = {
        name: Pod(rendered, name, user=user, database=database, log_dir=tmp_path)
        for name in ("hookline-api", "hookline-worker")
    }
    api, worker = pods["hookline-api"], pods["hookline-worker"]
    for each in pods.values():
        assert each.probe_paths() == {"readinessProbe": "/readyz", "livenessProbe": "/healthz"}
    assert [argv[1:] for argv, _ in api.init] == [["migrate"]]
    with api as served, worker:
        api.probes_answer()
        worker.probes_answer()
        admin_key = environment(rendered, pod(rendered, "hookline-api")["containers"][0])
        delivers(served.base_url, admin_key["HOOKLINE_ADMIN_KEY"], receiver)


def test_workers_have_time_to_drain(rendered: list[dict[str, Any]]) -> None:
    spec = pod(rendered, "hookline-worker")
    grace = float(environment(rendered, spec["containers"][0])["HOOKLINE_SHUTDOWN_GRACE"])
    assert spec["terminationGracePeriodSeconds"] > grace
