"""Frozen configuration values: data centres, the org's budget, and timeouts.

Every Zoho number here is one Zoho documents, and every number can be overridden.

Where the numbers come from: the credits per edition (a base, so many per user licence, an edition maximum that
includes add-on credits) are Zoho's "Zoho CRM API Limits" page; the calls in flight per org and app (5, 10, 15,
20, 25 by edition) and the 3M/5M maximums are the Zoho CRM developer post "Kaizen #203 - Answering Your Questions
| Handling API Limits and Error Responses"; the sub-concurrency of 10 for complex APIs, and which APIs are
complex, is the "Sub-concurrency for complex APIs" announcement and the API limits page; the data centres'
accounts servers and API domains are the "Multi DC" pages of Zoho CRM and Zoho Accounts. Where sources disagree
(older Kaizen posts give lower maximums for Professional and Enterprise), the newer, higher figure is used and
can be lowered. The timeouts are this library's choice, not Zoho's.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from types import MappingProxyType
from typing import Literal

__all__ = [
    "DATA_CENTRES",
    "EDITIONS",
    "Budget",
    "DataCentre",
    "Timeouts",
    "resolve_data_centre",
]


@dataclasses.dataclass(frozen=True, slots=True)
class DataCentre:
    """Where an org lives: its Zoho Accounts server and its API domain."""

    accounts_url: str
    api_domain: str


def _dc(accounts_tld: str, api_tld: str) -> dict[str, DataCentre]:
    """The production, sandbox and developer variants of one data centre."""
    accounts = f"https://accounts.{accounts_tld}"
    return {
        "": DataCentre(accounts, f"https://www.zohoapis.{api_tld}"),
        "sandbox": DataCentre(accounts, f"https://sandbox.zohoapis.{api_tld}"),
        "developer": DataCentre(accounts, f"https://developer.zohoapis.{api_tld}"),
    }


_REGIONS = {
    "us": _dc("zoho.com", "com"),
    "eu": _dc("zoho.eu", "eu"),
    "in": _dc("zoho.in", "in"),
    "au": _dc("zoho.com.au", "com.au"),
    "jp": _dc("zoho.jp", "jp"),
    "cn": _dc("zoho.com.cn", "com.cn"),
    # Canada's accounts server is on zohocloud.ca, not zoho.ca (Zoho Accounts' "Multi DC support" page).
    "ca": _dc("zohocloud.ca", "ca"),
    "sa": _dc("zoho.sa", "sa"),
}

#: ``"us"``, ``"us-sandbox"``, ``"us-developer"``, ... for every data centre Zoho CRM documents.
DATA_CENTRES: Mapping[str, DataCentre] = MappingProxyType(
    {
        (region if variant == "" else f"{region}-{variant}"): dc
        for region, variants in _REGIONS.items()
        for variant, dc in variants.items()
    }
)


def resolve_data_centre(name: str) -> DataCentre:
    """Look up a data centre by name (``"eu"``, ``"eu-sandbox"``, case-insensitive)."""
    try:
        return DATA_CENTRES[name.strip().lower()]
    except KeyError:
        known = ", ".join(sorted(DATA_CENTRES))
        raise ValueError(f"unknown Zoho data centre {name!r}; expected one of: {known}") from None


Edition = Literal["free", "standard", "professional", "enterprise", "ultimate"]


@dataclasses.dataclass(frozen=True, slots=True)
class _EditionLimits:
    concurrency: int
    base_credits: int
    credits_per_user: int
    max_credits: int | None  # None: unlimited


#: Zoho's per-edition limits ("Zoho CRM API Limits"). Where sources disagree the caps follow that page.
EDITIONS: Mapping[str, _EditionLimits] = MappingProxyType(
    {
        "free": _EditionLimits(5, 5_000, 0, 5_000),
        "standard": _EditionLimits(10, 50_000, 250, 100_000),
        "professional": _EditionLimits(15, 50_000, 500, 3_000_000),
        "enterprise": _EditionLimits(20, 50_000, 1_000, 5_000_000),
        "ultimate": _EditionLimits(25, 50_000, 2_000, None),
    }
)

#: Credits per call by operation name, as Zoho publishes them; anything not listed costs ``Budget.default_cost``.
#: The Emails APIs have no documented cost in "Zoho CRM API Limits", so they cost 1 like every plain read. COQL is
#: priced by the LIMIT of the call ("Query API - An Overview": 1-200 rows 1 credit, 201-1,000 2, 1,001-2,000 3), so
#: each page goes out as the operation of its tier. A Bulk Read job costs 50 and a Bulk Write job 500 when it is
#: created ("Zoho CRM API Limits"); its status and its result file have no published cost and count 1 each.
DEFAULT_COSTS: Mapping[str, float] = MappingProxyType(
    {
        "coql.up_to_200": 1,
        "coql.up_to_1000": 2,
        "coql.up_to_2000": 3,
        "bulk.read.create": 50.0,
        "bulk.write.create": 500.0,
    }
)

#: Operations that count against Zoho's sub-concurrency of 10 for "complex" APIs ("Zoho CRM API Limits"). None of the
#: Emails endpoints is one; Get Records with cvid or sort_by is, and the client marks that itself; COQL is; so are
#: Insert, Update and Upsert Records of more than 10 records (their ``.bulk`` names; each call of them is priced 1
#: credit per 10 records: the table's cost times the call's ``units``).
DEFAULT_HEAVY: frozenset[str] = frozenset(
    {"records.list.sorted", "coql.up_to_200", "coql.up_to_1000", "coql.up_to_2000", "records.insert.bulk",
     "records.update.bulk", "records.upsert.bulk"}
)  # fmt: skip


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Budget:
    """How much of Zoho an org may use at once and per day. Build it with :meth:`for_edition`.

    Attributes:
        concurrency: calls in flight allowed at once (per org and app).
        heavy_concurrency: calls in flight allowed at once for the heavy APIs (Zoho's sub-concurrency).
        daily_credits: credits per rolling 24 h.
        costs: credits per call by operation name, overriding ``default_cost``. The client's operations:
            ``emails.list``, ``emails.get``, ``emails.link``, ``emails.unlink``, ``emails.associate``,
            ``records.list``, ``records.related.update``, ``records.get``, ``records.search``, ``records.count``,
            ``coql.up_to_200``, ``coql.up_to_1000``, ``coql.up_to_2000`` (a COQL call by its LIMIT),
            ``bulk.read.create``, ``bulk.read.status``, ``bulk.read.download``, ``bulk.write.upload``,
            ``bulk.write.create``, ``bulk.write.status``, ``bulk.write.download``, ``org.get``, ``records.insert``,
            ``records.update``, ``records.upsert`` (per 10 records; ``.bulk`` over 10 records), ``records.delete``.
            Zoho's published costs (``DEFAULT_COSTS``) apply to operations not named here.
        heavy: operation names that count against ``heavy_concurrency``.
        default_cost: credits of an operation not named in ``costs``.
    """

    concurrency: int = 10
    heavy_concurrency: int = 10
    daily_credits: int = 50_000
    costs: Mapping[str, float] = dataclasses.field(default_factory=lambda: DEFAULT_COSTS)
    heavy: frozenset[str] = DEFAULT_HEAVY
    default_cost: float = 1.0

    def __post_init__(self) -> None:
        if self.concurrency < 1 or self.heavy_concurrency < 1:
            raise ValueError("concurrency and heavy_concurrency must be at least 1")
        if self.daily_credits < 1:
            raise ValueError("daily_credits must be at least 1")
        if self.default_cost <= 0 or any(cost <= 0 for cost in self.costs.values()):
            raise ValueError("credit costs must be positive")
        # Zoho's own costs are not checked against a small budget: a call dearer than the whole day fails alone.
        own = [cost for name, cost in self.costs.items() if DEFAULT_COSTS.get(name) != cost]
        if max([self.default_cost, *own]) > self.daily_credits:
            raise ValueError("a credit cost cannot exceed daily_credits")

    @classmethod
    def for_edition(
        cls,
        edition: str,
        *,
        users: int = 1,
        add_on_credits: int = 0,
        **overrides: object,
    ) -> Budget:
        """The budget Zoho documents for an edition and a number of user licences.

        Daily credits are ``min(base + users * per_user + add_on_credits, edition max)`` ("Zoho CRM API Limits":
        the cap includes add-on credits).
        Any field can be overridden by keyword, e.g. ``Budget.for_edition("enterprise", concurrency=8)``.
        """
        try:
            limits = EDITIONS[edition.lower()]
        except KeyError:
            raise ValueError(f"unknown edition {edition!r}; expected one of: {', '.join(EDITIONS)}") from None
        if users < 1:
            raise ValueError("users must be at least 1")
        credits = limits.base_credits + users * limits.credits_per_user + add_on_credits
        if limits.max_credits is not None:
            credits = min(credits, limits.max_credits)
        values: dict[str, object] = {
            "concurrency": limits.concurrency,
            "heavy_concurrency": min(10, limits.concurrency),
            "daily_credits": credits,
        }
        values.update(overrides)
        return cls(**values)  # type: ignore[arg-type]

    def cost_of(self, operation: str) -> float:
        """Credits one call of ``operation`` costs: ``costs``, else Zoho's published cost, else ``default_cost``."""
        cost = self.costs.get(operation)
        if cost is None:
            cost = DEFAULT_COSTS.get(operation, self.default_cost)
        return cost

    def is_heavy(self, operation: str) -> bool:
        """Whether ``operation`` counts against the heavy sub-cap."""
        return operation in self.heavy


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Timeouts:
    """Per-request timeouts of the transport, in seconds (high-level calls take none: use anyio.fail_after)."""

    connect: float = 10.0
    total: float = 60.0
