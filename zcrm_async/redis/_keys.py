"""Where an org's shared state lives in Redis: ``<namespace>:{<org>}:...``.

The braces are a Redis Cluster hash tag, so all of an org's keys sit in one slot and one script may touch several
of them.
"""

from __future__ import annotations


def org_prefix(namespace: str, org: str) -> str:
    for name, value in (("namespace", namespace), ("org", org)):
        if not value or "{" in value or "}" in value:
            raise ValueError(f"{name} must be a non-empty string without braces, got {value!r}")
    return f"{namespace}:{{{org}}}"


class LimiterKeys:
    __slots__ = ("adaptive", "app", "credits", "heavy", "holders", "wake")

    def __init__(self, prefix: str, client_id: str) -> None:
        #: Zoho caps calls in flight per org and app (client), and counts credits per org.
        self.app = f"{prefix}:{client_id}"
        self.holders = f"{self.app}:inflight"
        self.heavy = f"{self.app}:inflight:heavy"
        self.adaptive = f"{self.app}:limit"
        self.wake = f"{self.app}:wake"
        self.credits = f"{prefix}:credits"


def text(value: bytes | str) -> str:
    # Replies are bytes, or str on a connection made with decode_responses=True.
    return value if isinstance(value, str) else value.decode()
