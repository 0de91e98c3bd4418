"""The audit's rules as pure functions: no server, no client."""

from __future__ import annotations

import datetime
import sys
import textwrap
from pathlib import Path

import pytest

from zcrm_async.audit import (
    LEAVE,
    ContactDeals,
    Deal,
    EmailView,
    MappingRule,
    RuleError,
    StageOutcomes,
    Verdict,
    deal_from_record,
    judge,
    load_rule,
    no_closed_lost,
    prediction,
    single_open_deal,
)

CONTACT = "5843104000000425349"
OWNER = "5843104000000424672"


def deal(deal_id: str, outcome: str = "open", minute: int = 0) -> Deal:
    modified = datetime.datetime(2026, 1, 1, 9, minute, tzinfo=datetime.UTC)
    stage = {"open": "Qualification", "won": "Closed Won", "lost": "Closed Lost"}[outcome]
    return Deal(id=deal_id, name=f"Deal {deal_id}", stage=stage, outcome=outcome,  # type: ignore[arg-type]
                contact_id=CONTACT, modified_time=modified)  # fmt: skip


def email(linked: Deal | None = None, *, sent: bool = False, owner: str | None = OWNER) -> EmailView:
    return EmailView(contact_id=CONTACT, message_id="abc123", linked=linked, sent=sent, owner_id=owner)


def contact(*deals: Deal) -> ContactDeals:
    return ContactDeals.of(CONTACT, deals)


def no_deal_lookup(deal_id: str) -> Deal | None:
    return None


# -- prediction ----------------------------------------------------------------------------------------------


def test_prediction_picks_the_only_open_deal_whatever_closed_deals_are_newer() -> None:
    only, lost, won = deal("1", "open", 1), deal("2", "lost", 9), deal("3", "won", 8)
    verdict = prediction(contact(only, lost, won), email(lost))
    assert verdict.deal == only and not verdict.leave


def test_prediction_picks_the_most_recently_modified_of_several_open_deals() -> None:
    older, newer = deal("1", "open", 1), deal("2", "open", 5)
    assert prediction(contact(older, newer), email(older)).deal == newer
    assert prediction(contact(newer, older), email(None)).deal == newer  # input order does not matter


def test_prediction_equal_times_prefer_the_newer_id() -> None:
    a, b = deal("10", "open", 3), deal("11", "open", 3)
    assert prediction(contact(a, b), email()).deal == b


def test_prediction_links_nothing_when_every_deal_is_closed() -> None:
    verdict = prediction(contact(deal("1", "lost"), deal("2", "won")), email(deal("1", "lost")))
    assert verdict.deal is None and not verdict.leave


def test_prediction_leaves_sent_email_alone() -> None:
    assert prediction(contact(deal("1")), email(None, sent=True)).leave


# -- no-closed-lost ------------------------------------------------------------------------------------------


def test_no_closed_lost_moves_to_the_single_open_deal() -> None:
    lost, open_deal = deal("1", "lost"), deal("2", "open")
    verdict = no_closed_lost(contact(lost, open_deal), email(lost))
    assert verdict.deal == open_deal and "closed-lost" in verdict.reason


@pytest.mark.parametrize("open_deals", [0, 2])
def test_no_closed_lost_unlinks_without_a_single_open_deal(open_deals: int) -> None:
    lost = deal("1", "lost")
    others = [deal(str(10 + i), "open", i) for i in range(open_deals)]
    verdict = no_closed_lost(contact(lost, *others), email(lost))
    assert verdict.deal is None and not verdict.leave


def test_no_closed_lost_leaves_everything_else() -> None:
    open_deal, won = deal("2", "open"), deal("3", "won")
    for linked in (None, open_deal, won):
        assert no_closed_lost(contact(open_deal, won), email(linked)).leave


# -- single-open-deal ----------------------------------------------------------------------------------------


def test_single_open_deal_links_an_unlinked_email() -> None:
    only = deal("2", "open")
    assert single_open_deal(contact(deal("1", "lost"), only), email(None)).deal == only


def test_single_open_deal_leaves_linked_email_and_ambiguous_contacts() -> None:
    a, b = deal("1"), deal("2", minute=3)
    assert single_open_deal(contact(a), email(a)).leave
    assert single_open_deal(contact(a, b), email(None)).leave
    assert single_open_deal(contact(), email(None)).leave


# -- judging: verdict vs current link -------------------------------------------------------------------------


def test_actions_follow_from_verdict_and_current_link() -> None:
    a, b = deal("1"), deal("2", minute=2)
    c = contact(a, b)
    assert judge(lambda _c, _e: b, c, email(a), no_deal_lookup).action == "move"
    assert judge(lambda _c, _e: b, c, email(b), no_deal_lookup).action == "right"
    assert judge(lambda _c, _e: "2", c, email(None), no_deal_lookup).action == "link"
    assert judge(lambda _c, _e: None, c, email(a), no_deal_lookup).action == "unlink"
    assert judge(lambda _c, _e: None, c, email(None), no_deal_lookup).action == "right"
    assert judge(lambda _c, _e: LEAVE, c, email(a), no_deal_lookup).action == "leave"


