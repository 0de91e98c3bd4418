"""An async service handler that links one email to a deal, as a web app would on each request.

Run: python examples/service_link_one.py   (against FakeZoho unless ZOHO_* credentials are set)
"""

from __future__ import annotations

import anyio

from zcrm_async import ZohoCRM

try:
    from examples._world import client
except ModuleNotFoundError:  # run as a script from examples/
    from _world import client  # type: ignore[no-redef]


async def handle_link_request(crm: ZohoCRM, payload: dict[str, str]) -> dict[str, object]:
    """What a POST /link handler would do: one await, a typed result, no exception for Zoho's refusals."""
    result = await crm.emails.link(
        payload["contact_id"],
        payload["message_id"],
        deal_id=payload["deal_id"],
        owner_id=payload["owner_id"],
        deal_name=payload.get("deal_name"),
    )
    return {"ok": result.ok, "code": result.code, "message": result.message}


async def main() -> None:
    async with client(seed_contacts=1) as (crm, seeded):
        if seeded is None:
            raise SystemExit("with real credentials, call handle_link_request() with your own ids")
        page = await crm.emails.page("Contacts", seeded.contact_ids[0])
        # An email Deal Prediction left alone (a sent one), to link to the contact's older deal.
        email = next(e for e in page.Emails if e.linked_record is None and e.message_id is not None)
        payload = {
            "contact_id": seeded.contact_ids[0],
            "message_id": email.message_id,
            "deal_id": seeded.deal_ids[0],
            "owner_id": seeded.user_ids[0],
        }
        print("first: ", await handle_link_request(crm, payload))
        print("again: ", await handle_link_request(crm, payload))


if __name__ == "__main__":
    anyio.run(main)
