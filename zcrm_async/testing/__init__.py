"""Test helpers for users of zcrm_async: a faithful fake Zoho server and a mock transport.

- ``FakeZoho``: an aiohttp.web application that behaves like Zoho CRM as documented (OAuth, the Emails
  endpoints, records, credits, concurrency caps, faults). Start it with ``async with FakeZoho() as fake`` or as a
  process with ``zcrm-async fake-server``.
- ``MockTransport``: answers the client's requests with a function, for unit tests without a server.

What FakeZoho follows, and each choice it makes where Zoho's docs are silent (order of checks, credit costs,
cursors, error shapes), is listed in the docstring of ``zcrm_async.testing._fake_app``; the domain rules (ids,
Deal Prediction, links) in that of ``zcrm_async.testing._fake_world``.
"""

from ._fake import DEALS_MODULE_ID, FakeConfig, FakeStats, FakeZoho, Leniency, SeedSummary
from ._mock import MockTransport, json_response

__all__ = [
    "DEALS_MODULE_ID",
    "FakeConfig",
    "FakeStats",
    "FakeZoho",
    "Leniency",
    "MockTransport",
    "SeedSummary",
    "json_response",
]
