"""Turning a grant code (a Self Client's "Generate Code", or a redirect's ``code``) into a refresh token.

Zoho's authorization-code grant: a form POST of ``grant_type=authorization_code``, the client id and secret and
the code to ``{accounts}/oauth/v2/token``. The answer carries a refresh token (kept forever, until revoked), a
first access token and the org's API domain. A grant code can be used once, and only for a few minutes (3 by
default), so the refresh token it gives must be kept at once.

The answer is checked as a refresh's is (``_auth.py``): the access token's lifetime is clamped to Zoho's hour and a
value an HTTP header cannot carry is dropped. A refresh token outside Zoho's token alphabet (``1000.`` and hex
groups joined by dots, as on every API page's sample ``Authorization`` header; ``-`` and ``_`` are let through for
test servers) is refused: it is kept in files a shell sources, so it must be plain text.
"""

from __future__ import annotations

import dataclasses
import re
import time
import urllib.parse

import msgspec

from ._auth import AccessToken, clamped_lifetime, client_fingerprint, is_header_safe
from ._errors import AuthenticationError, ServerError
from ._transport import AiohttpTransport, Request, Transport

__all__ = ["Grant", "exchange_grant_code"]


@dataclasses.dataclass(frozen=True, slots=True)
class Grant:
    """What a grant code gave: the refresh token (never shown by ``repr``) and the first access token.

    ``access_token`` is None when the answer's could not be sent in an HTTP header (a CR or LF in it): the refresh
    token still works, and the first refresh gets a usable access token.
    """

    refresh_token: str = dataclasses.field(repr=False)
    access_token: AccessToken | None = dataclasses.field(repr=False)
    api_domain: str | None
    scope: str | None


class _GrantReply(msgspec.Struct):
    access_token: str | None = None
    refresh_token: str | None = None
    api_domain: str | None = None
    scope: str | None = None
    # Numbers, or numeric strings (as a refresh's answer may carry them).
    expires_in: float | str | None = None
    expires_in_sec: float | str | None = None
    error: str | None = None
    error_description: str | None = None


_decode = msgspec.json.Decoder(_GrantReply).decode

#: Zoho's tokens are ASCII letters, digits and dots; nothing a shell or an HTTP header reads specially.
_TOKEN_ALPHABET = re.compile(r"[A-Za-z0-9._-]{1,1000}")

_EXPLAINED = {
    "invalid_code": "the grant code is wrong, already used or expired (a code lasts the minutes chosen when it was "
    "generated, 3 by default): generate another and exchange it at once",
    "invalid_client": "the client id or client secret is wrong, or the client belongs to another data centre",
    "invalid_client_secret": "the client secret is wrong",
    "invalid_redirect_uri": "the redirect URI is not the one registered for this client",
}


async def exchange_grant_code(
    code: str,
    *,
    client_id: str,
    client_secret: str,
    accounts_url: str,
    redirect_uri: str | None = None,
    transport: Transport | None = None,
) -> Grant:
    """Exchange a grant code for a refresh token and a first access token.

    Raises:
        AuthenticationError: Zoho refused the code or the client (the message says which and what to do).
        TransportError: the accounts server could not be reached.
    """
    form = {"grant_type": "authorization_code", "client_id": client_id, "client_secret": client_secret, "code": code}
    if redirect_uri:
        form["redirect_uri"] = redirect_uri
    request = Request(
        "POST", accounts_url.rstrip("/") + "/oauth/v2/token",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        content=urllib.parse.urlencode(form).encode(),
    )  # fmt: skip
    own = transport is None
    sender: Transport = transport or AiohttpTransport()
    try:
        response = await sender.send(request)
    finally:
        if own:
            await sender.aclose()
    if response.status >= 500:
        raise ServerError(f"the token endpoint answered HTTP {response.status}", status=response.status,
                          code=f"HTTP_{response.status}")  # fmt: skip
    try:
        reply = _decode(response.content)
    except (msgspec.DecodeError, msgspec.ValidationError):
        raise AuthenticationError(
            "the token endpoint's answer is not JSON", status=response.status, code=f"HTTP_{response.status}"
        ) from None
    if not (reply.refresh_token and reply.access_token):
        error = reply.error or f"HTTP_{response.status}"
        message = _EXPLAINED.get(error) or reply.error_description or f"the grant code was refused: {error}"
        raise AuthenticationError(message, status=response.status, code=error)
    if not _TOKEN_ALPHABET.fullmatch(reply.refresh_token):
        raise AuthenticationError(
            "the token endpoint's refresh token is not a Zoho token (only letters, digits, '.', '-' and '_', at most "
            "1000): not kept", status=response.status, code="INVALID_TOKEN_VALUE",
        )  # fmt: skip
    api_domain = reply.api_domain.rstrip("/") if reply.api_domain else None
    return Grant(
        refresh_token=reply.refresh_token, access_token=_first_token(reply, accounts_url, client_id, api_domain),
        api_domain=api_domain, scope=reply.scope,
    )  # fmt: skip


def _first_token(reply: _GrantReply, accounts_url: str, client_id: str, api_domain: str | None) -> AccessToken | None:
    assert reply.access_token and reply.refresh_token
    if not is_header_safe(reply.access_token):
        return None
    lifetime = clamped_lifetime(reply.expires_in, reply.expires_in_sec)
    return AccessToken(
        value=reply.access_token, expires_at=time.time() + lifetime, api_domain=api_domain, lifetime=lifetime,
        client=client_fingerprint(accounts_url, client_id, reply.refresh_token), scope=reply.scope or None,
    )  # fmt: skip
