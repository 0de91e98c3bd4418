"""Which servers the client may send a token or a secret to.

- A URL the user pins (``api_domain``, ``accounts_url``) may be any https server; plain http only on a loopback
  host (a fake server or a local proxy on this machine), where nothing crosses a network in the clear.
- The ``api_domain`` a token response names is taken only when it is https on one of Zoho's API domains
  (``*.zohoapis.<tld>`` for the data centres Zoho documents, or ``zohoapis.<tld>`` itself), or, when the user
  pinned an accounts server on this machine (a fake), a server on this machine. Anything else would let whoever
  answered the token request (or altered its answer) receive every later request's Authorization header.
"""

from __future__ import annotations

import ipaddress
import urllib.parse

from ._config import DATA_CENTRES

__all__ = ["checked_pinned_url", "is_local_origin", "is_zoho_api_domain"]

#: ``zohoapis.com``, ``zohoapis.eu``, ... the registrable API domains of every data centre.
_ZOHO_API_SUFFIXES = frozenset(
    urllib.parse.urlsplit(dc.api_domain).hostname.partition(".")[2]  # type: ignore[union-attr]
    for dc in DATA_CENTRES.values()
)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def is_local_origin(url: str) -> bool:
    """Whether ``url`` is http or https on a loopback host: nothing sent there leaves this machine."""
    try:
        parts = urllib.parse.urlsplit(url)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and is_loopback(parts.hostname or "")


def checked_pinned_url(url: str, what: str) -> str:
    """``url`` without a trailing slash, if the user may pin it; else ``ValueError`` naming ``what``."""
    parts = urllib.parse.urlsplit(url.strip())
    host = parts.hostname or ""
    if parts.scheme == "https" and host:
        return url.strip().rstrip("/")
    if parts.scheme == "http" and host and is_loopback(host):
        return url.strip().rstrip("/")
    if parts.scheme == "http" and host:
        raise ValueError(f"{what} must be https (plain http is allowed only on this machine: 127.0.0.1, ::1, "
                         f"localhost), got {url!r}")
    raise ValueError(f"{what} must be an https URL with a host, got {url!r}")


def is_zoho_api_domain(url: str) -> bool:
    """Whether a token response's ``api_domain`` is an https origin on one of Zoho's API domains."""
    try:
        parts = urllib.parse.urlsplit(url)
        port = parts.port
    except ValueError:
        return False
    host = (parts.hostname or "").lower()
    if parts.scheme != "https" or port not in (None, 443) or parts.path not in ("", "/"):
        return False
    if parts.query or parts.fragment or parts.username or parts.password:
        return False
    return host in _ZOHO_API_SUFFIXES or any(host.endswith(f".{suffix}") for suffix in _ZOHO_API_SUFFIXES)
