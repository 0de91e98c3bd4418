"""Find every email on the wrong deal, by a rule, and plan the backfill that fixes it. Nothing is changed in Zoho.

Deal Prediction (Kaizen #229) links a contact's incoming mail to a deal by a simple rule; a business then needs
to correct the links it gets wrong and add the ones it could not infer. An audit reads the org (the Stage
picklist, every deal, each contact's emails), asks a rule where each email belongs, and says what would change::

    from zcrm_async.audit import audit

    async with audit(crm, "no-closed-lost") as run:
        async for judgement in run:          # one per email, in constant memory
            print(judgement.action, judgement.email.message_id, judgement.reason)

A rule is a pure function ``(ContactDeals, EmailView) -> answer`` (see ``_rules`` for the built-ins), so rules
are tested without a server. ``zcrm-async audit`` writes the plan as backfill files (``PlanWriter``).
"""

from ._model import (
    LEAVE,
    Action,
    ContactDeals,
    Deal,
    EmailView,
    Judgement,
    Leave,
    Outcome,
    Rule,
    RuleAnswer,
    Verdict,
    action_for,
    as_verdict,
    judge,
)
from ._plan import BACKFILL_OF, PlanWriter, ReportWriter, Tally, plan_files
from ._read import DEAL_FIELDS, DealIndex, StageOutcomes, deal_from_record, read_deals, read_stage_outcomes
from ._rules import RULES, MappingRule, RuleError, load_rule, no_closed_lost, prediction, single_open_deal
from ._run import Audit, audit

__all__ = [
    "BACKFILL_OF",
    "DEAL_FIELDS",
    "LEAVE",
    "RULES",
    "Action",
    "Audit",
    "ContactDeals",
    "Deal",
    "DealIndex",
    "EmailView",
    "Judgement",
    "Leave",
    "MappingRule",
    "Outcome",
    "PlanWriter",
    "ReportWriter",
    "Rule",
    "RuleAnswer",
    "RuleError",
    "StageOutcomes",
    "Tally",
    "Verdict",
    "action_for",
    "as_verdict",
    "audit",
    "deal_from_record",
    "judge",
    "load_rule",
    "no_closed_lost",
    "plan_files",
    "prediction",
    "read_deals",
    "read_stage_outcomes",
    "single_open_deal",
]
