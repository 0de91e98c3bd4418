"""Data centres and the per-edition budget (Zoho CRM API Limits; the Multi DC pages)."""

from __future__ import annotations

import dataclasses

import pytest

from zcrm_async import DATA_CENTRES, Budget, DataCentre

# private on purpose: the data-centre resolution, a pure function
from zcrm_async._config import resolve_data_centre

# Zoho's Multi DC pages: accounts server and production API domain per data centre.
PRODUCTION = {
    "us": ("https://accounts.zoho.com", "https://www.zohoapis.com"),
    "eu": ("https://accounts.zoho.eu", "https://www.zohoapis.eu"),
    "in": ("https://accounts.zoho.in", "https://www.zohoapis.in"),
    "au": ("https://accounts.zoho.com.au", "https://www.zohoapis.com.au"),
    "jp": ("https://accounts.zoho.jp", "https://www.zohoapis.jp"),
    "cn": ("https://accounts.zoho.com.cn", "https://www.zohoapis.com.cn"),
    "ca": ("https://accounts.zohocloud.ca", "https://www.zohoapis.ca"),
    "sa": ("https://accounts.zoho.sa", "https://www.zohoapis.sa"),
}
API_TLD = {"us": "com", "eu": "eu", "in": "in", "au": "com.au", "jp": "jp", "cn": "com.cn", "ca": "ca", "sa": "sa"}


@pytest.mark.parametrize("region", sorted(PRODUCTION))
def test_production_data_centre(region: str) -> None:
    accounts, api = PRODUCTION[region]
    assert resolve_data_centre(region) == DataCentre(accounts_url=accounts, api_domain=api)


@pytest.mark.parametrize("region", sorted(PRODUCTION))
@pytest.mark.parametrize("variant", ["sandbox", "developer"])
def test_sandbox_and_developer_share_accounts_but_not_the_api_domain(region: str, variant: str) -> None:
    dc = resolve_data_centre(f"{region}-{variant}")
    assert dc.accounts_url == PRODUCTION[region][0]
    assert dc.api_domain == f"https://{variant}.zohoapis.{API_TLD[region]}"


def test_the_table_holds_exactly_the_documented_data_centres() -> None:
    expected = {name for region in PRODUCTION for name in (region, f"{region}-sandbox", f"{region}-developer")}
    assert set(DATA_CENTRES) == expected


def test_canada_accounts_is_on_zohocloud() -> None:
    assert resolve_data_centre("ca").accounts_url == "https://accounts.zohocloud.ca"
    assert "zoho.ca" not in resolve_data_centre("ca").accounts_url


@pytest.mark.parametrize("name", ["EU", " eu ", "Eu-Sandbox"])
def test_names_are_case_and_space_insensitive(name: str) -> None:
    assert resolve_data_centre(name) == DATA_CENTRES[name.strip().lower()]


@pytest.mark.parametrize("name", ["uk", "ae", "", "us-staging", "zoho.com"])
def test_unknown_data_centre_lists_the_known_ones(name: str) -> None:
    with pytest.raises(ValueError, match="unknown Zoho data centre") as info:
        resolve_data_centre(name)
    message = str(info.value)
    for known in ("us", "eu", "in", "au", "jp", "cn", "ca", "sa", "eu-sandbox", "ca-developer"):
        assert known in message


def test_the_table_is_read_only() -> None:
    with pytest.raises(TypeError):
        DATA_CENTRES["xx"] = DataCentre("a", "b")  # type: ignore[index]
    with pytest.raises(dataclasses.FrozenInstanceError):
        DATA_CENTRES["us"].api_domain = "https://evil.example"  # type: ignore[misc]


# -- Budget.for_edition (Zoho CRM API Limits) --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("edition", "users", "concurrency", "credits"),
    [
        ("free", 1, 5, 5_000),
        ("free", 500, 5, 5_000),
        ("standard", 1, 10, 50_250),
        ("standard", 10, 10, 52_500),
        ("standard", 200, 10, 100_000),  # 100,000 cap
        ("professional", 10, 15, 55_000),
        ("professional", 5_900, 15, 3_000_000),  # exactly at the cap
        ("professional", 10_000, 15, 3_000_000),  # 5,050,000 capped
        ("enterprise", 100, 20, 150_000),
        ("enterprise", 4_950, 20, 5_000_000),
        ("enterprise", 10_000, 20, 5_000_000),
        ("ultimate", 1, 25, 52_000),
        ("ultimate", 10_000, 25, 20_050_000),  # no cap
    ],
)
def test_for_edition(edition: str, users: int, concurrency: int, credits: int) -> None:
    budget = Budget.for_edition(edition, users=users)
    assert budget.concurrency == concurrency
    assert budget.daily_credits == credits
    assert budget.heavy_concurrency == min(10, concurrency)  # Zoho's sub-concurrency of 10, never above the cap


def test_edition_names_are_case_insensitive() -> None:
    assert Budget.for_edition("Enterprise", users=3) == Budget.for_edition("enterprise", users=3)


def test_add_on_credits_add_up_below_the_cap() -> None:
    assert Budget.for_edition("professional", users=10, add_on_credits=1_000).daily_credits == 56_000
    assert Budget.for_edition("ultimate", users=1, add_on_credits=8_000).daily_credits == 60_000


def test_add_on_credits_count_against_the_cap() -> None:
    # Zoho CRM API Limits: available = min(50,000 + users x per-user + add-ons, edition max); Kaizen #203: the cap is
    # "up to 5,000,000 ... including add-on credits".
    assert Budget.for_edition("enterprise", users=4_900, add_on_credits=200_000).daily_credits == 5_000_000
    assert Budget.for_edition("free", add_on_credits=1_000).daily_credits == 5_000


def test_overrides_win() -> None:
    budget = Budget.for_edition(
        "enterprise", users=100, concurrency=8, heavy_concurrency=4, daily_credits=1234, costs={"emails.link": 2.0}
    )
    assert (budget.concurrency, budget.heavy_concurrency, budget.daily_credits) == (8, 4, 1234)
    assert budget.cost_of("emails.link") == 2.0
    assert budget.cost_of("emails.list") == 1.0


def test_unknown_override_is_a_type_error() -> None:
    with pytest.raises(TypeError):
        Budget.for_edition("free", concurency=3)


def test_unknown_edition_lists_the_known_ones() -> None:
    with pytest.raises(ValueError, match="unknown edition 'zoho-one'") as info:
        Budget.for_edition("zoho-one")
    for edition in ("free", "standard", "professional", "enterprise", "ultimate"):
        assert edition in str(info.value)


@pytest.mark.parametrize("users", [0, -1])
def test_users_must_be_positive(users: int) -> None:
    with pytest.raises(ValueError, match="users"):
        Budget.for_edition("standard", users=users)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"concurrency": 0},
        {"heavy_concurrency": 0},
        {"daily_credits": 0},
        {"default_cost": 0},
        {"costs": {"x": -1.0}},
        {"daily_credits": 10, "costs": {"x": 11.0}},
    ],
)
def test_budget_refuses_nonsense(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        Budget(**kwargs)  # type: ignore[arg-type]


def test_heavy_operations() -> None:
    budget = Budget()
    assert budget.is_heavy("records.list.sorted")
    assert not budget.is_heavy("emails.link")
    assert Budget(heavy=frozenset({"emails.link"})).is_heavy("emails.link")


def test_budget_is_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        Budget().concurrency = 99  # type: ignore[misc]
