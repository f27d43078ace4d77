"""Article bodies are HTML that editors write; what reaches an agent's panel is only a small
set of harmless tags, so a pasted script, handler or `javascript:` link never runs there.

nh3 (the Ammonia sanitiser) parses the HTML as a browser would, which a hand-written filter
cannot be trusted to do.
"""

from __future__ import annotations

import nh3

TAGS = frozenset(
    {"p", "br", "strong", "em", "u", "ul", "ol", "li", "h3", "h4", "blockquote", "a", "table"}
    | {"thead", "tbody", "tr", "th", "td"}
)
ATTRIBUTES = {"a": {"href", "title"}, "td": {"colspan"}, "th": {"colspan"}}
URL_SCHEMES = frozenset({"https", "http", "mailto", "tel"})


def sanitise(html: str) -> str:
    """The body with only the allowed tags and attributes; links open nothing but the web,
    mail and the telephone, and never hand the panel's window to the page they open."""
    return nh3.clean(
        html.replace("\x00", ""),
        tags=set(TAGS),
        attributes={tag: set(names) for tag, names in ATTRIBUTES.items()},
        url_schemes=set(URL_SCHEMES),
        link_rel="noopener noreferrer nofollow",
    )
