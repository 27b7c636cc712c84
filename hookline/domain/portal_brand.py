"""The customer portal's brand: how the portal looks to a product's customers. Pure.

A brand is JSON: the deployment's (``HOOKLINE_PORTAL_BRAND``) with a workspace's
``settings.portal`` over it, field by field. Every field may be left out:

    name         the product's name, shown in the header instead of Hookline's
    logo         an https:// image URL, or an inline SVG document (shown as an image,
                 never placed in the page, so it cannot run scripts)
    accentColor  "#rrggbb" or "#rgb": links, buttons and the current tab
    theme        "light" or "dark"
    title        the page title after each page's own ("Webhooks · <title>"); default: name
    footerLinks  [{"text": "Help", "url": "https://…"}]; [] for no footer
    terms        the words customers see: {"endpoint": "integration", "webhook": "integration"}
                 (plurals "endpoints", "webhooks" default to the word with an "s")

``parse_brand`` turns the JSON into a ``BrandLayer`` or says every rule it breaks;
``PortalBrand.over`` puts a layer over a brand. A brand with a name or a logo is *set*: the
portal then shows no Hookline name or mark.
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit

MAX_NAME = 60
MAX_TITLE = 80
MAX_URL = 2048
MAX_SVG = 16 * 1024
MAX_FOOTER_LINKS = 5
MAX_LINK_TEXT = 40
MAX_TERM = 30
COLOR_RE = re.compile(r"#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})")
TERM_RE = re.compile(r"[^\W\d_][\w' -]*", re.UNICODE)
# Whatever could make an SVG active if it were ever opened as a document of its own.
SVG_ACTIVE = re.compile(
    r"<\s*(script|foreignobject|iframe|embed|object|use|image|animate|set)\b|\bon\w+\s*="
    r"|javascript:|<!entity|<!doctype|xlink:href|\bhref\s*=",
    re.IGNORECASE,
)
SVG_NS = 'xmlns="http://www.w3.org/2000/svg"'
FIELDS = ("name", "logo", "accentColor", "theme", "title", "footerLinks", "terms")
TERMS = ("endpoint", "endpoints", "webhook", "webhooks")


class Theme(StrEnum):
    LIGHT = "light"
    DARK = "dark"


@dataclass(frozen=True, kw_only=True, slots=True)
class Logo:
    """An image URL, or an inline SVG document."""

    url: str | None = None
    svg: str | None = None

    @property
    def src(self) -> str:
        """What an ``<img src>`` shows: the URL, or the SVG as a data: URL."""
        if self.url is not None:
            return self.url
        encoded = base64.b64encode((self.svg or "").encode()).decode()
        return f"data:image/svg+xml;base64,{encoded}"

    @property
    def origin(self) -> str | None:
        """The origin the image is loaded from (None: inline)."""
        if self.url is None:
            return None
        parts = urlsplit(self.url)
        return f"{parts.scheme}://{parts.netloc}"

    def to_json(self) -> str:
        return self.url if self.url is not None else self.svg or ""


@dataclass(frozen=True, kw_only=True, slots=True)
class FooterLink:
    text: str
    url: str


@dataclass(frozen=True, kw_only=True, slots=True)
class Accent:
    """An accent colour with the shade for hovering and the text colour that reads on it."""

    color: str

    @property
    def rgb(self) -> tuple[int, int, int]:
        digits = self.color[1:]
        if len(digits) == 3:
            digits = "".join(c * 2 for c in digits)
        return int(digits[0:2], 16), int(digits[2:4], 16), int(digits[4:6], 16)

    @property
    def dark(self) -> str:
        return "#" + "".join(f"{int(c * 0.78):02x}" for c in self.rgb)

    @property
    def light(self) -> str:
        """The colour lightened, for links on a dark page."""
        return "#" + "".join(f"{c + (255 - c) * 45 // 100:02x}" for c in self.rgb)

    @property
    def on(self) -> str:
        """Black or white, whichever contrasts more with the colour (WCAG luminance)."""

        def linear(c: int) -> float:
            s = c / 255
            return s / 12.92 if s <= 0.03928 else ((s + 0.055) / 1.055) ** 2.4

        r, g, b = (linear(c) for c in self.rgb)
        luminance = 0.2126 * r + 0.7152 * g + 0.0722 * b
        return "#111111" if (luminance + 0.05) / 0.05 > 1.05 / (luminance + 0.05) else "#ffffff"


@dataclass(frozen=True, kw_only=True, slots=True)
class Terms:
    """The words customers see for an endpoint and a webhook, lower case and plural too;
    the capitalised properties are the words as a heading or a button writes them."""

    endpoint: str = "endpoint"
    endpoints: str = "endpoints"
    webhook: str = "webhook"
    webhooks: str = "webhooks"

    @property
    def Endpoint(self) -> str:
        return _capital(self.endpoint)

    @property
    def Endpoints(self) -> str:
        return _capital(self.endpoints)

    @property
    def Webhook(self) -> str:
        return _capital(self.webhook)

    @property
    def Webhooks(self) -> str:
        return _capital(self.webhooks)

    @property
    def list_heading(self) -> str:
        """The heading of the endpoints page: "Webhook Endpoints", or the product's words."""
        if self.webhook == self.endpoint:
            return self.Endpoints
        return f"{self.Webhook} {self.Endpoints}"

    def to_json(self) -> dict[str, str]:
        return {name: getattr(self, name) for name in TERMS}