def test_a_deal_id_outside_the_contact_is_looked_up_then_kept_as_a_bare_id() -> None:
    far = Deal(id="99", name="Far away", outcome="open")
    judged = judge(lambda _c, _e: "99", contact(), email(None), {"99": far}.get)
    assert judged.target == far
    judged = judge(lambda _c, _e: "98", contact(), email(None), no_deal_lookup)
    assert judged.target == Deal(id="98") and judged.action == "link"


def test_no_change_is_planned_for_an_email_without_owner() -> None:
    judged = judge(lambda _c, _e: "1", contact(deal("1")), email(None, owner=None), no_deal_lookup)
    assert judged.action == "leave" and "owner" in judged.reason


def test_a_rule_returning_nonsense_is_an_error() -> None:
    with pytest.raises(TypeError, match="a rule returned int"):
        judge(lambda _c, _e: 5, contact(), email(), no_deal_lookup)  # type: ignore[arg-type,return-value]


# -- user rules -----------------------------------------------------------------------------------------------


def test_mapping_by_message_and_by_thread(tmp_path: Path) -> None:
    path = tmp_path / "truth.csv"
    path.write_text("message_id,thread_id,deal_id,reason\nabc123,,2,told so\n,t1,,\n", encoding="utf-8")
    rule = load_rule(str(path))
    assert isinstance(rule, MappingRule) and rule.needs_thread_ids
    b = deal("2")
    verdict = rule(contact(b), email(None))
    assert verdict == Verdict.belongs_on(b, "told so")
    other = EmailView(contact_id=CONTACT, message_id="zzz", linked=b, owner_id=OWNER, thread_id="t1")
    assert rule(contact(b), other).deal is None and not rule(contact(b), other).leave
    stranger = EmailView(contact_id=CONTACT, message_id="zzz", linked=b, owner_id=OWNER)
    assert rule(contact(b), stranger).leave


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("message_id,deal\nabc,1\n", "header needs"),
        ("message_id,deal_id\nabc,1\nabc,2\n", "mapped twice"),
        ("message_id,deal_id\nabc,x1\n", "numeric"),
        ("message_id,thread_id,deal_id\nabc,t,1\n", "exactly one"),
    ],
)
def test_bad_mappings_are_refused_with_their_line(tmp_path: Path, text: str, problem: str) -> None:
    path = tmp_path / "m.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(RuleError, match=problem):
        load_rule(str(path))


def test_module_function_rules_load_from_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "my_audit_rules.py").write_text(textwrap.dedent("""
        def newest(contact, email):
            return contact.deals[0] if contact.deals else None
    """), encoding="utf-8")  # fmt: skip
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", [p for p in sys.path if p not in ("", str(tmp_path))])
    rule = load_rule("my_audit_rules:newest")
    a, b = deal("1", minute=1), deal("2", "lost", minute=7)
    assert judge(rule, contact(a, b), email(a), no_deal_lookup).action == "move"
    sys.modules.pop("my_audit_rules", None)


@pytest.mark.parametrize("spec", ["no-such-rule", "no_such_module_xyz:f", "zcrm_async.audit:nothing_here"])
def test_unknown_rules_are_refused(spec: str) -> None:
    with pytest.raises(RuleError):
        load_rule(spec)


# -- stages and deal records ---------------------------------------------------------------------------------


def test_overrides_replace_the_metadata_placement() -> None:
    read = StageOutcomes({"Won": "won", "Lost": "lost", "Dead": "open", "Qualify": "open"})
    table = read.overridden(None, ["Dead"])
    assert table.outcome("Dead") == "lost" and table.outcome("Lost") == "open" and table.outcome("Won") == "won"
    assert table.outcome("Unheard of") == "unknown" and table.outcome(None) == "unknown"
    fixed = StageOutcomes.from_overrides(["Won"], ["Lost", "Dead"])
    assert fixed.outcome("Anything") == "open" and fixed.outcome("Dead") == "lost"


def test_deal_from_a_get_records_row() -> None:
    row = {
        "id": "7", "Deal_Name": "Travel Insurance", "Stage": "Lost (no budget)",
        "Contact_Name": {"name": "Ada", "id": "42"}, "Modified_Time": "2026-03-01T10:00:00+05:30",
        "Closing_Date": "2026-04-30", "Owner": {"name": "Patricia Boyle", "id": "5", "email": "p@x.com"},
    }  # fmt: skip
    made = deal_from_record(row, StageOutcomes({"Lost (no budget)": "lost"}))
    assert made.closed_lost and made.contact_id == "42" and made.owner_id == "5"
    assert made.modified_time == datetime.datetime(2026, 3, 1, 4, 30, tzinfo=datetime.UTC)
    assert made.closing_date == datetime.date(2026, 4, 30)
    bare = deal_from_record({"id": 8, "Contact_Name": None, "Modified_Time": "garbage"}, StageOutcomes({}))
    assert bare == Deal(id="8")
