"""Markdown to HTML that is safe to show patients.

markdown-it-py (CommonMark) renders with raw HTML switched off, so markup typed into an article
is shown as text; nh3 (the ammonia sanitiser) then keeps only the tags an article needs, and
links only to http(s) and mailto addresses.
"""

import html
import re

import nh3
from markdown_it import MarkdownIt

_MARKDOWN = MarkdownIt("commonmark", {"html": False})
TAGS = {
    "p", "h2", "h3", "h4", "ul", "ol", "li", "strong", "em", "a", "blockquote", "br", "hr",
    "code", "pre",
}  # fmt: skip
URL_SCHEMES = {"http", "https", "mailto"}


def render(text: str) -> str:
    """The article's Markdown as sanitised HTML."""
    return nh3.clean(
        _MARKDOWN.render(text),
        tags=TAGS,
        attributes={"a": {"href"}},
        url_schemes=URL_SCHEMES,
        attribute_filter=_full_addresses_only,
        link_rel="noopener noreferrer",
    )


def _full_addresses_only(tag: str, attribute: str, value: str) -> str | None:
    # nh3 checks the scheme of absolute links but lets relative ones through: drop those too.
    if attribute == "href" and value.split(":", 1)[0].lower() not in URL_SCHEMES:
        return None
    return value


_LINK_TARGETS = re.compile(r"\]\(\s*<?([^)\s>]*)|<([a-zA-Z][a-zA-Z0-9+.-]*:[^>\s]*)>")


def links(text: str) -> list[str]:
    """Every link target written in the Markdown, in order, including those the renderer
    would refuse to make a link of (such as javascript: addresses)."""
    return [inline or auto for inline, auto in _LINK_TARGETS.findall(text)]


def bad_links(text: str) -> list[str]:
    """Links a patient could not follow safely: anything but a full http(s) or mailto address."""
    good = re.compile(r"(https?://[^\s/]+\.[^\s]+|mailto:[^\s@]+@[^\s@]+\.[^\s@]+)")
    return [href for href in links(text) if not good.fullmatch(href)]


def plain_text(text: str) -> str:
    """The words of the article, without markup: what its reading age is measured on."""
    return html.unescape(re.sub(r"<[^>]+>", " ", render(text)))
