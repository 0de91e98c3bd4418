"""Figure 4: encode and decode, msgspec Structs (what the library uses) vs stdlib ``json`` to and from dicts.

- decode: one Get Emails page of 10 emails, shaped like the sample in Zoho's "Get Emails of a Record" page
  (its two sample emails, one with a bounce status, repeated with distinct ids):
  ``models.decode_emails_page(body)`` vs ``json.loads(body)``.
- encode: a 20-item Link Deal to Emails body, built from the same inputs each time: ``LinkItem`` Structs +
  ``models.encode_link_body`` vs dicts + ``json.dumps(...).encode()``.

In process, ``timeit`` with 5 repeats; the figure is the median repeat's time per operation (the best is in the
JSON too). Ratio = ours / stdlib (below 1 is faster).
"""

from __future__ import annotations

import json
import statistics
import timeit
from typing import Any

from .bench_harness import Options, Row

GOAL = 0.5


def sample_page(count: int = 10) -> bytes:
    """A Get Emails page in the doc sample's shape (key order and values as in the sample)."""
    emails = []
    for i in range(count):
        bounced = i % 2 == 1
        emails.append(
            {
                "cc": None,
                "has_thread_attachment": False,
                "summary": None,
                "owner": {"name": "Patricia Boyle", "id": "2313985000000470001"},
                "read": True,
                "subject": "test with attachment",
                "message_id": f"{i + 0xF1605986931C:096x}",  # 96 hex characters, as in the sample
                "has_attachment": False,
                "source": "individual",
                "sent": True,
                "intent": None,
                "sentiment_info": None,
                "linked_record": None,
                "related_to_record": None,
                "emotion": None,
                "from": {"user_name": "Patricia Boyle", "email": "p.boyle@abc.com"},
                "to": [
                    {"user_name": "Mr. Christopher Maclead", "email": "christopher-maclead@noemail.com"},
                    {"user_name": "christopher-maclead", "email": "christopher-maclead@34523.com"},
                ]
                if not bounced
                else [{"user_name": "John Smith", "email": "smith.j@gmail.com"}],
                "time": "2023-12-06T11:55:16+05:30" if not bounced else "2023-10-30T11:19:42+05:30",
                "status": [{"type": "sent"}]
                if not bounced
                else [
                    {
                        "bounced_time": "2023-11-03T08:10:58+05:30",
                        "sub_category": "Temporary Domain Failure",
                        "bounced_reason": "Retries Exhausted. Host not reachable.",
                        "type": "bounced",
                        "category": "Temporarily blocked",
                    }
                ],
            }
        )
    info = {"per_page": 10, "next_index": "a" * 96, "count": count, "prev_index": "0", "more_records": True}
    return json.dumps({"Emails": emails, "info": info}).encode()


LINK_INPUTS = [(f"{i:064x}", "2313985000000470001", f"58431040000004{i:05d}", f"Deal {i}") for i in range(20)]


def _measure(fn: Any, number: int) -> dict[str, float]:
    runs = [t / number * 1e6 for t in timeit.repeat(fn, repeat=5, number=number)]
    return {"median_us": statistics.median(runs), "best_us": min(runs)}


def run(options: Options) -> list[Row]:
    from zcrm_async.models import LinkedRecord, LinkItem, ModuleRef, Owner, decode_emails_page, encode_link_body

    number = 2_000 if options.quick else 20_000
    page = sample_page()
    assert len(decode_emails_page(page).Emails) == len(json.loads(page)["Emails"]) == 10

    def link_structs() -> bytes:
        module = ModuleRef(api_name="Deals")
        return encode_link_body(
            [
                LinkItem(
                    owner=Owner(id=owner), message_id=mid, linked_record=LinkedRecord(module=module, id=deal, name=name)
                )
                for mid, owner, deal, name in LINK_INPUTS
            ]
        )

    def link_dicts() -> bytes:
        return json.dumps(
            {
                "Emails": [
                    {
                        "owner": {"id": owner},
                        "message_id": mid,
                        "linked_record": {"module": {"api_name": "Deals"}, "id": deal, "name": name},
                    }
                    for mid, owner, deal, name in LINK_INPUTS
                ]
            }
        ).encode()

    assert json.loads(link_structs()) == json.loads(link_dicts())
    cases = {
        "decode a Get Emails page (10 emails)": (lambda: decode_emails_page(page), lambda: json.loads(page)),
        "build + encode a 20-item link body": (link_structs, link_dicts),
    }
    rows = []
    for name, (ours_fn, stdlib_fn) in cases.items():
        ours, stdlib = _measure(ours_fn, number), _measure(stdlib_fn, number)
        ratio = ours["median_us"] / stdlib["median_us"]
        rows.append(
            Row(
                f"4. {name}",
                f"msgspec Struct {ours['median_us']:.1f} µs",
                f"stdlib json to dicts {stdlib['median_us']:.1f} µs",
                f"{ratio:.2f}x ({1 / ratio:.1f}x faster)",
                f"<= {GOAL:.2f}x",
                "PASS" if ratio <= GOAL else "FAIL",
                {
                    "ours": ours,
                    "stdlib": stdlib,
                    "ratio": ratio,
                    "number": number,
                    "repeat": 5,
                    "bytes": len(page) if "decode" in name else len(link_structs()),
                },
            )
        )
    return rows
