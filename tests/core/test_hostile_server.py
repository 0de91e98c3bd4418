"""A hostile (or broken) server through the real aiohttp transport: redirects, foreign api_domains, huge and
inflating bodies, malformed headers, bad Retry-After and token lifetimes. Nothing secret leaves, nothing hangs,
nothing eats the memory, and every failure is a clear ``ZohoError``."""

from __future__ import annotations

import gzip
import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from tests.hostile import HostileServer, hostile_pair, token_answer
from zcrm_async import (
    AuthenticationError,
    InvalidRequestError,
    OAuthCredentials,
    PaginationError,
    ResponseTooLarge,
    RetryPolicy,
    ZohoCRM,
    raise_for_status,
)

# private on purpose: TokenManager's lifetime cap and the API-domain rule, units of their own
from zcrm_async._auth import MAX_LIFETIME, TokenManager
from zcrm_async._origins import is_zoho_api_domain
from zcrm_async.testing import MockTransport, json_response

pytestmark = pytest.mark.anyio

SECRET = "SECRET-hostile-0001"
REFRESH = "1000.REFRESH-hostile-0002"
TOKEN = "1000.hostile"


class Sleeps:
    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


@asynccontextmanager
async def client(server: HostileServer, **options: Any) -> AsyncIterator[ZohoCRM]:
    options.setdefault("retry", RetryPolicy(attempts=3, initial=0.01, maximum=0.01))
    options.setdefault("sleep", Sleeps())
    async with ZohoCRM(
        client_id="1000.CLIENT", client_secret=SECRET, refresh_token=REFRESH, api_domain=server.url,
        accounts_url=server.url, **options,
    ) as crm:  # fmt: skip
        yield crm


def api_or_token(api: Callable[[], web.Response] | None = None, **token_fields: object) -> Any:
    """A handler: the token endpoint answers a token (with ``token_fields``), every API call ``api()``."""

    async def handle(request: web.Request) -> web.StreamResponse:
        if request.path == "/oauth/v2/token":
            return token_answer(**token_fields)
        return api() if api is not None else web.json_response({"data": []})

    return handle


def sent_secrets(server: HostileServer) -> list[str]:
    """Requests that reached ``server`` carrying the client secret, the refresh token or the access token."""
    leaks = []
    for request in server.received:
        carried = request.body.decode("latin-1") + " ".join(request.headers.values()) + request.path
        if SECRET in carried or REFRESH in carried or TOKEN in carried:
            leaks.append(request.path)
    return leaks


# -- redirects -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
async def test_a_redirecting_token_endpoint_sends_no_secret_anywhere(status: int) -> None:
    async with hostile_pair() as (zoho, elsewhere):
        elsewhere.handler = api_or_token()

        async def redirect(request: web.Request) -> web.StreamResponse:
            return web.Response(status=status, headers={"Location": f"{elsewhere.url}/oauth/v2/token"})

        zoho.handler = redirect
        async with client(zoho) as crm:
            with pytest.raises(AuthenticationError, match="redirect") as caught:
                await crm.request("GET", "/Deals", operation="records.list")

    assert elsewhere.received == []
    assert SECRET not in str(caught.value) and REFRESH not in str(caught.value)


async def test_an_api_redirect_to_another_origin_is_not_followed() -> None:
    async with hostile_pair() as (zoho, elsewhere):
        elsewhere.handler = api_or_token()
        location = {"Location": f"{elsewhere.url}/crm/v8/Deals"}
        zoho.handler = api_or_token(lambda: web.Response(status=307, headers=location))
        async with client(zoho) as crm:
            response = await crm.request("GET", "/Deals", operation="records.list")
            with pytest.raises(InvalidRequestError, match="not followed"):
                raise_for_status(response)

    assert response.status == 307
    assert elsewhere.received == []


# -- bodies ----------------------------------------------------------------------------------------------------


