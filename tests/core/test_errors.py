"""``error_from_response``: every code Zoho documents, at its documented status, maps to the right class."""

from __future__ import annotations

import json

import pytest

from zcrm_async import (
    APIError,
    AuthenticationError,
    BulkError,
    InvalidRequestError,
    ItemResult,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ResponseDecodeError,
    ServerError,
    ZohoError,
)

# private on purpose: error_from_response, the one mapping of an answer to an exception
from zcrm_async._errors import error_from_response

# (code, documented HTTP status, expected class), from Zoho's Status Codes page and the endpoint pages.
DOCUMENTED = [
    ("INVALID_TOKEN", 401, AuthenticationError),
    ("INVALID_OAUTHTOKEN", 401, AuthenticationError),
    ("AUTHENTICATION_FAILURE", 401, AuthenticationError),
    ("OAUTH_SCOPE_MISMATCH", 401, AuthenticationError),
    ("UNAUTHORIZED", 401, AuthenticationError),
    ("NO_PERMISSION", 403, PermissionDeniedError),
    ("INVALID_URL_PATTERN", 404, NotFoundError),
    ("TOO_MANY_REQUESTS", 429, RateLimitError),
    ("INTERNAL_ERROR", 500, ServerError),
    ("INVALID_DATA", 400, InvalidRequestError),
    ("MANDATORY_NOT_FOUND", 400, InvalidRequestError),
    ("INVALID_MODULE", 400, InvalidRequestError),
    ("FEATURE_NOT_SUPPORTED", 400, InvalidRequestError),
    ("NOT_ALLOWED", 400, InvalidRequestError),
    ("AMBIGUITY_DURING_PROCESSING", 400, InvalidRequestError),
    ("API_NOT_SUPPORTED", 400, InvalidRequestError),
    ("ALREADY_LINKED", 400, InvalidRequestError),
    ("DUPLICATE_DATA", 400, InvalidRequestError),
    ("CANNOT_PROCESS", 400, InvalidRequestError),
    ("LIMIT_EXCEEDED", 400, InvalidRequestError),
    ("LIMIT_REACHED", 400, InvalidRequestError),
    ("INVALID_REQUEST_METHOD", 400, InvalidRequestError),
    ("FILE_SIZE_EXCEEDS", 400, InvalidRequestError),
    ("STORAGE_SPACE_EXCEEDS", 400, InvalidRequestError),
    ("REQUIRED_PARAM_MISSING", 400, InvalidRequestError),
    ("DISCRETE_PAGINATION_LIMIT_EXCEEDED", 400, InvalidRequestError),
    ("PAGINATION_LIMIT_EXCEEDED", 400, InvalidRequestError),
    ("TOKEN_BOUND_DATA_MISMATCH", 400, InvalidRequestError),
    ("EXPIRED_VALUE", 400, InvalidRequestError),
    ("ALREADY_MODIFIED", 412, InvalidRequestError),
]


def zoho_body(code: str, message: str = "something went wrong", details: object = None) -> bytes:
    return json.dumps(
        {"code": code, "details": details if details is not None else {"api_name": "x"}, "message": message,
         "status": "error"}
    ).encode()


@pytest.mark.parametrize(("code", "status", "cls"), DOCUMENTED)
def test_documented_code_maps_to_its_class_and_keeps_everything(code: str, status: int, cls: type[APIError]) -> None:
    details = {"api_name": "Company", "json_path": "$.data[0].Company"}

    error = error_from_response(status, zoho_body(code, f"message of {code}", details))

    assert type(error) is cls
    assert (error.status, error.code, error.message) == (status, code, f"message of {code}")
    assert dict(error.details) == details
    assert str(error) == f"[{code}] message of {code}"
    assert repr(error) == f"{cls.__name__}(status={status}, code={code!r}, message={'message of ' + code!r})"


def test_no_permission_keeps_the_missing_permissions() -> None:
    body = zoho_body("NO_PERMISSION", "permission denied", {"permissions": ["Crm_Implied_View_Deals"]})
    error = error_from_response(403, body)
    assert isinstance(error, PermissionDeniedError)
    assert error.details["permissions"] == ["Crm_Implied_View_Deals"]


