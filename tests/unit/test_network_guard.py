from __future__ import annotations

import ipaddress
from typing import Any

import pytest

from hookline.domain.network_guard import (
    MAX_URL,
    check_url,
    ip_literal,
    is_blocked,
    parse_networks,
    url_hint,
)
from hookline.errors import Invalid

BLOCKED_HOSTS = [
    "127.0.0.1",
    "127.1.2.3",
    "10.0.0.1",
    "10.255.255.255",
    "172.16.0.1",
    "192.168.1.1",
    "169.254.169.254",
    "0.0.0.0",
    "100.64.0.1",
    "100.127.255.254",
    "224.0.0.1",
    "255.255.255.255",
    "198.18.0.1",
    "[::1]",
    "[::]",
    "[::ffff:127.0.0.1]",
    "[::ffff:7f00:1]",
    "[::ffff:10.0.0.1]",
    "[::ffff:169.254.169.254]",
    "[fd00::1]",
    "[fc00::1]",
    "[fe80::1]",
    "[ff02::1]",
    "[fd00:ec2::254]",
    "[2002:7f00:1::]",
    "[64:ff9b::a00:1]",
    "2130706433",
    "0177.0.0.1",
    "0x7f.1",
    "0x7f000001",
    "127.1",
    "0",
    "localhost",
    "LOCALHOST",
    "localhost.",
    "localhost.localdomain",
]


def check(url: str, **kwargs: object) -> None:
    options: dict[str, object] = {"allow_http": False, "open_network": False, **kwargs}
    check_url(url, **options)  # type: ignore[arg-type]


def code_of(url: str, **kwargs: object) -> str:
    with pytest.raises(Invalid) as caught:
        check(url, **kwargs)
    return caught.value.error_code


@pytest.mark.parametrize(
    "url",
    [
        "https://example.com/hook",
        "https://example.com:8443/a/b?c=d#e",
        "https://93.184.216.34/hook",
        "https://[2606:4700::1111]/hook",
        "https://xn--bcher-kva.example/",
        "https://" + "a" * (MAX_URL - len("https://") - 1) + "/",
    ],
)
def test_public_https_urls_pass(url: str) -> None:
    check(url)


@pytest.mark.parametrize(
    "url",
    ["http://example.com/hook", "ftp://example.com/", "example.com/hook", "https:///path", "//x/"],
)
def test_https_is_required(url: str) -> None:
    assert code_of(url) == "https_required"


def test_http_is_allowed_when_asked() -> None:
    check("http://example.com/hook", allow_http=True)
    # Allowing http does not open the network.
    assert code_of("http://127.0.0.1/", allow_http=True) == "url_not_allowed"


@pytest.mark.parametrize(
    "url",
    [
        "https://user:pass@example.com/",
        "https://user@example.com/",
        "https://:pass@example.com/",
        "https://exa mple.com/",
        "https://example.com/\nX-Injected: 1",
        "https://example.com:99999/",
        "https://example.com:port/",
        "https://[::1/",
        "https://" + "a" * MAX_URL + ".com/",
    ],
)
def test_invalid_urls(url: str) -> None:
    assert code_of(url) == "invalid_url"


def test_credentials_are_refused_even_in_dev() -> None:
    assert code_of("https://u:p@127.0.0.1/", open_network=True) == "invalid_url"


@pytest.mark.parametrize("host", BLOCKED_HOSTS)
def test_private_and_reserved_literals_are_refused(host: str) -> None:
    assert code_of(f"https://{host}/hook") == "url_not_allowed"
    assert code_of(f"https://{host}:8443/hook") == "url_not_allowed"


@pytest.mark.parametrize("host", BLOCKED_HOSTS)
def test_dev_mode_opens_the_network(host: str) -> None:
    check(f"https://{host}/hook", open_network=True)
    check(f"http://{host}:9000/hook", open_network=True, allow_http=True)


def test_an_allow_list_opens_only_its_networks() -> None:
    allowed = parse_networks(["10.0.0.0/8", "fd00::/8"])
    check("https://10.1.2.3/", allowed=allowed)
    check("https://[::ffff:10.1.2.3]/", allowed=allowed)
    check("https://[fd00::1]/", allowed=allowed)
    check("https://012.1/", allowed=allowed)  # octal 10.0.0.1
    assert code_of("https://127.0.0.1/", allowed=allowed) == "url_not_allowed"
    assert code_of("https://192.168.0.1/", allowed=allowed) == "url_not_allowed"
    assert code_of("https://localhost/", allowed=allowed) == "url_not_allowed"


def test_parse_networks_is_lenient_about_host_bits() -> None:
    assert parse_networks(["10.1.2.3/8"]) == (ipaddress.ip_network("10.0.0.0/8"),)
    with pytest.raises(ValueError, match="does not appear to be an IPv4 or IPv6 network"):
        parse_networks(["not-a-network"])


