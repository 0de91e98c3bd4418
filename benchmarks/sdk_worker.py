"""The official SDK's side of figure 5; runs with ``benchmarks/.sdk-venv``'s python, never the project's.

``python benchmarks/sdk_worker.py SPEC_JSON`` reads every email of the given contacts through Zoho's SDK
``zohocrmsdk8_0`` 7.0.0 (sync, requests-based), in a ``ThreadPoolExecutor`` of ``threads`` workers, one contact per
task following ``info.next_index``, and prints one JSON line: counts, wall and CPU time.

Standalone on purpose: it imports nothing from zcrm_async (that package is not installed in the SDK's venv).
Setup that makes the SDK talk to FakeZoho (read from the SDK 7.0.0's source):

- ``DataCenter.Environment(url, accounts_url, file_upload_url)`` pointed at the fake; the SDK posts the refresh
  grant to ``accounts_url`` as is, so it is the fake's token URL;
- ``SDKConfig(update_api_domain=False)``: the fake's token response carries ``api_domain``, which would otherwise
  switch the SDK to a production URL;
- ``OAuthToken(find_user=False)``: no ``GET /users?type=CurrentUser`` (the fake has no Users API);
- token store and field-metadata resource path in a temporary directory.

Get Emails of a Record (``EmailRelatedRecordsOperations.get_emails_related_records``) does not fetch field
metadata first (its response is not a record), so the SDK sends exactly one request per page here.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor, wait
from typing import Any


def main(spec: dict[str, Any]) -> dict[str, Any]:
    # The SDK lives only in benchmarks/.sdk-venv and ships no types: mypy (run in the project's venv) sees neither.
    # fmt: off
    from zohocrmsdk.src.com.zoho.api.authenticator.oauth_token import OAuthToken  # type: ignore[import-not-found, import-untyped, unused-ignore]
    from zohocrmsdk.src.com.zoho.api.authenticator.store.file_store import FileStore  # type: ignore[import-not-found, import-untyped, unused-ignore]
    from zohocrmsdk.src.com.zoho.api.logger import Logger  # type: ignore[import-not-found, import-untyped, unused-ignore]
    from zohocrmsdk.src.com.zoho.crm.api import ParameterMap  # type: ignore[import-not-found, import-untyped, unused-ignore]
    from zohocrmsdk.src.com.zoho.crm.api.dc.data_center import DataCenter  # type: ignore[import-not-found, import-untyped, unused-ignore]
    from zohocrmsdk.src.com.zoho.crm.api.email_related_records import (  # type: ignore[import-not-found, import-untyped, unused-ignore]
        EmailRelatedRecordsOperations,
        GetEmailsRelatedRecordsParam,
        ResponseWrapper,
    )
    from zohocrmsdk.src.com.zoho.crm.api.initializer import Initializer  # type: ignore[import-not-found, import-untyped, unused-ignore]
    from zohocrmsdk.src.com.zoho.crm.api.sdk_config import SDKConfig  # type: ignore[import-not-found, import-untyped, unused-ignore]
    # fmt: on

    if spec.get("cpu") is not None and hasattr(os, "sched_setaffinity") and (os.cpu_count() or 1) >= 2:
        os.sched_setaffinity(0, {spec["cpu"]})  # the client's core, apart from the fake's, as for our client
    url = spec["url"]
    with open(spec["seed_file"]) as f:
        ids = json.load(f)["contact_ids"][: spec["contacts"]]
    workdir = tempfile.mkdtemp(prefix="zcrm-bench-sdk-")
    Initializer.initialize(
        environment=DataCenter.Environment(url, f"{url}/oauth/v2/token", url),
        token=OAuthToken(
            client_id=spec["client_id"],
            client_secret=spec["client_secret"],
            refresh_token=spec["refresh_token"],
            find_user=False,
        ),
        store=FileStore(f"{workdir}/sdk_tokens.txt"),
        sdk_config=SDKConfig(auto_refresh_fields=False, pick_list_validation=False, update_api_domain=False),
        resource_path=workdir,
        logger=Logger.get_instance(level=Logger.Levels.CRITICAL, file_path=f"{workdir}/sdk.log"),
    )
    lock = threading.Lock()
    counts = {"requests": 0, "emails": 0, "throttled": 0, "errors": 0, "contacts_done": 0}
    deadline = time.monotonic() + spec["deadline"]
    first_error: list[str] = []

    def read_contact(record_id: str) -> None:
        ops = EmailRelatedRecordsOperations(int(record_id), "Contacts")
        index: str | None = None
        while time.monotonic() < deadline:
            params = ParameterMap()
            if index is not None:
                params.add(GetEmailsRelatedRecordsParam.index, index)
            response = ops.get_emails_related_records(params)
            status = response.get_status_code() if response is not None else None
            body = response.get_object() if response is not None else None
            with lock:
                counts["requests"] += 1
                counts["throttled"] += status == 429
            if not isinstance(body, ResponseWrapper):
                with lock:
                    counts["errors"] += 1
                    if not first_error:
                        first_error.append(f"status {status}: {body!r}")
                return
            emails = body.get_emails() or []
            info = body.get_info()
            with lock:
                counts["emails"] += len(emails)
            index = info.get_next_index() if info is not None else None
            if not (info is not None and info.get_more_records() and index):
                with lock:
                    counts["contacts_done"] += 1
                return

    # The token once, outside the timing, as the other clients do.
    EmailRelatedRecordsOperations(int(ids[0]), "Contacts").get_emails_related_records(ParameterMap())
    cpu, wall = time.process_time(), time.perf_counter()
    with ThreadPoolExecutor(max_workers=spec["threads"]) as pool:
        wait([pool.submit(read_contact, record_id) for record_id in ids], timeout=spec["deadline"] + 5)
    result: dict[str, Any] = {
        **counts,
        "contacts": len(ids),
        "cpu": time.process_time() - cpu,
        "wall": time.perf_counter() - wall,
        "first_error": first_error[0] if first_error else None,
    }
    return result


if __name__ == "__main__":
    print(json.dumps(main(json.loads(sys.argv[1]))), flush=True)