async def _endless_chunks(request: web.Request) -> web.StreamResponse:
    if request.path == "/oauth/v2/token":
        return token_answer()
    response = web.StreamResponse(headers={"Content-Type": "application/json"})
    await response.prepare(request)
    chunk = b" " * 65536
    for _ in range(1024):  # 64 MiB at most, far past the test's 1 MiB cap; the client hangs up long before
        try:
            await response.write(chunk)
        except (ConnectionResetError, RuntimeError):
            break
    return response


@pytest.mark.parametrize("declared", [True, False], ids=["content-length", "chunked"])
async def test_a_body_past_the_cap_fails_the_call_clearly_and_is_not_retried(declared: bool) -> None:
    cap = 1 << 20
    async with HostileServer().running() as zoho:
        if declared:
            zoho.handler = api_or_token(lambda: web.Response(body=b" " * (cap + 1), content_type="application/json"))
        else:
            zoho.handler = _endless_chunks
        async with client(zoho, max_response_bytes=cap) as crm:
            with pytest.raises(ResponseTooLarge, match="larger than 1,048,576 bytes"):
                await crm.request("GET", "/Deals", operation="records.list")

    assert [r.path for r in zoho.received].count("/crm/v8/Deals") == 1


async def test_a_gzip_body_is_capped_after_decompression() -> None:
    bomb = gzip.compress(b"[" + b" " * (64 << 20) + b"]")  # ~64 KiB that inflates to 64 MiB
    async with HostileServer().running() as zoho:
        zoho.handler = api_or_token(
            lambda: web.Response(body=bomb, headers={"Content-Encoding": "gzip", "Content-Type": "application/json"})
        )
        async with client(zoho, max_response_bytes=1 << 20) as crm:
            with pytest.raises(ResponseTooLarge):
                await crm.request("GET", "/Deals", operation="records.list")


async def test_a_body_within_the_cap_is_read_whole_gzip_or_not() -> None:
    payload = b'{"data": [' + b",".join(b'{"id": "%d"}' % i for i in range(5000)) + b"]}"
    async with HostileServer().running() as zoho:
        zoho.handler = api_or_token(
            lambda: web.Response(body=gzip.compress(payload), headers={"Content-Encoding": "gzip"})
        )
        async with client(zoho, max_response_bytes=len(payload)) as crm:
            response = await crm.request("GET", "/Deals", operation="records.list")
    assert response.content == payload


# -- headers and token answers ---------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["\u00b2", "9" * 5000, "-1", "1e3", " 12", "\u0661\u0662"])
async def test_a_malformed_credits_header_is_ignored_after_a_write(value: str) -> None:
    async with HostileServer().running() as zoho:
        zoho.handler = api_or_token(
            lambda: web.json_response({"data": [{"code": "SUCCESS"}]}, headers={"X-API-CREDITS-REMAINING": value})
        )
        async with client(zoho) as crm:
            response = await crm.request("PUT", "/Contacts/1/Deals", operation="records.related.update", content=b"{}")
    assert response.status == 200


@pytest.mark.parametrize("retry_after", ["0", "-5", "nan", "-inf", "0.0001"])
async def test_retry_after_never_waits_less_than_the_base_backoff(retry_after: str) -> None:
    sleeps = Sleeps()
    async with HostileServer().running() as zoho:
        zoho.handler = api_or_token(
            lambda: web.json_response({"code": "TOO_MANY_REQUESTS"}, status=429, headers={"Retry-After": retry_after})
        )
        async with client(zoho, retry=RetryPolicy(attempts=8, initial=0.5, maximum=2.0), sleep=sleeps) as crm:
            response = await crm.request("GET", "/Deals", operation="records.list")
    assert response.status == 429 and len(sleeps.waits) == 7
    assert all(wait >= 0.5 for wait in sleeps.waits), sleeps.waits


async def test_retry_after_forever_gives_up_at_once() -> None:
    sleeps = Sleeps()
    async with HostileServer().running() as zoho:
        zoho.handler = api_or_token(
            lambda: web.json_response({"code": "TOO_MANY_REQUESTS"}, status=429, headers={"Retry-After": "inf"})
        )
        async with client(zoho, sleep=sleeps) as crm:
            response = await crm.request("GET", "/Deals", operation="records.list")
    assert response.status == 429 and sleeps.waits == []


