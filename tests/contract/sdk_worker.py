"""Zoho's official SDK (``zohocrmsdk8_0``) reading FakeZoho's answers; runs with the SDK's own venv.

``python tests/contract/sdk_worker.py SPEC_JSON`` calls every operation FakeZoho serves that the SDK has a model
for (Get Emails of a Record, every page; one email; Get Modules; Get Module by API name; Associate Email) and
prints one JSON object: per call, the HTTP status and the class of object the SDK parsed the answer into. The SDK
logs and swallows what it cannot parse and returns None, so a None or an unexpected class is the failure.

Standalone: it imports nothing from zcrm_async (not installed in the SDK's venv); the SDK is pointed at FakeZoho
by ``benchmarks/sdk_setup.py``, the benchmarks' workers' own set-up.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))  # sdk_setup, as a script's neighbour
from sdk_setup import connect


def main(spec: dict[str, Any]) -> dict[str, Any]:
    # fmt: off
    from zohocrmsdk.src.com.zoho.crm.api import ParameterMap  # type: ignore[import-not-found, import-untyped, unused-ignore]
    from zohocrmsdk.src.com.zoho.crm.api import associate_email as assoc  # type: ignore[import-not-found, import-untyped, unused-ignore]
    from zohocrmsdk.src.com.zoho.crm.api.email_related_records import (  # type: ignore[import-not-found, import-untyped, unused-ignore]
        EmailRelatedRecordsOperations,
        GetEmailsRelatedRecordsParam,
    )
    from zohocrmsdk.src.com.zoho.crm.api.modules import ModulesOperations  # type: ignore[import-not-found, import-untyped, unused-ignore]
    # fmt: on

    connect(spec, prefix="zcrm-sdk-contract-")
    calls: list[dict[str, Any]] = []

    def record(name: str, response: Any) -> Any:
        body = response.get_object() if response is not None else None
        calls.append(
            {
                "call": name,
                "status": response.get_status_code() if response is not None else None,
                "parsed_as": type(body).__name__ if body is not None else None,
            }
        )
        return body

    emails_read = 0
    for contact_id in spec["contact_ids"]:
        ops = EmailRelatedRecordsOperations(int(contact_id), "Contacts")
        index = None
        for _ in range(100):  # bounded: a contact has far fewer pages
            params = ParameterMap()
            if index is not None:
                params.add(GetEmailsRelatedRecordsParam.index, index)
            body = record("get_emails", ops.get_emails_related_records(params))
            if body is None or not hasattr(body, "get_emails"):
                break
            for email in body.get_emails() or []:
                emails_read += 1
                # Touch what a caller reads; the SDK's getters return what it parsed.
                email.get_message_id(), email.get_subject(), email.get_linked_record(), email.get_status()
            info = body.get_info()
            index = info.get_next_index() if info is not None else None
            if not index:
                break
    one = spec["one_email"]
    record(
        "get_email",
        EmailRelatedRecordsOperations(int(one["contact_id"]), "Contacts").get_emails_related_record(one["message_id"]),
    )
    record("get_modules", ModulesOperations().get_modules(ParameterMap()))
    record("get_module_by_api_name", ModulesOperations().get_module_by_api_name("Deals"))
    record("associate", _associate(assoc, one["contact_id"]))
    return {"calls": calls, "emails_read": emails_read}


def _associate(assoc: Any, contact_id: str) -> Any:
    email = assoc.AssociateEmail()
    sender = assoc.From()
    sender.set_email("ada@example.net")
    sender.set_user_name("Ada")
    email.set_from(sender)
    recipient = assoc.To()
    recipient.set_email("bob@example.net")
    recipient.set_user_name("Bob")
    email.set_to([recipient])
    email.set_subject("Logged by the SDK")
    email.set_content("Hello from the SDK")
    email.set_original_message_id("sdk-contract-1")
    email.set_sent(True)
    import datetime

    email.set_date_time(datetime.datetime(2026, 1, 2, 3, 4, 5, tzinfo=datetime.UTC))
    body = assoc.BodyWrapper()
    body.set_emails([email])
    return assoc.AssociateEmailOperations().associate(int(contact_id), "Contacts", body)


if __name__ == "__main__":
    print(json.dumps(main(json.loads(sys.argv[1]))), flush=True)
