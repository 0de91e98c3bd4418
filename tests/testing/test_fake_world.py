"""FakeZoho's world: which deal a received email is predicted onto, and a seeded world the same every time."""

from __future__ import annotations

from zcrm_async.testing import FakeConfig, FakeZoho

# -- Deal Prediction ------------------------------------------------------------------------------------


def test_deal_prediction_rules() -> None:
    fake = FakeZoho()
    user = fake.add_user("Owner")
    one = fake.add_contact("One open deal")
    only = fake.add_deal("Only", [one])
    fake.add_deal("Lost", [one], closed_lost=True)
    assert fake.link_of(fake.add_email(one, user)) == only
    assert fake.link_of(fake.add_email(one, user, received=False)) is None  # sent mail is not predicted

    several = fake.add_contact("Several")
    older = fake.add_deal("Older", [several])
    newer = fake.add_deal("Newer", [several])
    fake.add_deal("Newest but lost", [several], closed_lost=True)
    assert fake.link_of(fake.add_email(several, user)) == newer
    fake.touch_deal(older)
    assert fake.link_of(fake.add_email(several, user)) == older

    none = fake.add_contact("No valid deals")
    fake.add_deal("Lost", [none], closed_lost=True)
    fake.add_deal("Won", [none], closed_won=True)
    assert fake.link_of(fake.add_email(none, user)) is None
    assert fake.link_of(fake.add_email(fake.add_contact("No deals"), user)) is None


def test_seed_world_is_deterministic() -> None:
    a, b = FakeZoho(FakeConfig(seed=7)), FakeZoho(FakeConfig(seed=7))
    sa, sb = a.seed_world(contacts=20, emails_per_contact=4), b.seed_world(contacts=20, emails_per_contact=4)
    assert sa == sb and len(sa.message_ids) == 80 and 0 < sa.linked <= 80
    assert all(len(m) in (64, 96) and int(m, 16) >= 0 for m in sa.message_ids)
    assert all(len(i) == 19 and i.isdigit() for i in sa.contact_ids + sa.deal_ids)
    assert a.emails_of(sa.contact_ids[0]) == list(reversed(sa.message_ids[:4]))
