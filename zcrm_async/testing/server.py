"""Run FakeZoho as a process until SIGINT/SIGTERM (`python -m zcrm_async.testing`, `zcrm-async fake-server`); public
so that a tool of its own can offer the same flags (`add_arguments`, `config_from`, `run`).

Every FakeConfig knob is a flag. When the server is ready it prints one flushed line
`FakeZoho listening on http://HOST:PORT`, so a parent process can wait for that line before sending requests;
then the flags and environment that point zcrm-async at it, a grant code, and ids to try (`_server_hints`).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import os
import signal
import sys
from pathlib import Path
from typing import Any

from ._fake import FakeConfig, FakeZoho, Leniency
from ._server_hints import announce, write_sample

#: The rules --lenient can waive: Leniency's fields.
LENIENCIES = tuple(field.name for field in dataclasses.fields(Leniency))
#: Contacts seeded for --write-sample when --seed-contacts is not given.
SAMPLE_CONTACTS = 20

__all__ = ["add_arguments", "config_from", "main", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the fake server's flags (one per FakeConfig knob) to `parser`."""
    d = FakeConfig()

    def add(*flags: str, **kwargs: Any) -> None:
        text = kwargs.get("help", "")
        if "default" in kwargs and "%(default)" not in text and kwargs.get("action") != "append":
            kwargs["help"] = f"{text} (default: %(default)s)".lstrip()
        parser.add_argument(*flags, **kwargs)

    add("--host", default="127.0.0.1", help="interface to bind (default: %(default)s)")
    add("--port", type=int, default=0, help="port to bind; 0 picks a free one (default: %(default)s)")
    add("--api-version", default=d.api_version, help="API version served besides v7 (default: %(default)s)")
    add("--latency-ms", type=float, default=d.latency * 1000, help="time each API call takes, in ms")
    add("--concurrency-cap", type=int, default=d.concurrency_cap, help="API calls in flight before 429")
    add(
        "--heavy-cap",
        type=int,
        default=d.heavy_cap,
        help="heavy calls (Get Records with cvid/sort_by) in flight",
    )
    add("--daily-credits", type=int, default=d.daily_credits, help="credits per rolling 24 h")
    add("--token-ttl", type=float, default=d.token_ttl, help="access-token lifetime in seconds")
    add("--token-refresh-limit", type=int, default=d.token_refresh_limit, help="refreshes per 10 min")
    add("--max-active-tokens", type=int, default=d.max_active_tokens, help="active tokens per refresh token")
    add("--error-rate", type=float, default=d.error_rate, help="share of API calls answered 500")
    add("--drop-rate", type=float, default=d.drop_rate, help="share of API calls whose connection is dropped")
    add(
        "--lost-response-rate",
        type=float,
        default=d.lost_response_rate,
        help="share of writes applied, unanswered",
    )
    add("--burst-429", type=int, default=d.burst_429, help="answer the first N API calls with 429")
    add("--seed", type=int, default=d.seed, help="seed for faults, ids and seeded data")
    add("--client-id", default=d.client_id, help="the OAuth client id it accepts")
    add("--client-secret", default=d.client_secret, help="the client secret it accepts")
    add("--refresh-token", default=d.refresh_token, help="the refresh token it accepts")
    add("--scope", default=d.scope, help="scopes token answers name, space separated (default: none named)")
    add("--seed-contacts", type=int, default=0, help="contacts to seed (each with deals and emails)")
    add("--seed-deals-per-contact", type=int, default=1, help="deals of each seeded contact")
    add("--seed-emails-per-contact", type=int, default=3, help="emails of each seeded contact")
    add("--seed-users", type=int, default=1, help="users owning the seeded emails")
    add(
        "--write-sample", type=Path, metavar="FILE",
        help="write a `backfill link` CSV of the seeded emails no deal holds yet (seeds 20 contacts if none)",
    )  # fmt: skip
    add("--seed-misfiled", type=int, default=0, help="contacts whose mail sits on a wrong deal (to audit)")
    add(
        "--null-share", type=float, default=d.null_share,
        help="share of seeded emails answered with every nullable field null (default: %(default)s)",
    )  # fmt: skip
    add(
        "--associate-max-items", type=int, default=d.associate_max_items,
        help="emails an Associate Email request may carry (default: %(default)s, what Zoho's example accepts)",
    )  # fmt: skip
    add(
        "--lenient", action="append", default=[], choices=LENIENCIES, metavar="RULE",
        help=f"waive one rule of Zoho's published contract (repeatable; all enforced by default): "
        f"{', '.join(LENIENCIES)}",
    )  # fmt: skip


