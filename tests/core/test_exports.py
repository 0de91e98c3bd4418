"""The public names: exported on purpose, sorted, and pinned; the plumbing in its own submodule.

Every public module (no leading underscore anywhere in its dotted name, in any package) has its ``__all__``
pinned in ``SUBMODULES``; a new public module fails here until its names are pinned too.
"""

from __future__ import annotations

import importlib
import pkgutil

import pytest

import zcrm_async
import zcrm_async.coql
import zcrm_async.emails
import zcrm_async.plumbing
import zcrm_async.search

EXPECTED = [
    "DATA_CENTRES",
    "EDITIONS",
    "APIError",
    "AccessToken",
    "Address",
    "AssociateEmail",
    "Attachment",
    "AuthenticationError",
    "Budget",
    "BulkError",
    "BulkFileError",
    "BulkJobFailed",
    "BulkResult",
    "BulkStream",
    "Counters",
    "DataCentre",
    "DealLink",
    "DealUnlink",
    "Email",
    "EmailSummary",
    "Emails",
    "EmailsPage",
    "Event",
    "EventBus",
    "FileTokenStore",
    "Grant",
    "InvalidItemError",
    "InvalidRequestError",
    "ItemProblem",
    "ItemResult",
    "LinkedRecord",
    "MemoryTokenStore",
    "MissingScopeError",
    "ModuleRef",
    "NotFoundError",
    "OAuthCredentials",
    "Owner",
    "PageInfo",
    "PaginationError",
    "PermissionDeniedError",
    "PlannedRequest",
    "RateLimitError",
    "Records",
    "RecordsInfo",
    "RecordsPage",
    "RedisUnavailable",
    "RequestTimeout",
    "ResponseDecodeError",
    "ResponseTooLarge",
    "RetryPolicy",
    "ServerError",
    "StatusEntry",
    "Stream",
    "Timeouts",
    "TokenStore",
    "TransportError",
    "ZohoCRM",
    "ZohoError",
    "__version__",
    "env_file_problem",
    "exchange_grant_code",
    "raise_for_status",
    "read_env_file",
    "write_env_file",
]

#: Every public submodule's ``__all__``, exactly. ``__main__`` modules are entry points (``python -m``), no API.
SUBMODULES = {
    "zcrm_async.audit": [
        "BACKFILL_OF", "DEAL_FIELDS", "LEAVE", "RULES", "Action", "Audit", "ContactDeals", "Deal", "DealIndex",
        "EmailView", "Judgement", "Leave", "MappingRule", "Outcome", "PlanWriter", "ReportWriter", "Rule", "RuleAnswer",
        "RuleError", "StageOutcomes", "Tally", "Verdict", "action_for", "as_verdict", "audit", "deal_from_record",
        "judge", "load_rule", "no_closed_lost", "plan_files", "prediction", "read_deals", "read_stage_outcomes",
        "single_open_deal",
    ],
    "zcrm_async.backfill": [
        "EMAIL_LAYOUT", "INVALID_ROW", "LINK", "RELINK", "UNLINK", "UNREACHABLE_AFTER", "Answered",
        "BackfillOp", "EmailBackfill", "InputChanged", "Journal", "JournalBusy", "JournalItem", "JournalMismatch",
        "Layout", "Outcome", "Progress", "Remember", "Report", "Row", "RowsSource", "RunResult", "Settlement",
        "Source", "Stop", "StopReason", "Tally", "failed_rows_path", "rows_source", "run", "write_failed_rows",
        "write_report",
    ],
    "zcrm_async.bulk_jobs": [
        "MAX_ROWS_PER_JOB", "MAX_ZIP_BYTES", "BulkJobs", "BulkRead", "BulkReadJob", "BulkReadResult", "BulkWrite",
        "BulkWriteFile", "BulkWriteJob", "BulkWriteResource", "JobNotices", "Poll",
    ],
    "zcrm_async.cli": ["main"],
    "zcrm_async.coql": ["Condition", "CoqlInfo", "CoqlPage", "Field", "Query", "field", "quote"],
    "zcrm_async.emails": [
        "API_VERSION", "ASSOCIATE_CHUNK", "EMAIL_TYPES", "LINK_UNVERIFIED", "MAX_ASSOCIATE_ITEMS", "MAX_LINK_ITEMS",
        "MAX_UNLINK_CHARS", "MAX_UNLINK_IDS", "NOT_LINKED", "AssociateEmail", "BeforeUnlink", "DealLink", "DealUnlink",
        "Emails", "InvalidItemError", "ItemProblem", "PlannedRequest", "ProgressCallback", "find_problems",
        "plan_link_deal", "plan_relink", "plan_unlink_deal",
    ],
    "zcrm_async.models": [
        "Address", "AssociateEmail", "Attachment", "Email", "EmailSummary", "EmailsPage", "ItemStatus", "LinkItem",
        "LinkedRecord", "ModuleRef", "Owner", "PageInfo", "RecordsInfo", "RecordsPage", "StatusEntry",
    ],
    "zcrm_async.modules": ["Modules"],
    "zcrm_async.outcomes": [
        "ALREADY_LINKED", "BULK_JOB_FAILED", "DUPLICATE_DATA", "INTERNAL_ERROR", "INVALID_DATA", "INVALID_ITEM",
        "LIMIT_EXCEEDED", "LINK_UNVERIFIED", "NOT_ALLOWED", "NOT_LINKED", "NOT_SENT", "NO_CONTENT", "NO_RESULT",
        "REDIS_UNAVAILABLE", "RESTORE_FAILED", "SKIPPED", "SUCCESS", "TOO_MANY_REQUESTS", "TRANSIENT",
        "TRANSPORT_ERROR", "UNKNOWN", "UNPROCESSED", "UNREADABLE_RESULT", "is_transient",
    ],
    "zcrm_async.plumbing": [
        "AiohttpTransport", "Limiter", "LocalLimiter", "Permit", "Request", "Response", "Transport", "first_error",
    ],
    "zcrm_async.records": ["Records", "system_duplicate_check_field"],
    "zcrm_async.redis": ["RedisLimiter", "RedisTokenStore"],
    "zcrm_async.search": ["Criteria", "Operator", "criterion", "escape"],
    "zcrm_async.testing": [
        "DEALS_MODULE_ID", "FakeConfig", "FakeStats", "FakeZoho", "Leniency", "MockTransport", "SeedSummary",
        "json_response",
    ],
    "zcrm_async.testing.server": ["add_arguments", "config_from", "main", "run"],
    "zcrm_async.validation": [
        "InvalidItemError", "ItemProblem", "check_message_id", "check_name", "check_numeric_id",
        "checked_pinned_url", "is_message_id", "is_numeric_id",
    ],
}  # fmt: skip