def _capital(word: str) -> str:
    return word[:1].upper() + word[1:]


@dataclass(frozen=True, kw_only=True, slots=True)
class BrandLayer:
    """A brand's fields as given; a field left out (None) comes from the layer below."""

    name: str | None = None
    logo: Logo | None = None
    accent: Accent | None = None
    theme: Theme | None = None
    title: str | None = None
    footer: tuple[FooterLink, ...] | None = None
    terms: Terms | None = None
    nulls: frozenset[str] = frozenset()  # the fields given as null, shown as given

    def to_json(self) -> dict[str, Any]:
        fields: dict[str, Any] = {
            "name": self.name,
            "logo": None if self.logo is None else self.logo.to_json(),
            "accentColor": None if self.accent is None else self.accent.color,
            "theme": None if self.theme is None else self.theme.value,
            "title": self.title,
            "footerLinks": None
            if self.footer is None
            else [{"text": link.text, "url": link.url} for link in self.footer],
            "terms": None if self.terms is None else self.terms.to_json(),
        }
        return {k: v for k, v in fields.items() if v is not None or k in self.nulls}


@dataclass(frozen=True, kw_only=True, slots=True)
class PortalBrand:
    """The portal's look, every field decided. The default is Hookline's own."""

    name: str | None = None
    logo: Logo | None = None
    accent: Accent | None = None
    theme: Theme = Theme.LIGHT
    title: str | None = None
    footer: tuple[FooterLink, ...] | None = None
    terms: Terms = field(default_factory=Terms)

    @property
    def is_set(self) -> bool:
        """A product's brand: no Hookline name or mark is shown."""
        return self.name is not None or self.logo is not None

    @property
    def product(self) -> str:
        """What a page calls the service that delivers: the brand's name, Hookline when no
        brand is set (a brand with only a logo: "the webhook service")."""
        if self.name:
            return self.name
        return "the webhook service" if self.is_set else "Hookline"

    @property
    def page_title(self) -> str:
        return self.title or self.name or ("Webhooks" if self.is_set else "Hookline")

    def over(self, layer: BrandLayer | None) -> PortalBrand:
        if layer is None:
            return self
        return replace(
            self,
            name=layer.name or self.name,
            logo=layer.logo or self.logo,
            accent=layer.accent or self.accent,
            theme=layer.theme or self.theme,
            title=layer.title or self.title,
            footer=self.footer if layer.footer is None else layer.footer,
            terms=layer.terms or self.terms,
        )