def test_rate_limit_error_carries_retry_after() -> None:
    error = error_from_response(429, zoho_body("TOO_MANY_REQUESTS"), retry_after=7.5)
    assert isinstance(error, RateLimitError)
    assert error.retry_after == 7.5
    assert error_from_response(429, zoho_body("TOO_MANY_REQUESTS")).retry_after is None  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("status", "cls"),
    [(400, InvalidRequestError), (401, AuthenticationError), (403, PermissionDeniedError), (404, NotFoundError),
     (413, InvalidRequestError), (415, InvalidRequestError), (429, RateLimitError), (500, ServerError),
     (502, ServerError), (503, ServerError), (504, ServerError)],
)
@pytest.mark.parametrize(
    "body",
    [
        b"",
        b'{"code": "INVALID_DA',  # truncated
        b"<html><body><h1>502 Bad Gateway</h1></body></html>",
        b"null",
        b"[]",
        b'"just a string"',
        b'{"code": 123, "message": ["not", "a", "string"]}',
        b"\xff\xfe\x00garbage",
        b"   ",
    ],
)
def test_unreadable_bodies_still_give_an_api_error(status: int, cls: type[APIError], body: bytes) -> None:
    error = error_from_response(status, body)

    assert type(error) is cls
    assert isinstance(error, ZohoError)
    assert error.status == status
    assert error.code.startswith("HTTP_") and error.code == f"HTTP_{status}"
    assert error.message  # never empty: str() must say something
    assert len(error.message) <= 200
    assert str(error).startswith(f"[HTTP_{status}] ")


def test_html_body_is_quoted_in_the_message_for_diagnosis() -> None:
    error = error_from_response(502, b"<html>Bad Gateway</html>" + b"x" * 1000)
    assert error.message.startswith("<html>Bad Gateway</html>")
    assert len(error.message) == 200


def test_empty_body_message_names_the_status() -> None:
    error = error_from_response(503, b"")
    assert str(error) == "[HTTP_503] HTTP 503"


def test_unknown_code_at_400_is_an_invalid_request() -> None:
    error = error_from_response(400, zoho_body("SOMETHING_NEW"))
    assert type(error) is InvalidRequestError
    assert error.code == "SOMETHING_NEW"


def test_known_code_decides_when_the_status_is_unusual() -> None:
    # A TOO_MANY_REQUESTS or INVALID_TOKEN under a 400 is still what its code says.
    assert type(error_from_response(400, zoho_body("TOO_MANY_REQUESTS"))) is RateLimitError
    assert type(error_from_response(400, zoho_body("INVALID_TOKEN"))) is AuthenticationError


def test_the_tree() -> None:
    for cls in (AuthenticationError, PermissionDeniedError, InvalidRequestError, NotFoundError, RateLimitError,
                ServerError):
        assert issubclass(cls, APIError)
    assert issubclass(APIError, ZohoError)
    assert issubclass(ResponseDecodeError, ZohoError)
    assert issubclass(BulkError, ZohoError)


def test_response_decode_error_keeps_a_short_prefix() -> None:
    error = ResponseDecodeError("could not read", status=200, body_prefix=b"<" * 500)
    assert error.status == 200
    assert error.body_prefix == b"<" * 200
    assert repr(error).startswith("ResponseDecodeError(status=200, body_prefix=b'<<<")
    assert str(error) == "could not read"


def test_bulk_error_summarises_the_failed_codes() -> None:
    failed = [
        ItemResult("a", "ALREADY_LINKED", "error"),
        ItemResult("b", "INVALID_DATA", "error"),
        ItemResult("c", "ALREADY_LINKED", "error"),
    ]
    error = BulkError(failed, total=10)
    assert error.failed == failed
    assert str(error) == "3 of 10 items failed (ALREADY_LINKED: 2, INVALID_DATA: 1)"


@pytest.mark.parametrize(
    "body",
    [b"{}", b'{"status": "error"}', b'{"Emails": [[{"code": "ALREADY_LINKED", "status": "error"}]]}'],
)
def test_a_json_object_without_a_code_is_named_by_its_status(body: bytes) -> None:
    error = error_from_response(502, body)
    assert type(error) is ServerError
    assert error.code == "HTTP_502"
    assert str(error) == "[HTTP_502] HTTP 502"


def test_null_fields_do_not_lose_the_code() -> None:
    body = b'{"code": "INVALID_DATA", "details": null, "message": "the id is invalid", "status": "error"}'
    error = error_from_response(400, body)
    assert (error.code, error.message, dict(error.details)) == ("INVALID_DATA", "the id is invalid", {})
    error = error_from_response(429, b'{"code": "TOO_MANY_REQUESTS", "message": null}')
    assert type(error) is RateLimitError
    assert (error.code, error.message) == ("TOO_MANY_REQUESTS", "HTTP 429")
