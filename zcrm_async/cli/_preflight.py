"""Whether a server can be reached at all (a TCP connection), asked before a command does any work."""

from __future__ import annotations

import urllib.parse

import anyio

from ._failures import RunFailure

__all__ = ["REACH_TIMEOUT", "reach"]

#: How long reaching a server may take before it counts as unreachable.
REACH_TIMEOUT = 10.0


async def reach(url: str, what: str) -> None:
    """Open (and close) a TCP connection to the server of ``url``.

    Raises:
        RunFailure: it cannot be reached within ``REACH_TIMEOUT``, naming it and why.
    """
    parts = urllib.parse.urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        with anyio.fail_after(REACH_TIMEOUT):
            stream = await anyio.connect_tcp(parts.hostname or "", port)
    except TimeoutError:
        raise RunFailure(f"cannot reach {what} {url}: no answer within {REACH_TIMEOUT:.0f} s") from None
    except OSError as exc:
        raise RunFailure(f"cannot reach {what} {url}: {exc.strerror or exc}") from None
    await stream.aclose()