@pytest.mark.parametrize("lifetime", [1e300, "1e300", "inf", "Infinity", "nan", 86_400_000_000])
async def test_an_endless_token_lifetime_is_clamped_to_zohos_hour(lifetime: object) -> None:
    async with HostileServer().running() as zoho:
        zoho.handler = api_or_token(expires_in=lifetime)
        async with client(zoho) as crm:
            await crm.request("GET", "/Deals", operation="records.list")
            token = await crm._tokens.get_token()
    assert token.lifetime == MAX_LIFETIME


@pytest.mark.parametrize("token", ["1000.abc\r\nX-Evil: 1", "1000.abc\n", "1000.a b", "1000.\u00e9"])
async def test_a_token_that_cannot_be_a_header_is_an_authentication_error(token: str) -> None:
    async with HostileServer().running() as zoho:
        zoho.handler = api_or_token(access_token=token)
        async with client(zoho) as crm:
            with pytest.raises(AuthenticationError, match="header") as caught:
                await crm.request("GET", "/Deals", operation="records.list")
    assert token not in str(caught.value) and token not in repr(caught.value)
    assert [r.path for r in zoho.received] == ["/oauth/v2/token"]


# -- the api_domain of a token answer --------------------------------------------------------------------------


@pytest.mark.parametrize("foreign", ["http://attacker.example", "https://attacker.example", "https://10.0.0.5"])
async def test_a_foreign_api_domain_in_the_token_answer_is_not_used(foreign: str) -> None:
    # Only the accounts server is pinned, as by a user of the data centre's API domain. The token is only
    # fetched: the API domain the client would use is read, and no API call leaves this machine.
    async with HostileServer().running() as zoho:
        zoho.handler = api_or_token(api_domain=foreign)
        async with ZohoCRM(
            client_id="1000.CLIENT", client_secret=SECRET, refresh_token=REFRESH, accounts_url=zoho.url,
            retry=RetryPolicy(attempts=1),
        ) as crm:  # fmt: skip
            await crm._tokens.get_token()
            assert crm.api_domain == "https://www.zohoapis.com"


async def test_an_accounts_server_on_this_machine_may_name_an_api_server_on_this_machine() -> None:
    async with hostile_pair() as (accounts, api):
        accounts.handler = api_or_token(api_domain=api.url)
        api.handler = api_or_token()
        async with ZohoCRM(
            client_id="1000.CLIENT", client_secret=SECRET, refresh_token=REFRESH, accounts_url=accounts.url,
        ) as crm:  # fmt: skip
            await crm.request("GET", "/Deals", operation="records.list")
    assert [r.path for r in api.received] == ["/crm/v8/Deals"]


def test_a_remote_accounts_server_may_not_name_an_api_server_on_this_machine() -> None:
    tokens = TokenManager(
        OAuthCredentials(client_id="1", client_secret="2", refresh_token="3"),
        accounts_url="https://accounts.zoho.com", transport=MockTransport(lambda request: json_response(200, {})),
    )  # fmt: skip
    assert tokens._accepted_api_domain("http://127.0.0.1:8080") is None
    assert tokens._accepted_api_domain("https://www.zohoapis.eu/") == "https://www.zohoapis.eu"


@pytest.mark.parametrize(
    ("api_domain", "kept"),
    [
        ("https://www.zohoapis.eu", True),
        ("https://www.zohoapis.com.au/", True),
        ("https://sandbox.zohoapis.in", True),
        ("http://www.zohoapis.com", False),
        ("https://www.zohoapis.com.evil.example", False),
        ("https://evilzohoapis.com", False),
        ("https://www.zohoapis.com:8443", False),
        ("https://user@www.zohoapis.com", False),
        ("https://127.0.0.1", False),
    ],
)
def test_only_https_zoho_api_domains_are_taken_from_a_token_answer(api_domain: str, kept: bool) -> None:
    assert is_zoho_api_domain(api_domain.rstrip("/")) is kept


