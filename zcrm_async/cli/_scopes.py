"""Which OAuth scopes each command needs, and whether a token's scopes cover them.

The scopes are the ones Zoho's OpenAPI specification (crm-oas, v8.0) names for the endpoints each command calls:
Link/Unlink Deal to Emails want emails, deals and contacts ``CREATE``; Get Emails of a Record wants the module's
and emails' ``READ``; Get Records wants the module's ``READ`` (``ZohoCRM.modules.ALL`` covers it); Get Modules
wants ``ZohoCRM.settings.modules.READ``; Get Fields wants ``ZohoCRM.settings.fields.READ``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from types import MappingProxyType

__all__ = [
    "COMMAND_SCOPES", "NEEDED_UNLESS", "OPTIONAL", "RECOMMENDED_SCOPES", "covers", "missing_scopes", "parse_scopes",
]  # fmt: skip

#: Marks a need no command fails without.
OPTIONAL = " (optional)"
_LINK = ("ZohoCRM.modules.emails.CREATE", "ZohoCRM.modules.deals.CREATE", "ZohoCRM.modules.contacts.CREATE")
# Every backfill also reads the contacts' emails back (resume, relink, already-linked checks).
_READ = ("ZohoCRM.modules.emails.READ", "ZohoCRM.modules.contacts.READ")

COMMAND_SCOPES: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "backfill link": _LINK + _READ,
        "backfill unlink": _LINK + _READ,
        "backfill relink": _LINK + _READ,
        "emails export": _READ,
        # Get Records of Deals, each contact's emails, and the Deals stages from Get Fields.
        "audit": (*_READ, "ZohoCRM.modules.deals.READ", "ZohoCRM.settings.fields.READ"),
        "listing deals to find their ids (Get Records)" + OPTIONAL: ("ZohoCRM.modules.deals.READ",),
        # Without it relink still works, but unlinks before it learns the deal would refuse the email.
        "relink's check of a deal's contacts before unlinking (Get Record)" + OPTIONAL: ("ZohoCRM.modules.deals.READ",),
        "--deals-module-id lookup (Get Modules)" + OPTIONAL: ("ZohoCRM.settings.modules.READ",),
    }
)

#: Scopes a command needs unless a flag (or its variable) says what it would look up: link bodies carry the Deals
#: module's id, learned with Get Modules unless --deals-module-id gives it.
NEEDED_UNLESS: Mapping[str, tuple[str, str, str]] = MappingProxyType(
    {
        command: ("ZohoCRM.settings.modules.READ", "--deals-module-id", "ZOHO_DEALS_MODULE_ID")
        for command in ("backfill link", "backfill relink")
    }
)

#: The scopes to give a Self Client's grant code: exactly what the commands above need, nothing wider.
RECOMMENDED_SCOPES = ",".join(dict.fromkeys(scope for needs in COMMAND_SCOPES.values() for scope in needs))


def parse_scopes(text: str | None) -> frozenset[str]:
    """Scopes as Zoho lists them (space or comma separated), compared case-insensitively."""
    return frozenset(part.lower() for part in re.split(r"[\s,]+", text or "") if part)


def covers(granted: Iterable[str], needed: str) -> bool:
    """Whether ``granted`` includes ``needed`` itself or a wider scope: ``Service.group.ALL``,
    ``Service.group.resource.ALL``, or ``Service.group.OPERATION`` (e.g. ``ZohoCRM.modules.READ``)."""
    have = {scope.lower() for scope in granted}
    parts = needed.lower().split(".")
    if needed.lower() in have:
        return True
    if len(parts) < 3:
        return False
    service, group, *rest = parts
    wider = {f"{service}.{group}.all", f"{service}.all"}
    if len(rest) >= 2:
        wider.add(f"{service}.{group}.{'.'.join(rest[:-1])}.all")
        wider.add(f"{service}.{group}.{rest[-1]}")
    return bool(have & wider)


def missing_scopes(granted: Iterable[str], needs: Iterable[str]) -> list[str]:
    have = list(granted)
    return [scope for scope in needs if not covers(have, scope)]