#: The least each seeding flag takes: a negative count (or no user to own the mail) is refused in one line.
_LEAST = {
    "seed_contacts": 0, "seed_deals_per_contact": 1, "seed_emails_per_contact": 0, "seed_users": 1,
    "seed_misfiled": 0,
}  # fmt: skip


def _bad_count(args: argparse.Namespace) -> str | None:
    for name, least in _LEAST.items():
        if getattr(args, name) < least:
            return f"--{name.replace('_', '-')} must be {least} or more, not {getattr(args, name)}"
    return None


def config_from(args: argparse.Namespace) -> FakeConfig:
    """The FakeConfig the parsed flags describe."""
    return FakeConfig(
        api_version=args.api_version,
        latency=args.latency_ms / 1000,
        concurrency_cap=args.concurrency_cap,
        heavy_cap=args.heavy_cap,
        daily_credits=args.daily_credits,
        token_ttl=args.token_ttl,
        token_refresh_limit=args.token_refresh_limit,
        max_active_tokens=args.max_active_tokens,
        error_rate=args.error_rate,
        drop_rate=args.drop_rate,
        lost_response_rate=args.lost_response_rate,
        burst_429=args.burst_429,
        seed=args.seed,
        client_id=args.client_id,
        client_secret=args.client_secret,
        refresh_token=args.refresh_token,
        scope=args.scope,
        null_share=args.null_share,
        associate_max_items=args.associate_max_items,
        leniency=Leniency(**dict.fromkeys(args.lenient, True)),
    )


def run(args: argparse.Namespace) -> int:
    """Serve until SIGINT or SIGTERM; returns the process exit code: 2 for a flag out of range, 1 when it cannot
    listen, each with one line."""
    if (problem := _bad_count(args)) is not None:
        print(f"fake-server: error: {problem}", file=sys.stderr, flush=True)
        return 2
    try:
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(_serve(args))
    except _CannotListen as exc:
        print(f"fake-server: cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr, flush=True)
        return 1
    return 0


class _CannotListen(Exception):
    """The address could not be bound (the port is in use, the host is not this machine's)."""


async def _serve(args: argparse.Namespace) -> None:
    fake = FakeZoho(config_from(args))
    if args.write_sample and not args.seed_contacts:
        args.seed_contacts = SAMPLE_CONTACTS
    summary = None
    if args.seed_contacts:
        summary = fake.seed_world(
            contacts=args.seed_contacts,
            deals_per_contact=args.seed_deals_per_contact,
            emails_per_contact=args.seed_emails_per_contact,
            users=args.seed_users,
        )
        _say(
            f"seeded {len(summary.contact_ids)} contacts, {len(summary.deal_ids)} deals, "
            f"{len(summary.message_ids)} emails ({summary.linked} linked)"
        )
        if args.write_sample:
            rows = write_sample(fake, summary, args.write_sample, args.seed_deals_per_contact)
            _say(f"wrote {rows} rows to {args.write_sample}: try  zcrm-async backfill link {args.write_sample}")
    misfiled = None
    if args.seed_misfiled:
        misfiled = fake.seed_misfiled(contacts=args.seed_misfiled, seed=args.seed)
        _say(f"seeded {args.seed_misfiled} contacts with {len(misfiled.message_ids)} emails, some on the wrong deal")
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        url = await fake.start(args.host, args.port)
    except OSError as exc:
        raise _CannotListen(_reason(exc)) from None
    try:
        _say(f"FakeZoho listening on {url}")
        announce(_say, fake, url, summary, misfiled)
        await stop.wait()
    finally:
        await fake.close()


def _reason(exc: OSError) -> str:
    # asyncio's message repeats the address; the errno's text is the reason.
    return os.strerror(exc.errno) if exc.errno else str(exc)


def _say(line: str) -> None:
    # Flushed: the parent waits for these lines on a pipe.
    print(line, flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m zcrm_async.testing", description="Run a fake Zoho CRM server.")
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
