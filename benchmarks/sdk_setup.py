"""What every script run in the SDK's own venv shares: Zoho's official SDK pointed at FakeZoho, once per process.

Stdlib and the SDK only: zcrm_async is not installed in that venv. The workers import this file as a top-level
module (``benchmarks/`` is on ``sys.path``: the folder of the script run, or put there by
``tests/contract/sdk_worker.py``). The set-up, read from the SDK 7.0.0's source:

- ``DataCenter.Environment(url, accounts_url, file_upload_url)`` pointed at the fake; the SDK posts the refresh
  grant to ``accounts_url`` as is, so it is the fake's token URL;
- ``SDKConfig(update_api_domain=False)``: the fake's token response carries ``api_domain``, which would otherwise
  switch the SDK to a production URL;
- ``OAuthToken(find_user=False)``: no ``GET /users?type=CurrentUser`` (the fake has no Users API);
- token store, field-metadata resource path and log in a temporary directory of their own.
"""

from __future__ import annotations

import os
import tempfile
from typing import Any


def connect(spec: dict[str, Any], *, prefix: str) -> str:
    """Initialise the SDK against ``spec["url"]`` with the spec's OAuth client; returns its temporary directory."""
    # The SDK lives only in benchmarks/.sdk-venv and ships no types: mypy (run in the project's venv) sees neither.
    # fmt: off
    from zohocrmsdk.src.com.zoho.api.authenticator.oauth_token import OAuthToken  # type: ignore[import-not-found, import-untyped, unused-ignore]
    from zohocrmsdk.src.com.zoho.api.authenticator.store.file_store import FileStore  # type: ignore[import-not-found, import-untyped, unused-ignore]
    from zohocrmsdk.src.com.zoho.api.logger import Logger  # type: ignore[import-not-found, import-untyped, unused-ignore]
    from zohocrmsdk.src.com.zoho.crm.api.dc.data_center import DataCenter  # type: ignore[import-not-found, import-untyped, unused-ignore]
    from zohocrmsdk.src.com.zoho.crm.api.initializer import Initializer  # type: ignore[import-not-found, import-untyped, unused-ignore]
    from zohocrmsdk.src.com.zoho.crm.api.sdk_config import SDKConfig  # type: ignore[import-not-found, import-untyped, unused-ignore]
    # fmt: on

    url = spec["url"]
    workdir = tempfile.mkdtemp(prefix=prefix)
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
    return workdir


def pin_cpu(spec: dict[str, Any]) -> None:
    """Run on ``spec["cpu"]`` (the client's core, apart from the fake's, as for our client) when there are two."""
    if spec.get("cpu") is not None and hasattr(os, "sched_setaffinity") and (os.cpu_count() or 1) >= 2:
        os.sched_setaffinity(0, {spec["cpu"]})
