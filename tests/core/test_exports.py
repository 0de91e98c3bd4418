"""The public names: exported on purpose, sorted, and pinned; the plumbing in its own submodule."""

from __future__ import annotations

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

PLUMBING = ["AiohttpTransport", "Limiter", "LocalLimiter", "Permit", "Request", "Response", "Transport"]


def test_all_is_pinned() -> None:
    assert zcrm_async.__all__ == EXPECTED


def test_all_is_sorted() -> None:
    # ruff's RUF022 order: SCREAMING_CASE first, then CamelCase, then the rest, each alphabetically.
    def key(name: str) -> tuple[int, str]:
        if name.isupper() and len(name) > 1:
            return (0, name)
        if name[:1].isupper():
            return (1, name)
        return (2, name)

    assert zcrm_async.__all__ == sorted(zcrm_async.__all__, key=key)


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


def test_coql_names_are_pinned() -> None:
    assert zcrm_async.coql.__all__ == ["Condition", "CoqlInfo", "CoqlPage", "Field", "Query", "field", "quote"]


def test_the_bulk_jobs_names_are_pinned() -> None:
    import zcrm_async.bulk_jobs

    assert zcrm_async.bulk_jobs.__all__ == [
        "MAX_ROWS_PER_JOB", "MAX_ZIP_BYTES", "BulkJobs", "BulkRead", "BulkReadJob", "BulkReadResult", "BulkWrite",
        "BulkWriteFile", "BulkWriteJob", "BulkWriteResource", "JobNotices", "Poll",
    ]  # fmt: skip


def test_search_names_are_pinned() -> None:
    assert zcrm_async.search.__all__ == ["Criteria", "Operator", "criterion", "escape"]


def test_outcomes_names_are_pinned() -> None:
    import zcrm_async.outcomes

    assert zcrm_async.outcomes.__all__ == [
        "ALREADY_LINKED", "BULK_JOB_FAILED", "DUPLICATE_DATA", "INTERNAL_ERROR", "INVALID_DATA", "INVALID_ITEM",
        "LIMIT_EXCEEDED", "LINK_UNVERIFIED", "NOT_ALLOWED", "NOT_LINKED", "NOT_SENT", "NO_CONTENT", "NO_RESULT",
        "REDIS_UNAVAILABLE", "RESTORE_FAILED", "SKIPPED", "SUCCESS", "TOO_MANY_REQUESTS", "TRANSIENT",
        "TRANSPORT_ERROR", "UNKNOWN", "UNPROCESSED", "UNREADABLE_RESULT", "is_transient",
    ]  # fmt: skip


def test_the_backfill_names_are_pinned() -> None:
    import zcrm_async.backfill

    assert zcrm_async.backfill.__all__ == [
        "EMAIL_LAYOUT", "INVALID_ROW", "LINK", "RELINK", "UNLINK", "UNREACHABLE_AFTER", "Answered",
        "BackfillOp", "EmailBackfill", "InputChanged", "Journal", "JournalBusy", "JournalItem", "JournalMismatch",
        "Layout", "Outcome", "Progress", "Remember", "Report", "Row", "RowsSource", "RunResult", "Settlement",
        "Source", "Stop", "StopReason", "Tally", "failed_rows_path", "rows_source", "run", "write_failed_rows",
        "write_report",
    ]  # fmt: skip