PLUMBING = ["AiohttpTransport", "Limiter", "LocalLimiter", "Permit", "Request", "Response", "Transport"]


def test_all_is_pinned() -> None:
    assert zcrm_async.__all__ == EXPECTED


def ruff_order(name: str) -> tuple[int, str]:
    """ruff's RUF022 order: SCREAMING_CASE first, then CamelCase, then the rest, each alphabetically."""
    if name.isupper() and len(name) > 1:
        return (0, name)
    if name[:1].isupper():
        return (1, name)
    return (2, name)


def test_all_is_sorted() -> None:
    assert zcrm_async.__all__ == sorted(zcrm_async.__all__, key=ruff_order)


def public_modules() -> list[str]:
    """Every module and package of zcrm_async whose dotted name has no part with a leading underscore."""
    found = pkgutil.walk_packages(zcrm_async.__path__, prefix="zcrm_async.")
    return sorted(info.name for info in found if not any(part.startswith("_") for part in info.name.split(".")))


def test_every_public_module_is_pinned() -> None:
    assert public_modules() == sorted(SUBMODULES)


@pytest.mark.parametrize("name", sorted(SUBMODULES))
def test_each_public_module_exports_exactly_its_pinned_names_sorted_and_defined(name: str) -> None:
    module = importlib.import_module(name)
    assert module.__all__ == SUBMODULES[name]
    assert module.__all__ == sorted(module.__all__, key=ruff_order)
    assert [n for n in module.__all__ if not hasattr(module, n)] == []


def test_every_name_exists() -> None:
    for name in zcrm_async.__all__:
        assert hasattr(zcrm_async, name), name


def test_no_public_name_is_left_unexported() -> None:
    public = {name for name in vars(zcrm_async) if not name.startswith("_")}
    modules = {"emails", "models", "modules", "records", "testing", "cli", "redis", "plumbing", "audit", "validation"}
    modules |= {"coql", "bulk_jobs", "search", "outcomes", "backfill"}
    assert public - modules - {"PackageNotFoundError", "version"} - set(PLUMBING) <= set(zcrm_async.__all__)


def test_the_plumbing_has_its_own_module_and_old_imports_still_work() -> None:
    assert zcrm_async.plumbing.__all__ == [*PLUMBING, "first_error"]
    for name in PLUMBING:
        assert getattr(zcrm_async, name) is getattr(zcrm_async.plumbing, name), name
        assert name not in zcrm_async.__all__


def test_what_users_hold_is_the_same_object_wherever_it_is_imported_from() -> None:
    # private on purpose: the public names must be these very objects
    from zcrm_async._bulk import BulkResult, ItemResult
    from zcrm_async.models import AssociateEmail

    assert zcrm_async.BulkResult is BulkResult and zcrm_async.ItemResult is ItemResult
    assert zcrm_async.DealLink is zcrm_async.emails.DealLink
    assert zcrm_async.DealUnlink is zcrm_async.emails.DealUnlink
    assert zcrm_async.AssociateEmail is zcrm_async.emails.AssociateEmail is AssociateEmail
    assert zcrm_async.PlannedRequest is zcrm_async.emails.PlannedRequest
    assert zcrm_async.ItemProblem is zcrm_async.emails.ItemProblem


def test_version_is_a_string() -> None:
    assert isinstance(zcrm_async.__version__, str) and zcrm_async.__version__
