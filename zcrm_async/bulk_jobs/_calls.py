"""What the Bulk Read and Bulk Write calls share: where they go, and reading their answers or errors."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import msgspec

from .._client import Target, raise_for_status
from .._decode import decode_or_raise
from .._errors import error_from_response
from .._transport import Response

if TYPE_CHECKING:
    from .._client import ZohoCRM

__all__ = ["bulk_target", "decoded", "raise_for_bulk"]

T = TypeVar("T")


class _Wrapped(msgspec.Struct):
    data: list[dict[str, Any]] | None = None


_decode_wrapped = msgspec.json.Decoder(_Wrapped).decode
_encode = msgspec.json.Encoder().encode


def bulk_target(crm: ZohoCRM, **options: Any) -> Target:
    """The Bulk APIs live below ``/crm/bulk/{version}``, not ``/crm/{version}``."""
    return Target(prefix=f"/crm/bulk/{crm.api_version}", **options)


def raise_for_bulk(response: Response) -> Response:
    """``raise_for_status``, reading the error inside ``{"data": [...]}`` too: Bulk Read's OpenAPI file lists
    its 400s both bare and wrapped."""
    if response.status >= 400 and response.content[:1] == b"{":
        try:
            wrapped = _decode_wrapped(response.content).data
        except (msgspec.DecodeError, msgspec.ValidationError):
            wrapped = None
        if wrapped and isinstance(wrapped[0], dict) and "code" in wrapped[0]:
            raise error_from_response(response.status, _encode(wrapped[0]))
    return raise_for_status(response)


def decoded(decode: Callable[[bytes], T], response: Response, what: str) -> T:
    """``decode(response.content)`` after ``raise_for_bulk``, or a ``ResponseDecodeError`` naming ``what``."""
    return decode_or_raise(decode, raise_for_bulk(response), f"Zoho's {what}")
