"""The ``zcrm-async`` command line: argparse, dispatch, exit codes. The only place that calls ``anyio.run``.

Exit codes: one per cause, defined in ``_exit`` (README's "Exit codes" lists them). Every failure is one line on stderr.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import logging
import os
import signal
import sys
import threading
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any, NoReturn

import anyio

from .. import RedisUnavailable, ZohoError
from ..backfill import UNREACHABLE_AFTER
from ._args import add_connection_arguments
from ._connect import Connection
from ._env import connection_from
from ._exit import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_REDIS, EXIT_UNREACHABLE, EXIT_USAGE
from ._failures import RedisFailure, RunFailure, UsageError
from ._files import check_writable
from ._help import HelpFormatter, examples, leaf_parser, unknown_flags_message
from ._operations import OPERATIONS
from ._output import Output
from ._secrets import secrets_in

__all__ = ["build_parser", "main"]


class _Parser(argparse.ArgumentParser):
    """argparse that raises instead of printing: its messages echo arguments, which may hold a secret.

    Abbreviated options are off: ``--client-s X`` would be a secret under a name the redaction does not know.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("allow_abbrev", False)
        kwargs.setdefault("formatter_class", HelpFormatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        raise _ArgumentError(f"{self.format_usage()}{self.prog}: error: {message}")


class _ArgumentError(Exception):
    pass


def build_parser(*, fake_server_flags: bool = True) -> argparse.ArgumentParser:
    """The whole command line. ``fake_server_flags=False`` leaves out fake-server's flags, which need the fake
    server's code (aiohttp's server side and all of FakeZoho): a command that is not fake-server starts without it."""
    common = _Parser(add_help=False)
    add_connection_arguments(common)
    parser = _Parser(prog="zcrm-async", description="Zoho CRM email/deal backfills, fast and resumable.")
    parser.add_argument("--version", action=_Version, help="show the version and exit")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    backfill = commands.add_parser("backfill", help="link, unlink or relink emails and deals from a file")
    operations = backfill.add_subparsers(dest="operation", required=True, metavar="OPERATION")
    for operation in OPERATIONS.values():
        name, text = operation.name, operation.help
        sub = operations.add_parser(
            name, parents=[common], help=text, description=text, epilog=examples(f"backfill {name}")
        )
        _add_backfill_arguments(sub, module_id=name != "unlink")  # unlink bodies carry no module id

    emails = commands.add_parser("emails", help="read emails")
    email_commands = emails.add_subparsers(dest="emails_command", required=True, metavar="ACTION")
    export_text = "every email of many records, to JSONL"
    export = email_commands.add_parser(
        "export", parents=[common], help=export_text, epilog=examples("emails export"),
        description=f"{export_text}: one line per email with its record's id (record_id). The records are those "
        "of --ids, or every record of --module; --ids and --module combine (the ids are records of that module).",
    )  # fmt: skip
    export.add_argument("--ids", type=Path, help="file of record ids, one per line (default: every record)")
    export.add_argument("--module", default="Contacts", help="the records' module, by API name (default: %(default)s)")
    export.add_argument("--out", type=Path, required=True, help="JSONL file to write")
    export.add_argument("--concurrency", type=int, default=8, help="records read at once (default: %(default)s)")

    from ._auth import add_auth_commands

    add_auth_commands(commands, _Parser)

    from ._audit_args import add_audit_parser

    add_audit_parser(commands, common)

    from ._journal_failed import add_journal_commands

    add_journal_commands(commands)

    records = commands.add_parser("records", help="read a module's records, or import them from a CSV")
    record_commands = records.add_subparsers(dest="records_command", required=True, metavar="ACTION")
    records_text = "a module's records to CSV or JSONL, by COQL or Get Records"
    records_export = record_commands.add_parser(
        "export", parents=[common], help=records_text, epilog=examples("records export"),
        description=f"{records_text} (or Bulk Read past 100,000 records).",
    )  # fmt: skip
    records_export.add_argument("module", metavar="MODULE", help="the module's API name, e.g. Contacts")
    records_export.add_argument("--fields", required=True, help="field API names, comma-separated")
    records_export.add_argument(
        "--where", action="append", default=[], metavar="COND",
        help="FIELD OP VALUE (= != < > <= >= like) or FIELD is [not] null; repeat to AND them",
    )  # fmt: skip
    records_export.add_argument("--out", type=Path, required=True, help="CSV or JSONL file to write")
    records_export.add_argument("--format", choices=["csv", "jsonl"], help="default: from --out's suffix")
    records_export.add_argument(
        "--by", choices=["auto", "coql", "records", "bulk"], default="auto",
        help="COQL, Get Records or Bulk Read (default: by the filter and the count)",
    )  # fmt: skip

    from ._records_import import IMPORT_TEXT, add_import_arguments

    records_import = record_commands.add_parser(
        "import", parents=[common], help=IMPORT_TEXT, description=IMPORT_TEXT, epilog=examples("records import")
    )
    add_import_arguments(records_import)

    demo_text = "a relink backfill, then an audit and its plan, on an in-process FakeZoho (no credentials)"
    demo = commands.add_parser(
        "demo", help=demo_text, epilog=examples("demo"),
        description=f"{demo_text}. Its files (input, journal, report, plan) stay in --workdir, or in a new "
        "temporary folder it names at the end.",
    )  # fmt: skip
    demo.add_argument("-q", "--quiet", action="store_true", help="no progress, only the summary and errors")
    demo.add_argument("--contacts", type=int, default=1000, help="contacts in the fake world (default: %(default)s)")
    demo.add_argument("--latency-ms", type=float, default=40.0, help="fake latency per call (default: %(default)s)")
    demo.add_argument("--concurrency-cap", type=int, default=20, help="fake's cap before 429 (default: %(default)s)")
    demo.add_argument(
        "--workdir", type=Path,
        help="where to write the input, journal and report, kept after the run (default: a new temporary folder)",
    )  # fmt: skip

    fake_text = "run FakeZoho until Ctrl-C; prints the flags and environment that point zcrm-async at it"
    fake = commands.add_parser(
        "fake-server", help=fake_text, epilog=examples("fake-server"),
        description=f"{fake_text}, a grant code for auth exchange, and ids to try. It follows Zoho's published "
        "contract as strictly as Zoho's OpenAPI files; every knob of the fake is a flag.",
    )  # fmt: skip
    if fake_server_flags:
        from ..testing.server import add_arguments

        add_arguments(fake)
    return parser


class _Version(argparse.Action):
    """``--version``, looked up only when asked for (reading the installed metadata costs every run otherwise)."""

    def __init__(self, option_strings: list[str], dest: str, **kwargs: Any) -> None:
        super().__init__(option_strings, dest, nargs=0, **kwargs)

    def __call__(self, parser: argparse.ArgumentParser, *args: object) -> NoReturn:
        print(f"{parser.prog} {_version()}")
        parser.exit()


def _add_backfill_arguments(parser: argparse.ArgumentParser, *, module_id: bool) -> None:
    parser.add_argument("file", type=Path, metavar="FILE", help="CSV with a header, or JSONL")
    parser.add_argument("--journal", type=Path, help="the SQLite journal (default: FILE.journal.sqlite)")
    parser.add_argument("--report", type=Path, help="write one JSON line per input item here")
    parser.add_argument("--dry-run", action="store_true", help="validate and show what would be sent; send nothing")
    parser.add_argument(
        "--retry-failed", action="store_true",
        help="send again the rows an earlier run on this journal failed for good (Zoho refused them: fix the cause "
        "first, e.g. put the contact on the deal); bad rows stay refused, rows done stay done",
    )  # fmt: skip
    parser.add_argument(
        "--json", action="store_true",
        help="print the run's summary as one JSON object on stdout (items, outcomes, states, exit code); the "
        "rest goes to stderr",
    )  # fmt: skip
    parser.add_argument("--batch-size", type=int, default=200, help="items marked in flight at once (default: 200)")
    parser.add_argument("--batches-in-flight", type=int, default=4, help="batches sent at once (default: 4)")
    parser.add_argument(
        "--unreachable-after", type=float, default=UNREACHABLE_AFTER, metavar="SECONDS",
        help=f"stop the run (exit {EXIT_UNREACHABLE}; the same command continues) when the API has answered nothing "
        "for this long while requests fail (default: %(default)g)",
    )  # fmt: skip
    if not module_id:
        return
    parser.add_argument(
        "--deals-module-id",
        default=os.environ.get("ZOHO_DEALS_MODULE_ID"),
        help="the Deals module's id, sent as linked_record.module.id (env ZOHO_DEALS_MODULE_ID; default: looked up"
        " once with Get Modules, which needs the ZohoCRM.settings.modules.READ scope)",
    )


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; returns the exit code (``zcrm-async`` calls ``sys.exit`` with it)."""
    words = sys.argv[1:] if argv is None else argv
    parser = build_parser(fake_server_flags="fake-server" in words)
    try:
        args, extras = parser.parse_known_args(argv)
        if extras:  # said with the usage of the command they were given to, and the flags they may be
            leaf = leaf_parser(parser, args)
            leaf.error(unknown_flags_message(leaf, extras))
    except _ArgumentError as exc:
        output = Output()
        output.add_secrets(*secrets_in(sys.argv[1:] if argv is None else argv))
        output.error(str(exc))
        return EXIT_USAGE
    except SystemExit as exc:  # --help
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    if args.command == "fake-server":
        return _fake_server(args)
    # --json: the summary is stdout's only line; what a person reads goes to stderr.
    as_json = getattr(args, "json", False)
    output = Output(quiet=getattr(args, "quiet", False), stdout=sys.stderr if as_json else None,
                    data=sys.stdout if as_json else None)  # fmt: skip
    try:
        if args.command == "journal":  # reads a file: no connection, no credentials, no event loop
            from ._journal_failed import journal_failed

            return journal_failed(args, output)
        connection = _demo_connection() if args.command == "demo" else connection_from(args)
        output.add_secrets(*connection.secrets)
        with _logging_to(output) as handler:
            code = anyio.run(_until_interrupted, _command(args, connection, output))
            # A run stopped for Redis said so in its one line; the housekeeping that failed with it adds nothing.
            handler.show_held(unless=code == EXIT_REDIS)
            return code
    except UsageError as exc:
        output.error(f"zcrm-async: error: {exc}")
        return EXIT_USAGE
    except RunFailure as exc:
        output.error(f"zcrm-async: {exc}", keep=exc.keep)
        return exc.exit_code
    except RedisUnavailable as exc:  # mid-run, outside a backfill (which stops on its own, saying what it kept)
        output.error(f"zcrm-async: {exc}; run the same command again once Redis (--redis-url) answers")
        return EXIT_REDIS
    except ZohoError as exc:
        output.error(f"zcrm-async: {type(exc).__name__}: {exc}")
        return EXIT_FAILED
    except KeyboardInterrupt:
        output.error(f"zcrm-async: interrupted; run the same command again to resume{_where_it_stopped(args)}")
        return EXIT_INTERRUPTED


def _where_it_stopped(args: argparse.Namespace) -> str:
    """For a backfill stopped by Ctrl-C: what its journal holds now (every answer that came is recorded)."""
    if args.command != "backfill" or getattr(args, "dry_run", False):
        return ""
    from ._backfill import default_journal
    from ._summary import journal_counts

    path = args.journal or default_journal(args.file)
    counts = journal_counts(path)
    if counts is None:
        return ""
    return (
        f" ({path}: {counts.get('done', 0)} done, {counts.get('in_flight', 0)} in flight, read back first, "
        f"{counts.get('pending', 0)} pending)"
    )


def _fake_server(args: argparse.Namespace) -> int:
    from ..testing.server import run

    if args.write_sample is not None:
        try:
            check_writable(args.write_sample, "--write-sample")  # before the server starts and seeds
        except UsageError as exc:
            Output().error(f"zcrm-async: error: {exc}")
            return EXIT_USAGE
    return run(args)


async def _until_interrupted(command: Callable[[], Awaitable[int]]) -> int:
    """Run ``command``; Ctrl-C cancels it through an anyio cancel scope, then raises KeyboardInterrupt.

    Left to asyncio, Ctrl-C is one native cancel of the main task, delivered once: when it landed while a task
    group inside was cancelling one of its own scopes, that scope took it for its own and the run went on to the
    end (seen once in a loaded test run: exit 0 several seconds after the interrupt). A cancel scope's
    cancellation is delivered until the scope is left, so the run's ``finally`` blocks still record what was
    answered, and the interrupt is never lost. A second Ctrl-C during that clean-up is the default one: a hard
    stop. Only the main thread may take signals; elsewhere (``main()`` in a worker thread) asyncio's own remains.
    """
    if threading.current_thread() is not threading.main_thread():
        return await command()
    interrupted = False
    code = 0
    failure: Exception | None = None
    async with anyio.create_task_group() as group:

        async def cancel_on_interrupt() -> None:
            nonlocal interrupted
            with anyio.open_signal_receiver(signal.SIGINT) as signals:
                async for _ in signals:
                    interrupted = True
                    group.cancel_scope.cancel()
                    return

        group.start_soon(cancel_on_interrupt)
        try:
            code = await command()
        except Exception as exc:  # raised as it is below, not inside the task group's ExceptionGroup
            failure = exc
        group.cancel_scope.cancel()
    if interrupted:
        raise KeyboardInterrupt
    if failure is not None:
        raise failure
    return code


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("zcrm_async")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown"


def _demo_connection() -> Connection:
    """The demo talks only to its own in-process fake: nothing from the environment, no token cache."""
    return Connection(
        client_id=None, client_secret=None, refresh_token=None, data_centre="us", api_domain=None,
        accounts_url=None, edition="enterprise", users=1, redis_url=None, token_cache=None,
    )  # fmt: skip


def _command(args: argparse.Namespace, connection: Connection, output: Output) -> Callable[[], Awaitable[int]]:
    """The coroutine function for the chosen subcommand (imports are lazy: the CLI starts fast)."""
    if args.command == "auth":
        from ._auth import auth_command

        return lambda: auth_command(args, connection, output)
    if args.command == "backfill":
        from ._backfill import BackfillOptions, backfill_command

        options = BackfillOptions(
            operation=OPERATIONS[args.operation], path=args.file, journal=args.journal, report=args.report,
            dry_run=args.dry_run, retry_failed=args.retry_failed, batch_size=args.batch_size,
            batches_in_flight=args.batches_in_flight, deals_module_id=getattr(args, "deals_module_id", None),
            unreachable_after=args.unreachable_after,
        )  # fmt: skip
        return lambda: backfill_command(options, connection, output)
    if args.command == "audit":
        from ._audit_args import audit_from

        return audit_from(args, connection, output)
    if args.command == "emails":
        from ._export import ExportOptions, export

        export_options = ExportOptions(module=args.module, ids=args.ids, out=args.out, concurrency=args.concurrency)
        return lambda: export(export_options, connection, output)
    if args.command == "records" and args.records_command == "import":
        from ._records_import import import_records, options_from

        import_options = options_from(args)
        return lambda: import_records(import_options, connection, output)
    if args.command == "records":
        from ._records_export import RecordsExportOptions, export_records, format_of

        fields = tuple(name.strip() for name in args.fields.split(",") if name.strip())
        records_options = RecordsExportOptions(
            module=args.module, fields=fields, where=tuple(args.where), out=args.out,
            format=format_of(args.out, args.format), by=args.by,
        )  # fmt: skip
        return lambda: export_records(records_options, connection, output)
    from ._demo import DemoOptions, demo

    demo_options = DemoOptions(
        contacts=args.contacts, latency=args.latency_ms / 1000, concurrency_cap=args.concurrency_cap,
        workdir=args.workdir,
    )  # fmt: skip
    return lambda: demo(demo_options, connection, output)


class _ErrorHandler(logging.Handler):
    """Library warnings (token refresh trouble, ...) through this run's Output, so they are redacted too.

    Redis's housekeeping warnings (a slot not given back, a lease not renewed) are held until the run ends, then
    shown once each, with how often they came: when Redis fails, each of the run's calls in flight would say so
    on a line of its own before the run could stop and say it once.
    """

    def __init__(self, output: Output) -> None:
        super().__init__(logging.WARNING)
        self.output = output
        self.held: collections.Counter[str] = collections.Counter()
        self.setFormatter(logging.Formatter("zcrm-async: %(levelname)s: %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        if record.name.startswith(_REDIS_LOGGER):
            self.held[self.format(record)] += 1
        else:
            self.output.error(self.format(record))

    def show_held(self, *, unless: bool = False) -> None:
        held, self.held = self.held, collections.Counter()
        if unless:
            return
        for line, count in held.items():
            self.output.error(line if count == 1 else f"{line} ({count} times)")


_REDIS_LOGGER = "zcrm_async.redis"


@contextlib.contextmanager
def _logging_to(output: Output) -> Iterator[_ErrorHandler]:
    """Library warnings go through this run's Output for as long as it runs, and no longer: a handler left on the
    ``zcrm_async`` logger would write to a stream that is closed once ``main()`` returns (a caller's, a test's)."""
    logger = logging.getLogger("zcrm_async")
    handler = _ErrorHandler(output)
    logger.addHandler(handler)
    level = logger.level
    if level == logging.NOTSET or level > logging.WARNING:
        logger.setLevel(logging.WARNING)
    try:
        yield handler
    except (RedisFailure, RedisUnavailable):
        handler.show_held(unless=True)  # the one line about Redis says it
        raise
    finally:
        logger.removeHandler(handler)
        handler.show_held()  # a run that ended otherwise (another error, Ctrl-C): whatever is still held
        logger.setLevel(level)
