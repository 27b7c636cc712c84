"""The egress proxy settings: the proxy URL, the no-proxy list, and how both are refused."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from pydantic import ValidationError

from hookline.cli import main
from hookline.domain.egress_proxy import NoProxy, parse_no_proxy, parse_proxy
from hookline.settings import Settings


@pytest.mark.parametrize(
    ("value", "scheme", "host", "port"),
    [
        ("http://proxy.internal:3128", "http", "proxy.internal", 3128),
        ("HTTPS://Proxy.Internal:443/", "https", "proxy.internal", 443),
        ("socks5://10.0.0.5:1080", "socks5", "10.0.0.5", 1080),
        ("socks5h://[fd00::5]:1080", "socks5h", "fd00::5", 1080),
    ],
)
def test_a_proxy_url_gives_its_scheme_host_and_port(
    value: str, scheme: str, host: str, port: int
) -> None:
    proxy = parse_proxy(value)
    assert (proxy.scheme, proxy.host, proxy.port) == (scheme, host, port)
    assert proxy.username is None and proxy.password is None
    assert proxy.is_socks == scheme.startswith("socks")
    assert proxy.remote_dns == (scheme != "socks5")


def test_the_password_never_shows() -> None:
    proxy = parse_proxy("http://hook:s%3Acret@proxy.internal:3128")
    assert (proxy.username, proxy.password) == ("hook", "s:cret")
    assert proxy.display == "http://***@proxy.internal:3128"
    assert str(proxy.url) == "http://proxy.internal:3128"
    assert "cret" not in repr(proxy)


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("ftp://proxy.internal:21", "'ftp' is not one of them"),
        ("proxy.internal:3128", "'proxy.internal' is not one of them"),
        ("//proxy.internal:3128", "a scheme is missing"),
        ("http://proxy.internal", "the port is missing"),
        ("http://hook:s3cret@proxy.internal", "the port is missing"),
        ("socks5://", "the host is missing"),
        ("http://:3128", "this one is malformed"),
        ("http://proxy.internal:99999", "this one is malformed"),
        ("http://proxy.internal:3128/path", "it has no path, query or fragment"),
        ("http://%zz:1", "the host is not a host name or an IP address"),
        ("http://hook:s3cret@%zz:1", "the host is not a host name or an IP address"),
        ("http://proxy%2einternal:3128", "the host is not a host name or an IP address"),
        ("http://a<b:3128", "the host is not a host name or an IP address"),
        ("http://proxy..internal:3128", "the host is not a host name or an IP address"),
        ("http://127.1:3128", "the host is not a host name or an IP address"),
        ("http://0x7f.0.0.1:3128", "the host is not a host name or an IP address"),
        ("http://[fe80::1%25eth0]:3128", "the host is not a host name or an IP address"),
        (f"http://{'a' * 64}.internal:3128", "the host is not a host name or an IP address"),
        ("http://xn--zz:3128", "this one is malformed"),
        ("http://proxy.internal:0", "the port must be from 1 to 65535"),
        ("socks5://hook:s3cr\u00e9t@proxy.internal:1080", "SOCKS5 user name and password"),
        (f"socks5h://{'u' * 256}:s3cret@proxy.internal:1080", "SOCKS5 user name and password"),
    ],
)
def test_a_malformed_proxy_url_says_what_is_wrong(value: str, problem: str) -> None:
    with pytest.raises(ValueError, match="HOOKLINE_EGRESS_PROXY must be a proxy URL") as caught:
        parse_proxy(value)
    assert problem in str(caught.value)
    assert "s3cr" not in str(caught.value)


@pytest.mark.parametrize(
    "value",
    [
        "http://proxy.internal.:3128",
        "http://proxy_1.internal:3128",
        "http://xn--bcher-kva.example:3128",
        "http://b\u00fccher.example:3128",
        "https://[::1]:443",
        "socks5://10.0.0.5:65535",
        "http://h\u00f6ok:s3cr\u00e9t@proxy.internal:3128",  # Basic credentials are UTF-8
    ],
)
def test_an_accepted_proxy_url_is_one_the_connector_can_use(value: str) -> None:
    """What the connector and ``hookline config`` later build from it does not fail."""
    proxy = parse_proxy(value)
    assert proxy.url.port == proxy.port
    assert proxy.display.startswith(f"{proxy.scheme}://")


@pytest.mark.parametrize(
    ("host", "bypassed"),
    [
        ("internal.example.com", True),
        ("api.internal.example.com", True),
        ("INTERNAL.example.com.", True),
        ("notinternal.example.com", False),
        ("corp.example", False),
        ("a.corp.example", True),
        ("10.1.2.3", True),
        ("11.1.2.3", False),
        ("192.0.2.7", True),
        ("192.0.2.8", False),
        ("fd00::1", True),
        ("[fd00::1]", True),
        ("example.com", False),
    ],
)
def test_no_proxy_names_hosts_suffixes_addresses_and_networks(host: str, bypassed: bool) -> None:
    no_proxy = parse_no_proxy(
        ["internal.example.com", ".corp.example", "10.0.0.0/8", "192.0.2.7", "fd00::/8"]
    )
    assert no_proxy.matches(host) is bypassed
    assert parse_proxy("http://p.example:3128", no_proxy).routes(host) is not bypassed


def test_a_star_sends_nothing_through_the_proxy() -> None:
    assert parse_no_proxy(["*"]).matches("anything.example")
    assert not NoProxy().matches("anything.example")


@pytest.mark.parametrize(
    ("entry", "problem"),
    [
        ("internal.example.com:8080", "not *, a host name"),
        ("10.0.0.0/33", "not a valid IP address or CIDR"),
        ("in ternal", "not *, a host name"),
        ("*.example.com", "not *, a host name"),
    ],
)
def test_a_malformed_no_proxy_entry_is_named(entry: str, problem: str) -> None:
    with pytest.raises(ValueError, match="HOOKLINE_EGRESS_NO_PROXY is a comma-separated list"):
        parse_no_proxy(["example.com", entry])
    with pytest.raises(ValueError, match=re.escape(f"{entry!r} is {problem}")):
        parse_no_proxy([entry])


def test_settings_read_the_proxy_and_its_no_proxy_list(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOOKLINE_EGRESS_PROXY", "socks5://hook:s3cret@10.0.0.5:1080")
    monkeypatch.setenv("HOOKLINE_EGRESS_NO_PROXY", "internal.example.com, 10.0.0.0/8")
    settings = Settings()
    egress = settings.egress
    assert egress is not None
    assert (egress.scheme, egress.host, egress.port, egress.password) == (
        "socks5",
        "10.0.0.5",
        1080,
        "s3cret",
    )
    assert not egress.routes("internal.example.com")
    assert "s3cret" not in repr(settings)
    assert Settings(egress_proxy="").egress is None


def test_config_masks_the_proxy_password(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOOKLINE_EGRESS_PROXY", "http://hook:s3cret@proxy.internal:3128")
    result = CliRunner().invoke(main, ["config"])
    assert result.exit_code == 0, result.output
    assert "s3cret" not in result.output
    assert json.loads(result.stdout)["egress_proxy"] == "http://***@proxy.internal:3128"


@pytest.mark.parametrize(
    ("name", "value", "problem"),
    [
        (
            "HOOKLINE_EGRESS_PROXY",
            "gopher://hook:s3cret@proxy.internal:70",
            "HOOKLINE_EGRESS_PROXY must be a proxy URL: a scheme (http, https, socks5, socks5h),"
            " a host and a port",
        ),
        ("HOOKLINE_EGRESS_PROXY", "http://hook:s3cret@proxy.internal", "the port is missing"),
        ("HOOKLINE_EGRESS_NO_PROXY", "example.com,10.0.0.0/33", "'10.0.0.0/33' is not a valid"),
    ],
)
def test_serve_refuses_a_malformed_proxy_setting(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, name: str, value: str, problem: str
) -> None:
    monkeypatch.setenv("HOOKLINE_DATA_DIR", str(tmp_path))
    monkeypatch.setenv(name, value)
    with pytest.raises(ValidationError, match=name):
        Settings()
    result = CliRunner().invoke(main, ["serve"])
    assert result.exit_code == 1, result.output
    assert "invalid settings" in result.output
    assert problem in result.output
    assert "s3cret" not in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "hookline.db").exists()
