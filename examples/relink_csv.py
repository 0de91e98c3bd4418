"""Relink a CSV of emails to the deals they belong to, and print the summary.

CSV columns: contact_id,message_id,deal_id,deal_name,owner_id,owner_name
Run: python examples/relink_csv.py [FILE.csv]   (without FILE, against FakeZoho with a generated file)
"""

from __future__ import annotations

import csv
import sys
import tempfile
from pathlib import Path

import anyio

from zcrm_async import ZohoCRM
from zcrm_async.emails import DealLink
from zcrm_async.testing import SeedSummary

try:
    from examples._world import client
except ModuleNotFoundError:  # run as a script from examples/
    from _world import client  # type: ignore[no-redef]

FIELDS = ["contact_id", "message_id", "deal_id", "deal_name", "owner_id", "owner_name"]


def read_links(path: Path) -> list[DealLink]:
    with path.open(newline="") as handle:
        return [DealLink(**{field: row[field] for field in FIELDS}) for row in csv.DictReader(handle)]


async def relink_file(crm: ZohoCRM, path: Path) -> int:
    links = read_links(path)
    result = await crm.emails.relink(links)
    print(f"{len(result)} emails: {dict(result.counts)}")
    for failure in result.failed[:10]:
        print(f"  {failure.item.message_id[:16]}...: {failure.code} {failure.message}")
    print(f"requests: {crm.counters.requests}, retries: {crm.counters.retries}, 429s: {crm.counters.throttled}")
    return 0 if result.ok else 1


async def write_sample(crm: ZohoCRM, seeded: SeedSummary, path: Path) -> None:
    """Every email of the seeded contacts, to be linked to the contact's first (older) deal."""
    first_deal = {contact: seeded.deal_ids[2 * i] for i, contact in enumerate(seeded.contact_ids)}
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, FIELDS)
        writer.writeheader()
        async with crm.emails.iterate_many("Contacts", seeded.contact_ids) as stream:
            async for contact, email in stream:
                if email.message_id is None:  # Zoho may answer it null: such an email cannot be addressed
                    continue
                writer.writerow(
                    {"contact_id": contact, "message_id": email.message_id, "deal_id": first_deal[contact],
                     "deal_name": "", "owner_id": seeded.user_ids[0], "owner_name": ""}
                )


async def main() -> int:
    async with client() as (crm, seeded):
        if len(sys.argv) > 1:
            return await relink_file(crm, Path(sys.argv[1]))
        if seeded is None:
            raise SystemExit("usage: relink_csv.py FILE.csv")
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "relink.csv"
            await write_sample(crm, seeded, path)
            return await relink_file(crm, path)


if __name__ == "__main__":
    sys.exit(anyio.run(main))
