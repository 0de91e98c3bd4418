"""Export every email of a list of contacts to JSONL, reading many contacts at once in constant memory.

Run: python examples/export_jsonl.py OUT.jsonl [CONTACT_ID ...]   (no ids: every contact; FakeZoho by default)
"""

from __future__ import annotations

import sys
from pathlib import Path

import anyio
import msgspec

from zcrm_async import ZohoCRM

try:
    from examples._world import client
except ModuleNotFoundError:  # run as a script from examples/
    from _world import client  # type: ignore[no-redef]


async def all_contact_ids(crm: ZohoCRM) -> list[str]:
    return [str(record["id"]) async for record in crm.records.iterate("Contacts", fields=["Last_Name"])]


async def export(crm: ZohoCRM, contact_ids: list[str], out: Path) -> int:
    encode = msgspec.json.Encoder().encode
    count = 0
    with out.open("wb") as handle:
        async with crm.emails.iterate_many("Contacts", contact_ids, concurrency=8) as stream:
            async for contact_id, email in stream:
                handle.write(encode({"contact_id": contact_id, "email": email}) + b"\n")
                count += 1
    return count


async def main() -> None:
    if len(sys.argv) < 2:
        raise SystemExit(__doc__)
    out = Path(sys.argv[1])
    async with client() as (crm, _):
        ids = sys.argv[2:] or await all_contact_ids(crm)
        count = await export(crm, ids, out)
    print(f"wrote {count} emails of {len(ids)} contacts to {out}")


if __name__ == "__main__":
    anyio.run(main)