@pytest.mark.parametrize("url", ["http://127.0.0.1:8080", "http://localhost:1", "http://[::1]:9", "https://proxy.example"])
def test_a_user_may_pin_https_anywhere_and_http_on_loopback(url: str) -> None:
    ZohoCRM(client_id="1", client_secret="2", refresh_token="3", api_domain=url, accounts_url=url)


@pytest.mark.parametrize("url", ["http://www.zohoapis.com", "http://10.0.0.5:8080", "ftp://127.0.0.1", "127.0.0.1"])
@pytest.mark.parametrize("option", ["api_domain", "accounts_url"])
def test_plain_http_off_this_machine_is_refused_when_pinned(url: str, option: str) -> None:
    with pytest.raises(ValueError, match=option):
        ZohoCRM(client_id="1", client_secret="2", refresh_token="3", **{option: url})


# -- endless cursors -------------------------------------------------------------------------------------------


def records_server(next_token: Callable[[int], str]) -> Any:
    """Get Records answering a full page with more_records for every page number and every page_token."""
    served = {"count": 0}

    async def handle(request: web.Request) -> web.StreamResponse:
        if request.path == "/oauth/v2/token":
            return token_answer()
        served["count"] += 1
        info = {"per_page": 200, "count": 200, "more_records": True, "next_page_token": next_token(served["count"])}
        return web.json_response({"data": [{"id": str(i)} for i in range(200)], "info": info})

    return handle


async def test_a_repeated_page_token_ends_records_iterate_with_a_clear_error() -> None:
    async with HostileServer().running() as zoho:
        zoho.handler = records_server(lambda n: "same-token")
        async with client(zoho) as crm:
            with pytest.raises(PaginationError, match="cursor it gave before"):
                async for _ in crm.records.iterate("Contacts", fields=["Last_Name"]):
                    pass
    assert len(zoho.received) == 1 + 10 + 1  # the token endpoint, pages 1-10, the page_token once


async def test_endless_fresh_page_tokens_end_at_zohos_100000_records() -> None:
    async with HostileServer().running() as zoho:
        zoho.handler = records_server(lambda n: f"token-{n}")
        async with client(zoho) as crm:
            read = 0
            with pytest.raises(PaginationError, match="more pages after"):
                async for _ in crm.records.iterate("Contacts", fields=["Last_Name"]):
                    read += 1
    assert 100_000 <= read <= 100_200 + 2_000


async def test_endless_fresh_email_cursors_end_with_a_clear_error() -> None:
    async with HostileServer().running() as zoho:

        async def handle(request: web.Request) -> web.StreamResponse:
            if request.path == "/oauth/v2/token":
                return token_answer()
            n = len(zoho.received)
            info = {"per_page": 10, "count": 1, "more_records": True, "next_index": f"idx{n}"}
            return web.json_response({"Emails": [{"message_id": f"m{n}"}], "info": info})

        zoho.handler = handle
        async with client(zoho) as crm:
            with pytest.raises(PaginationError):
                async for _ in crm.emails.iterate("Contacts", "1", max_pages=200):
                    pass
    assert len(zoho.received) == 1 + 200


@pytest.mark.parametrize("flag", ["--api-domain", "--accounts-url"])
def test_the_cli_refuses_plain_http_off_this_machine_as_a_usage_error(tmp_path: Path, flag: str) -> None:
    path = tmp_path / "in.csv"
    path.write_text("contact_id,message_id,deal_id,owner_id\n111,aaa1,222,333\n")
    other = "--accounts-url" if flag == "--api-domain" else "--api-domain"
    result = subprocess.run(
        [sys.executable, "-m", "zcrm_async.cli", "backfill", "link", str(path), flag, "http://10.0.0.5:8080",
         other, "https://proxy.example", "--client-id", "1", "--client-secret", SECRET, "--refresh-token", REFRESH],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 2
    assert "Traceback" not in result.stderr and "plain http is allowed only on this machine" in result.stderr
    assert SECRET not in result.stderr + result.stdout
