"""Portal origins and brands as typed values, and the settings that refuse bad ones at start."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from hookline.cli import main
from hookline.domain.origins import parse_origin
from hookline.domain.portal_brand import (
    Accent,
    InvalidBrand,
    PortalBrand,
    Theme,
    brand_problems,
    parse_brand,
)
from hookline.settings import Settings

SVG = '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 4 4"><rect width="4" height="4"/></svg>'


@pytest.mark.parametrize(
    ("given", "shown"),
    [
        ("https://app.example.com", "https://app.example.com"),
        ("HTTPS://App.Example.com:443/", "https://app.example.com"),
        ("http://localhost:3000", "http://localhost:3000"),
        ("http://127.0.0.1:8080", "http://127.0.0.1:8080"),
        ("https://[::1]:8443", "https://[::1]:8443"),
    ],
)
def test_an_origin_is_written_as_browsers_write_it(given: str, shown: str) -> None:
    assert parse_origin(given).text == shown


@pytest.mark.parametrize(
    ("given", "reason"),
    [
        ("app.example.com", "the scheme must be https or http"),
        ("ftp://files.example.com", "the scheme must be https or http"),
        ("https://app.example.com/settings", "it has a path"),
        ("https://app.example.com?x=1", "query"),
        ("https://*.example.com", "is not a host name or IP address"),
        ("https://user:pw@app.example.com", "user name or password"),
        ("https://app.example.com:99999", "Port out of range"),
    ],
)
def test_what_is_not_an_origin_says_why(given: str, reason: str) -> None:
    with pytest.raises(ValueError, match=r"is not an origin") as caught:
        parse_origin(given)
    assert reason in str(caught.value)


def test_portal_origins_come_as_a_comma_list_or_json(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOOKLINE_PORTAL_ORIGINS", "https://a.example.com, http://localhost:3000")
    assert [o.text for o in Settings().portal_origins] == [
        "https://a.example.com",
        "http://localhost:3000",
    ]
    monkeypatch.setenv("HOOKLINE_PORTAL_ORIGINS", '["https://b.example.com"]')
    assert [o.text for o in Settings().portal_origins] == ["https://b.example.com"]
    monkeypatch.delenv("HOOKLINE_PORTAL_ORIGINS")
    assert Settings().portal_origins == ()


@pytest.mark.parametrize(
    ("name", "value", "said"),
    [
        ("HOOKLINE_PORTAL_ORIGINS", "https://app.example.com/admin", "it has a path"),
        ("HOOKLINE_PORTAL_BRAND", '{"accentColor": "teal"}', "accentColor must be a colour"),
        ("HOOKLINE_PORTAL_BRAND", "{nope", "HOOKLINE_PORTAL_BRAND is not valid JSON"),
    ],
)
def test_a_bad_portal_setting_stops_the_start_saying_why(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, said: str
) -> None:
    monkeypatch.setenv(name, value)
    result = CliRunner().invoke(main, ["config"])
    assert result.exit_code != 0
    assert "invalid settings" in result.output and said in result.output
    assert "Traceback" not in result.output


def test_a_workspace_brand_goes_over_the_deployment_brand_field_by_field() -> None:
    deployment = PortalBrand().over(
        parse_brand({"name": "Acme", "theme": "dark", "footerLinks": []}, "deployment")
    )
    assert deployment.is_set and deployment.page_title == "Acme"
    mine = deployment.over(parse_brand({"accentColor": "#0A7", "title": "Acme hooks"}, "w"))
    assert (mine.name, mine.theme, mine.footer, mine.page_title) == (
        "Acme",
        Theme.DARK,
        (),
        "Acme hooks",
    )
    assert mine.accent == Accent(color="#0a7")
    assert not PortalBrand().is_set and PortalBrand().page_title == "Hookline"


def test_an_inline_svg_logo_is_an_image_url_never_markup() -> None:
    layer = parse_brand({"logo": SVG}, "settings.portal")
    assert layer.logo is not None and layer.logo.origin is None
    assert layer.logo.src.startswith("data:image/svg+xml;base64,")
    assert "<svg" not in layer.logo.src


@pytest.mark.parametrize(
    "logo",
    [
        SVG.replace("<rect", "<script>alert(1)</script><rect"),
        SVG.replace("<rect", '<rect onclick="alert(1)"'),
        SVG.replace("<rect", '<a href="javascript:alert(1)"><rect') + "</a>",
        SVG.replace("<rect", '<image href="https://tracker.example/p.png"/><rect'),
        SVG.replace("<rect", "<foreignObject><div/></foreignObject><rect"),
        "<svg><rect/></svg>",
        "<html><svg/></html>",
        "http://cdn.example.com/logo.png",
        "<svg " + "x" * 20000 + "></svg>",
    ],
)
def test_a_logo_that_could_act_or_is_not_an_image_is_refused(logo: str) -> None:
    with pytest.raises(InvalidBrand) as caught:
        parse_brand({"logo": logo}, "settings.portal")
    assert caught.value.problems[0].startswith("settings.portal.logo")


def test_terms_default_their_plurals_and_capitals() -> None:
    layer = parse_brand({"terms": {"endpoint": "integration", "webhook": "integration"}}, "p")
    terms = PortalBrand().over(layer).terms
    assert (terms.endpoints, terms.Endpoint, terms.list_heading) == (
        "integrations",
        "Integration",
        "Integrations",
    )
    assert PortalBrand().terms.list_heading == "Webhook Endpoints"
    assert brand_problems({"terms": {"endpoint": "", "hook": "x"}}, "p") == [
        "p.terms.hook is not a known term",
        "p.terms.endpoint must be 1-30 letters, spaces or dashes",
    ]


def test_the_accent_reads_on_its_text_colour() -> None:
    assert Accent(color="#0a7d5a").on == "#ffffff"
    assert Accent(color="#ffd54f").on == "#111111"
    assert Accent(color="#0a7d5a").dark == "#076146"