@pytest.mark.parametrize(
    ("host", "address"),
    [
        ("127.0.0.1", "127.0.0.1"),
        ("2130706433", "127.0.0.1"),
        ("0177.0.0.1", "127.0.0.1"),
        ("0x7f.1", "127.0.0.1"),
        ("[::1]", "::1"),
        ("::ffff:127.0.0.1", "::ffff:127.0.0.1"),
        ("example.com", None),
        ("1.2.3.4.5", None),
        ("localhost", None),
    ],
)
def test_ip_literal(host: str, address: str | None) -> None:
    found = ip_literal(host)
    assert found == (ipaddress.ip_address(address) if address else None)


@pytest.mark.parametrize(
    ("address", "blocked"),
    [
        ("8.8.8.8", False),
        ("93.184.216.34", False),
        ("2606:4700::1111", False),
        ("::ffff:8.8.8.8", False),
        ("127.0.0.1", True),
        ("169.254.169.254", True),
        ("100.64.0.1", True),
        ("::ffff:127.0.0.1", True),
        ("fd00::1", True),
        ("fe80::1", True),
        ("::", True),
        ("2001:db8::1", True),
    ],
)
def test_is_blocked(address: str, blocked: bool) -> None:
    assert is_blocked(ipaddress.ip_address(address)) is blocked


def test_is_blocked_honours_the_allow_list() -> None:
    allowed = parse_networks(["127.0.0.0/8"])
    assert not is_blocked(ipaddress.ip_address("127.0.0.1"), allowed)
    assert not is_blocked(ipaddress.ip_address("::ffff:127.0.0.1"), allowed)
    assert is_blocked(ipaddress.ip_address("10.0.0.1"), allowed)


def refusal(url: str, **rules: Any) -> tuple[str, str]:
    with pytest.raises(Invalid) as caught:
        check_url(url, **{"allow_http": False, "open_network": False, **rules})
    return caught.value.error_code, str(caught.value)


@pytest.mark.parametrize(
    ("rules", "message"),
    [
        ({}, "The URL must be an absolute https:// URL."),
        ({"allow_http": True}, "The URL must be an absolute http:// or https:// URL."),
        (
            {"allow_http": True, "open_network": True},
            "The URL must be an absolute http:// or https:// URL.",
        ),
    ],
)
def test_a_url_without_a_scheme_is_told_the_schemes_this_deployment_takes(
    rules: dict[str, bool], message: str
) -> None:
    assert refusal("example.com/hook", **rules) == ("https_required", message)
    assert refusal("ftp://example.com/hook", **rules) == ("https_required", message)


def test_a_refused_address_names_the_networks_this_deployment_opens() -> None:
    assert refusal("https://10.0.0.1/h") == (
        "url_not_allowed",
        "The URL points at 10.0.0.1, a private or reserved address.",
    )
    allowed = parse_networks(["192.168.7.0/24", "127.0.0.0/8"])
    assert refusal("https://10.0.0.1/h", allowed=allowed) == (
        "url_not_allowed",
        "The URL points at 10.0.0.1, a private or reserved address, outside the networks "
        "this deployment allows (192.168.7.0/24, 127.0.0.0/8).",
    )
    assert check_url("https://127.0.0.1:9000/h", allow_http=False, open_network=False,
                     allowed=allowed) == "https://127.0.0.1:9000/h"  # fmt: skip


def test_localhost_is_refused_saying_what_this_deployment_allows_instead() -> None:
    assert refusal("https://localhost/h") == ("url_not_allowed", "The URL points at localhost.")
    lan = parse_networks(["192.168.7.0/24"])
    assert refusal("https://localhost/h", allowed=lan) == (
        "url_not_allowed",
        "The URL points at localhost, outside the networks this deployment allows "
        "(192.168.7.0/24).",
    )
    for loopback in ("127.0.0.0/8", "::1/128"):
        assert refusal("https://localhost:9000/h", allowed=parse_networks([loopback])) == (
            "url_not_allowed",
            "The URL points at localhost: give the loopback address instead (this deployment "
            f"allows {loopback}).",
        )


def test_the_url_hint_says_what_each_deployment_allows() -> None:
    assert url_hint(allow_http=False, open_network=False) == (
        "An absolute https:// URL. Private and loopback addresses are refused."
    )
    assert url_hint(allow_http=True, open_network=False) == (
        "An absolute https:// or http:// URL (http:// is allowed on this deployment). "
        "Private and loopback addresses are refused."
    )
    opened = url_hint(allow_http=False, open_network=False, allowed=parse_networks(["127.0.0.0/8"]))
    assert opened == (
        "An absolute https:// URL. Private and loopback addresses are refused, except in "
        "127.0.0.0/8, which this deployment allows."
    )
    dev = url_hint(allow_http=True, open_network=True)
    assert dev.startswith("An absolute http:// or https:// URL. Development mode:")
