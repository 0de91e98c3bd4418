"""What ``zcrm-async fake-server`` tells a person on start: how to point a client at it, ids to try, a sample file.

Printed only for the fake's own well-known credentials: ones the user chose may be real, and are not echoed.
"""

from __future__ import annotations

import csv
import shlex
from collections.abc import Callable
from pathlib import Path

from ._fake import FakeConfig, FakeZoho
from ._fake_scenarios import MisfiledSummary
from ._fake_world import SeedSummary

__all__ = ["SAMPLE_FIELDS", "announce", "write_sample"]

SAMPLE_FIELDS = ("contact_id", "message_id", "deal_id", "deal_name", "owner_id", "owner_name")
SHOWN_IDS = 3
GRANT_MINUTES = 10.0


def announce(
    say: Callable[[str], None], fake: FakeZoho, url: str, summary: SeedSummary | None,
    misfiled: MisfiledSummary | None = None,
) -> None:  # fmt: skip
    """The lines after "FakeZoho listening on URL": flags, environment, ids, a grant code."""
    cfg, defaults = fake.config, FakeConfig()
    well_known = cfg.client_secret == defaults.client_secret and cfg.refresh_token == defaults.refresh_token
    say(f"accounts_url={url} token_url={url}/oauth/v2/token")
    if not well_known:
        say(f"client_id={cfg.client_id} client_secret=(as given) refresh_token=(as given)")
        return
    values = {
        "ZOHO_API_DOMAIN": url, "ZOHO_ACCOUNTS_URL": url, "ZOHO_CLIENT_ID": cfg.client_id,
        "ZOHO_CLIENT_SECRET": cfg.client_secret, "ZOHO_REFRESH_TOKEN": cfg.refresh_token,
    }  # fmt: skip
    flags = " ".join(f"--{name.removeprefix('ZOHO_').lower().replace('_', '-')} {shlex.quote(value)}"
                     for name, value in values.items())  # fmt: skip
    say(f"point zcrm-async at it with these flags: {flags}")
    say("or this environment: export " + " ".join(f"{name}={shlex.quote(value)}" for name, value in values.items()))
    code = fake.grant_code(minutes=GRANT_MINUTES)
    say(f"a grant code for `zcrm-async auth exchange --code CODE` (valid {GRANT_MINUTES:.0f} min, once): {code}")
    if misfiled is not None:
        say(f"misfiled contact ids: {', '.join(misfiled.contact_ids[:SHOWN_IDS])}")
        say("audit them with:  zcrm-async audit --rule no-closed-lost --plan plan.csv  (with the flags above)")
    if summary is None:
        if misfiled is None:
            say("the world is empty: start with --seed-contacts 20 for contacts, deals and emails to try a backfill on")
        return
    say(f"contact ids: {', '.join(summary.contact_ids[:SHOWN_IDS])}")
    say(f"deal ids: {', '.join(summary.deal_ids[:SHOWN_IDS])}")
    say(f"message ids (emails of the first contact): {', '.join(fake.emails_of(summary.contact_ids[0])[:SHOWN_IDS])}")
    say(f"owner ids: {', '.join(summary.user_ids[:SHOWN_IDS])}")


def write_sample(fake: FakeZoho, summary: SeedSummary, path: Path, deals_per_contact: int) -> int:
    """A ``backfill link`` CSV: each seeded email no deal holds yet, to its contact's first deal; returns rows."""
    rows = 0
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(SAMPLE_FIELDS)
        for c, contact_id in enumerate(summary.contact_ids):
            deal_id = summary.deal_ids[c * deals_per_contact]
            for message_id in fake.emails_of(contact_id):
                email = fake.email(message_id)
                if email is None or fake.link_of(message_id) is not None:
                    continue
                owner = (
                    f"User {summary.user_ids.index(email.owner_id) + 1}" if email.owner_id in summary.user_ids else ""
                )
                writer.writerow([contact_id, message_id, deal_id, f"Deal {c + 1}.1", email.owner_id, owner])
                rows += 1
    return rows
