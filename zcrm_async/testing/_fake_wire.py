"""What FakeZoho puts on the wire: JSON bodies and Zoho's error and multi-status shapes."""

from __future__ import annotations

from typing import Any

import msgspec
from aiohttp import web

# Defined with the link rules; re-exported for the handlers and FakeZoho's users.
from ._fake_contract import DEALS_MODULE_ID as DEALS_MODULE_ID

ENCODE = msgspec.json.Encoder().encode
_decode = msgspec.json.Decoder().decode


def DECODE(body: bytes) -> Any:  # named as the decoder it wraps was: every handler imports it
    """A JSON body; ``msgspec.DecodeError`` for one that is not JSON, nested too deep among them (a 100,000-deep
    array raises RecursionError in the decoder), so every handler answers Zoho's 400 instead of a 500."""
    try:
        return _decode(body)
    except RecursionError:
        raise msgspec.DecodeError("JSON nested too deeply") from None


class Dropped(web.Response):
    """Returned after the connection was closed: nothing reaches the client."""


def drop(request: web.Request) -> web.Response:
    """Close the connection without an answer (a dropped request or a lost response)."""
    if request.transport is not None:
        request.transport.close()
    return Dropped()


def json_response(body: Any, status: int = 200) -> web.Response:
    return web.Response(body=ENCODE(body), status=status, content_type="application/json")


def error_body(code: str, message: str, details: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "code": code,
        "details": details if details is not None else {},
        "message": message,
        "status": "error",
    }


def error(status: int, code: str, message: str, details: dict[str, Any] | None = None) -> web.Response:
    return json_response(error_body(code, message, details), status)


def item_status(
    items: list[dict[str, Any]], key: str, nest_failures: bool = True, success_status: int = 200
) -> web.Response:
    """Zoho's multi-status rule: all success 200 (or 201); mixed 207 (flat); all failed 400, where Link Deal to
    Emails' OpenAPI file nests each item in its own array (``{"Emails": [[e0], [e1]]}``)."""
    ok = sum(1 for item in items if item["status"] == "success")
    if ok == len(items):
        return json_response({key: items}, success_status)
    if ok:
        return json_response({key: items}, 207)
    return json_response({key: [[item] for item in items] if nest_failures else items}, 400)


def success(details: dict[str, Any], message: str) -> dict[str, Any]:
    """One item's success entry."""
    return {"code": "SUCCESS", "details": details, "message": message, "status": "success"}


def item_error(code: str, message: str, field: str, i: int, root: str = "Emails") -> dict[str, Any]:
    """One item's validation error, pointing at the field by api_name and json_path."""
    path = f"$.{root}[{i}]" + (f".{field}" if field else "")
    details = {"api_name": field.rsplit(".", 1)[-1], "json_path": path} if field else {"json_path": path}
    return {"code": code, "details": details, "message": message, "status": "error"}


NOT_FOUND = error_body("INVALID_URL_PATTERN", "Please check if the URL trying to access is a correct one")
BAD_METHOD = error_body("INVALID_REQUEST_METHOD", "The http request method type is not a valid one")
NO_AUTH = error_body("AUTHENTICATION_FAILURE", "Authentication failed")
BAD_TOKEN = error_body("INVALID_TOKEN", "invalid oauth token")
TOO_MANY = error_body(
    "TOO_MANY_REQUESTS",
    "Number of API requests for the 24 hour period is exceeded or the concurrency limit of the user for the"
    " app is exceeded.",
)
INTERNAL = error_body("INTERNAL_ERROR", "Internal Server Error")
