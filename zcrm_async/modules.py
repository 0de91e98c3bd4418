"""``crm.modules``: module metadata, today the module ids Link Deal to Emails needs.

Zoho's OpenAPI file for Link Deal to Emails requires ``linked_record.module.id`` (the Deals module's id, which
differs per org) and answers AMBIGUITY_DURING_PROCESSING to a wrong one. The client learns it once: from a
``linked_record.module.id`` any Get Emails of a Record answer already showed (free), else with one Get Module by
API name call (``GET /settings/modules/Deals``), shared by every caller that needs it at the same time. The id
is kept for the client's life. A token without a modules scope gets ``MissingScopeError``, which says how to pass
the id instead.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

import anyio
import msgspec

from ._client import raise_for_status
from ._decode import decode_or_raise
from ._errors import MissingScopeError, ResponseDecodeError
from ._fanout import first_error

if TYPE_CHECKING:
    from ._client import ZohoCRM
    from ._transport import Response

__all__ = ["Modules"]

#: The narrowest scope that lets a token read module metadata.
MODULES_SCOPE = "ZohoCRM.settings.modules.READ"


class _Module(msgspec.Struct, frozen=True):
    id: str | None = None
    api_name: str | None = None


class _ModulesBody(msgspec.Struct, frozen=True):
    modules: list[_Module] = []


_decode_modules = msgspec.json.Decoder(_ModulesBody).decode


class Modules:
    """Module ids by API name, learned once per client."""

    def __init__(self, crm: ZohoCRM) -> None:
        self._crm = crm
        self._ids: dict[str, str] = {}
        self._lock: anyio.Lock | None = None
        #: Why a lookup made ahead (``learning``) failed, for the first ``id_of`` that waited for it.
        self._failed: dict[str, Exception] = {}
        #: Calls this client made to Get Module by API name.
        self.lookups = 0

    def known_id(self, api_name: str) -> str | None:
        """The module's id if it is already known (no request)."""
        return self._ids.get(api_name)

    def remember(self, api_name: str, module_id: str) -> None:
        """Keep an id seen in an answer (e.g. a linked record's module); the first one seen stays."""
        self._ids.setdefault(api_name, module_id)

    async def id_of(self, api_name: str) -> str:
        """The module's id: known already, else one Get Module by API name call shared by concurrent callers.

        Raises:
            MissingScopeError: the token may not read module metadata (names the scope and the way out).
            APIError: Zoho refused otherwise (e.g. INVALID_MODULE for a name the org does not have).
        """
        known = self._ids.get(api_name)
        if known is not None:
            return known
        if self._lock is None:
            self._lock = anyio.Lock()
        async with self._lock:
            failed = self._failed.get(api_name)
            if failed is not None:
                raise failed  # the lookup made ahead for this block failed: its callers get that, not a second call
            known = self._ids.get(api_name)
            if known is None:
                known = await self._fetch(api_name)
                self._ids[api_name] = known
            return known

    @asynccontextmanager
    async def learning(self, api_name: str) -> AsyncIterator[None]:
        """The module's id looked up in the background while the block runs, when it is not known yet.

        Its ``id_of`` calls wait for that lookup (one call in all) and raise its error if it failed. Leaving the
        block cancels a lookup still in flight and forgets its error (a later ``id_of`` asks again).
        """
        if api_name in self._ids:
            yield
            return
        try:
            async with anyio.create_task_group() as tg:
                tg.start_soon(self._learn, api_name)
                await anyio.lowlevel.checkpoint()  # the lookup takes the lock before the block can ask
                try:
                    yield
                finally:
                    tg.cancel_scope.cancel()
                    self._failed.pop(api_name, None)
        except BaseExceptionGroup as group:
            raise first_error(group) from None

    async def _learn(self, api_name: str) -> None:
        if self._lock is None:
            self._lock = anyio.Lock()
        async with self._lock:  # the failure is kept before any waiting id_of can take the lock
            if api_name not in self._ids:
                try:
                    self._ids[api_name] = await self._fetch(api_name)
                except Exception as exc:  # for the block's own id_of, which raises it where it is understood
                    self._failed[api_name] = exc

    async def api_names(self) -> list[str]:
        """The API name of every module of the org, with one Get Modules call (``GET /settings/modules``); the
        ids it shows are kept, so a later ``id_of`` asks nothing.

        Raises:
            MissingScopeError: the token may not read module metadata.
            APIError: Zoho refused otherwise.
        """
        response = await self._crm.request("GET", "/settings/modules", operation="modules.list")
        if response.status == 401 and b"OAUTH_SCOPE_MISMATCH" in response.content:
            raise MissingScopeError(
                f"the access token may not list the org's modules (Get Modules): grant the scope {MODULES_SCOPE}",
                status=401, code="OAUTH_SCOPE_MISMATCH", scope=MODULES_SCOPE,
            )  # fmt: skip
        raise_for_status(response)
        body = self._decoded(response)
        names = []
        for module in body.modules:
            if module.api_name:
                names.append(module.api_name)
                if module.id:
                    self.remember(module.api_name, module.id)
        return names

    def _decoded(self, response: Response) -> _ModulesBody:
        if response.status == 204:
            return _ModulesBody()
        return decode_or_raise(_decode_modules, response, "Zoho's modules answer")

    async def _fetch(self, api_name: str) -> str:
        self.lookups += 1
        response = await self._crm.request("GET", f"/settings/modules/{api_name}", operation="modules.get")
        if response.status == 401 and b"OAUTH_SCOPE_MISMATCH" in response.content:
            raise MissingScopeError(
                f"the access token may not read module metadata, which is how the client learns the {api_name}"
                f" module's id (Get Module by API name): grant the scope {MODULES_SCOPE} (or"
                f" ZohoCRM.settings.modules.ALL), or pass the id yourself: deals_module_id=... in the library,"
                f" --deals-module-id or ZOHO_DEALS_MODULE_ID on the command line",
                status=401,
                code="OAUTH_SCOPE_MISMATCH",
                scope=MODULES_SCOPE,
            )
        raise_for_status(response)
        body = self._decoded(response)
        for module in body.modules:
            if module.id and module.api_name in (None, api_name):
                return module.id
        raise ResponseDecodeError(
            f"Zoho's modules answer names no id for {api_name!r}", status=response.status,
            body_prefix=response.content,
        )  # fmt: skip
