"""A second Zoho-compatible server for figure 2, written apart from FakeZoho: plain asyncio, HTTP/1.1 by hand.

Figure 2's goal holds "on any server", and an independent server (not FakeZoho) was where ours measured 0.95x the
semaphore. This one answers only what figure 2 sends, the way Zoho documents it, at a fraction of FakeZoho's CPU
a request (no aiohttp.web, no middleware, no world to look up), so the client's own work is a larger share of each
round than against FakeZoho:

- ``POST /oauth/v2/token``: an access token for the benchmark's client (Zoho's "Refresh Access Tokens" answer);
- ``GET /crm/v8/Contacts/{id}/Emails``: a page of 10 emails, the same body for every contact (Get Emails of a
  Record's documented fields), after ``latency`` seconds;
- more than ``cap`` calls in flight: 429 at once with Zoho's ``TOO_MANY_REQUESTS`` body, as Zoho's concurrency
  limit answers; anything else 404.

Its counters have the names the harness reads from FakeZoho's (``requests``, ``throttled_429``, ``max_in_flight``,
...), so ``bench_harness serve`` runs either (``FakeProcess(server="plain")``).
"""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import json
import re
import urllib.parse
from typing import Any

__all__ = ["PlainStats", "PlainZoho"]

_EMAILS_PATH = re.compile(rb"^/crm/v8/Contacts/\d+/Emails(\?.*)?$")
_THROTTLED = json.dumps(
    {"code": "TOO_MANY_REQUESTS", "details": {}, "message": "too many requests in flight", "status": "error"}
).encode()
_NOT_FOUND = json.dumps({"code": "INVALID_URL_PATTERN", "details": {}, "message": "no such path", "status": "error"})


def _emails_page() -> bytes:
    """Ten emails as Get Emails of a Record lists them (no bodies), the fields its documented sample has."""
    owner = {"name": "Patricia Boyle", "id": "5843104000000400001"}
    emails = [
        {
            "cc": None, "summary": None, "owner": owner, "read": True, "subject": f"Re: the renewal #{i}",
            "message_id": f"{i:064x}", "has_attachment": False, "has_thread_attachment": False,
            "source": "individual", "sent": False, "intent": None, "sentiment_info": None, "activity_info": None,
            "linked_record": {"module": {"api_name": "Deals", "id": "5843104000000003735"}, "name": "Renewal",
                              "id": "5843104000000400003"},
            "related_to_record": None, "emotion": None,
            "from": {"user_name": "Contact", "email": "contact@example.net"},
            "to": [{"user_name": "Patricia Boyle", "email": "patricia@example.com"}],
            "time": f"2024-01-01T00:{i:02d}:00+00:00",
            "status": [{"type": "received", "bounced_time": None, "bounced_reason": None}],
        }
        for i in range(10)
    ]  # fmt: skip
    info = {"per_page": 10, "next_index": None, "count": 10, "prev_index": "0", "more_records": False}
    return json.dumps({"Emails": emails, "info": info}).encode()


@dataclasses.dataclass
class PlainStats:
    """What the harness's ``stats`` command reports, as FakeZoho's stats name it."""

    requests: collections.Counter[str] = dataclasses.field(default_factory=collections.Counter)
    responses: collections.Counter[int] = dataclasses.field(default_factory=collections.Counter)
    throttled_429: int = 0
    max_in_flight: int = 0
    token_refreshes: int = 0


class PlainZoho:
    """The server; ``await start(host, port)`` gives its URL, ``await close()`` stops it."""

    def __init__(self, *, latency: float, cap: int, client_id: str, client_secret: str, refresh_token: str) -> None:
        self.latency = latency
        self.cap = cap
        self._form = {"client_id": client_id, "client_secret": client_secret, "refresh_token": refresh_token}
        self._page = _emails_page()
        self.stats = PlainStats()
        self.in_flight = 0
        self._server: asyncio.Server | None = None

    def reset_stats(self) -> None:
        self.stats = PlainStats()

    async def start(self, host: str, port: int) -> str:
        self._server = await asyncio.start_server(self._connection, host, port)
        bound = self._server.sockets[0].getsockname()
        return f"http://{bound[0]}:{bound[1]}"

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while head := await reader.readuntil(b"\r\n\r\n"):
                request_line, *header_lines = head.split(b"\r\n")
                method, target, _ = request_line.split(b" ", 2)
                headers = {k.strip().lower(): v.strip() for k, _, v in (h.partition(b":") for h in header_lines if h)}
                body = await reader.readexactly(int(headers.get(b"content-length", b"0")))
                status, payload = await self._answer(method, target, headers, body)
                writer.write(
                    b"HTTP/1.1 %d %s\r\nContent-Type: application/json;charset=UTF-8\r\nContent-Length: %d\r\n\r\n"
                    % (status, b"OK" if status == 200 else b"ERROR", len(payload)) + payload
                )
                self.stats.responses[status] += 1
        except (asyncio.IncompleteReadError, ConnectionError):
            pass  # the client closed the connection
        finally:
            writer.close()

    async def _answer(
        self, method: bytes, target: bytes, headers: dict[bytes, bytes], body: bytes
    ) -> tuple[int, bytes]:
        if method == b"POST" and target == b"/oauth/v2/token":
            return self._token(body)
        if method == b"GET" and _EMAILS_PATH.match(target):
            self.stats.requests["get_emails"] += 1
            if not headers.get(b"authorization", b"").startswith(b"Zoho-oauthtoken 1000.plain"):
                return 401, json.dumps({"code": "INVALID_TOKEN", "details": {}, "message": "invalid oauth token",
                                        "status": "error"}).encode()  # fmt: skip
            if self.in_flight >= self.cap:
                self.stats.throttled_429 += 1
                return 429, _THROTTLED
            self.in_flight += 1
            self.stats.max_in_flight = max(self.stats.max_in_flight, self.in_flight)
            try:
                await asyncio.sleep(self.latency)
            finally:
                self.in_flight -= 1
            return 200, self._page
        return 404, _NOT_FOUND.encode()

    def _token(self, body: bytes) -> tuple[int, bytes]:
        form = dict(urllib.parse.parse_qsl(body.decode()))
        if any(form.get(key) != value for key, value in self._form.items()):
            return 400, json.dumps({"error": "invalid_client"}).encode()
        self.stats.token_refreshes += 1
        answer: dict[str, Any] = {
            "access_token": f"1000.plain.{self.stats.token_refreshes}", "scope": "ZohoCRM.modules.ALL",
            "api_domain": "https://www.zohoapis.com", "token_type": "Bearer", "expires_in": 3600,
        }  # fmt: skip
        return 200, json.dumps(answer).encode()