class InvalidBrand(ValueError):
    """A brand breaks its rules; ``problems`` are human-readable, one per rule."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def parse_brand(raw: Any, name: str) -> BrandLayer:
    """The brand layer JSON ``raw`` gives; ``InvalidBrand`` saying every rule it breaks.
    ``name`` is what the messages call it (``settings.portal``)."""
    problems = brand_problems(raw, name)
    if problems:
        raise InvalidBrand(problems)
    return load_brand(raw)


def brand_problems(raw: Any, name: str) -> list[str]:
    """Human-readable problems with a JSON brand; empty when valid."""
    if not isinstance(raw, dict):
        return [f"{name} must be an object"]
    problems = [f"{name}.{k} is not a known field" for k in raw if k not in FIELDS]
    problems += _text_problem(raw.get("name"), f"{name}.name", MAX_NAME)
    problems += _text_problem(raw.get("title"), f"{name}.title", MAX_TITLE)
    logo = raw.get("logo")
    if logo is not None:
        problems += _logo_problems(logo, f"{name}.logo")
    color = raw.get("accentColor")
    if color is not None and not (isinstance(color, str) and COLOR_RE.fullmatch(color)):
        problems.append(f"{name}.accentColor must be a colour like #0a7d5a or #0a7")
    theme = raw.get("theme")
    if theme is not None and theme not in {t.value for t in Theme}:
        problems.append(f"{name}.theme must be light or dark")
    links = raw.get("footerLinks")
    if links is not None:
        problems += _footer_problems(links, f"{name}.footerLinks")
    terms = raw.get("terms")
    if terms is not None:
        problems += _terms_problems(terms, f"{name}.terms")
    return problems


def load_brand(raw: dict[str, Any]) -> BrandLayer:
    """The brand layer a stored (already checked) JSON value holds."""
    logo, color, theme = raw.get("logo"), raw.get("accentColor"), raw.get("theme")
    links, terms = raw.get("footerLinks"), raw.get("terms")
    return BrandLayer(
        name=raw.get("name"),
        logo=None if logo is None else _logo(logo),
        accent=None if color is None else Accent(color=color.lower()),
        theme=None if theme is None else Theme(theme),
        title=raw.get("title"),
        footer=None
        if links is None
        else tuple(FooterLink(text=link["text"], url=link["url"]) for link in links),
        terms=None if terms is None else _terms(terms),
        nulls=frozenset(k for k, v in raw.items() if v is None),
    )


def _logo(value: str) -> Logo:
    text = value.strip()
    return Logo(svg=text) if text.startswith("<") else Logo(url=text)


def _terms(raw: dict[str, str]) -> Terms:
    endpoint, webhook = raw.get("endpoint", "endpoint"), raw.get("webhook", "webhook")
    return Terms(
        endpoint=endpoint,
        endpoints=raw.get("endpoints", f"{endpoint}s"),
        webhook=webhook,
        webhooks=raw.get("webhooks", f"{webhook}s"),
    )


def _text_problem(value: Any, name: str, limit: int) -> list[str]:
    if value is None:
        return []
    if not (isinstance(value, str) and value.strip() and len(value) <= limit):
        return [f"{name} must be 1-{limit} characters"]
    if not value.isprintable():
        return [f"{name} must be printable characters"]
    return []


def _https_url(value: Any, *, mailto: bool = False) -> bool:
    if not (isinstance(value, str) and 0 < len(value) <= MAX_URL and value.isprintable()):
        return False
    if mailto and value.startswith("mailto:") and "@" in value:
        return True
    parts = urlsplit(value)
    return parts.scheme in ("https", "http") and bool(parts.hostname) and " " not in value


def _logo_problems(value: Any, name: str) -> list[str]:
    if not isinstance(value, str):
        return [f"{name} must be an https:// image URL or an inline SVG document"]
    text = value.strip()
    if not text.startswith("<"):
        if not (_https_url(text) and text.startswith("https://")):
            return [f"{name} must be an https:// image URL or an inline SVG document"]
        return []
    if len(text.encode()) > MAX_SVG:
        return [f"{name} as inline SVG is at most {MAX_SVG // 1024} KiB"]
    if not (re.match(r"<svg[\s>]", text) and text.endswith("</svg>")):
        return [f"{name} as inline SVG must be one <svg>…</svg> element"]
    if SVG_NS not in text.split(">", 1)[0]:
        return [f'{name} as inline SVG must declare xmlns="http://www.w3.org/2000/svg"']
    active = SVG_ACTIVE.search(text)
    if active:
        return [
            f"{name} as inline SVG may not contain {active.group(0).strip()!r}: "
            "only shapes, text and styles are shown"
        ]
    return []


def _footer_problems(value: Any, name: str) -> list[str]:
    if not isinstance(value, list) or len(value) > MAX_FOOTER_LINKS:
        return [f"{name} must be a list of at most {MAX_FOOTER_LINKS} links ([] for no footer)"]
    problems = []
    for n, link in enumerate(value):
        where = f"{name}[{n}]"
        if not isinstance(link, dict) or set(link) != {"text", "url"}:
            problems.append(f'{where} must be {{"text": …, "url": …}}')
            continue
        problems += _text_problem(link["text"], f"{where}.text", MAX_LINK_TEXT)
        if not _https_url(link["url"], mailto=True):
            problems.append(f"{where}.url must be an https://, http:// or mailto: URL")
    return problems


def _terms_problems(value: Any, name: str) -> list[str]:
    if not isinstance(value, dict):
        return [f"{name} must be an object"]
    problems = [f"{name}.{k} is not a known term" for k in value if k not in TERMS]
    for key in TERMS:
        word = value.get(key)
        if word is None and key in value:
            problems.append(f"{name}.{key} must be a word, not null")
        elif word is not None and not (
            isinstance(word, str) and len(word) <= MAX_TERM and TERM_RE.fullmatch(word)
        ):
            problems.append(f"{name}.{key} must be 1-{MAX_TERM} letters, spaces or dashes")
    return problems
