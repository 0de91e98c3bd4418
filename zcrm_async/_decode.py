"""Reading a 2xx answer's body into its type, or ``ResponseDecodeError``: the one place every resource does it.

A body that does not decode (not JSON, or not the shape Zoho documents) is a server answer the library cannot
act on; the error carries the status and the start of the body, never the request's credentials.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from ._errors import ResponseDecodeError
from ._transport import Response

__all__ = ["decode_or_raise"]

T = TypeVar("T")


def decode_or_raise(decoder: Callable[[bytes], T], response: Response, what: str = "Zoho's response") -> T:
    """``decoder(response.content)``, or ``ResponseDecodeError`` saying ``what`` could not be read.

    A ``ValueError`` from ``decoder`` is a body that is not what Zoho documents: msgspec's ``DecodeError`` and
    ``ValidationError`` are ``ValueError``s, and so is a decoder's own check of a value (a count that is no number).
    """
    try:
        return decoder(response.content)
    except ValueError as exc:
        raise ResponseDecodeError(
            f"{what} could not be read: {exc}", status=response.status, body_prefix=response.content
        ) from None
