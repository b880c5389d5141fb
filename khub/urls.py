"""Links khub stores and shows: web pages only.

A source URL comes from outside (a QCAT record, a publication's sidecar) and ends up as the
``href`` of a "source page" link. Only absolute ``http``/``https`` URLs with a host are kept:
``javascript:``, ``data:``, ``vbscript:`` and relative URLs would run script or leave the
reader's page when clicked (stored XSS; OWASP XSS Prevention Cheat Sheet, rule 5: "URL
escape ... and validate the scheme"). The check is made at ingest (the harvest, the QCAT
record reader, the sidecar reader), again when the API returns a passage, and in the page.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

_UNSAFE_CHARS = re.compile(r"[\x00-\x20\x7f<>\"'`\\]")


def http_url(value: object) -> str | None:
    """``value`` when it is an absolute http(s) URL with a host and no whitespace, control
    characters, quotes or angle brackets; otherwise None."""
    if not isinstance(value, str):
        return None
    url = value.strip()
    if not url or _UNSAFE_CHARS.search(url):
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    return url if parts.scheme.lower() in ("http", "https") and parts.netloc else None
