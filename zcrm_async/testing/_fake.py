"""FakeZoho: a faithful, in-process fake of the Zoho CRM API (emails, deals, OAuth, limits, faults).

Use it as a server for your own tests::

    async with FakeZoho(FakeConfig(latency=0.05)) as fake:
        contact = fake.add_contact(name="Ada", email="ada@example.net")
        ...  # point your client at fake.url / fake.accounts_url with fake.config's client credentials

It imports nothing from the rest of zcrm_async on purpose: a fake that shared the client's code would share
its bugs. The documented behaviour it follows, and every choice made where Zoho's docs are silent, are
listed in the docstrings of `_fake_world` (domain rules) and `_fake_app` (HTTP, limits, faults).
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Iterable, Iterator, Mapping
from types import TracebackType

from aiohttp import web

from ._fake_app import DEALS_MODULE_ID, FakeApp, FakeConfig, FakeStats
from ._fake_bulk_jobs import BulkStore
from ._fake_contract import Leniency
from ._fake_scenarios import MisfiledSummary, seed_misfiled
from ._fake_world import Email, SeedSummary, World

__all__ = ["DEALS_MODULE_ID", "FakeConfig", "FakeStats", "FakeZoho", "Leniency", "SeedSummary"]

#: Event-loop turns ``close`` gives connections already made before it shuts down (accepting one takes three).
_SETTLING_TURNS = 5


class FakeZoho:
    """One fake Zoho org: its world, its limits, and (once started) a real HTTP server on 127.0.0.1."""

    __slots__ = ("_fake", "_runner", "_site", "_url", "config", "world")

    def __init__(self, config: FakeConfig | None = None) -> None:
        self.config = config or FakeConfig()
        self.world = World(self.config.seed)
        self._fake = FakeApp(self.config, self.world)
        self._runner: web.AppRunner | None = None
        self._site: web.TCPSite | None = None
        self._url: str | None = None

    # -- lifecycle ---------------------------------------------------------------------------------

    @property
    def app(self) -> web.Application:
        """The aiohttp application, for use with aiohttp.test_utils or your own runner."""
        return self._fake.app

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Serve on host:port (0 picks a free port); returns the base URL.

        A wildcard host (``0.0.0.0``, ``::``) serves every interface; the URL then names the loopback address,
        which clients on this machine can use (the CLI sends credentials over plain http only to this machine).

        Raises:
            OSError: the address cannot be bound (the port is in use, the host is not this machine's).
        """
        if self._runner is not None:
            raise RuntimeError("FakeZoho is already started; close() it before starting it again")
        # Short shutdown: a fake should not hold a test run for aiohttp's default 60 s grace period.
        runner = web.AppRunner(self.app, access_log=None, shutdown_timeout=0.1)
        await runner.setup()
        site = web.TCPSite(runner, host, port)
        try:
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        server = site._server
        assert server is not None and server.sockets  # type: ignore[attr-defined]
        bound = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]
        self._runner, self._site = runner, site
        self._url = f"http://{_reachable(host)}:{bound}"
        return self._url

    async def close(self) -> None:
        """Stop serving; the world stays inspectable and no call is served after this returns."""
        runner, self._runner, self._site = self._runner, None, None
        if runner is not None:
            # A client that connected and hung up just now (a reachability probe) is still in the kernel's queue:
            # a few loop turns accept it and see it close. Shut down first, and its socket would be accepted
            # after the shutdown closed the connections it knew, and found unclosed when the loop goes.
            for _ in range(_SETTLING_TURNS):
                await asyncio.sleep(0)
            await runner.cleanup()
        # aiohttp's shutdown ends the calls of open connections only: a call whose client has gone (timed out,
        # killed) would go on after close, and die pending with its event loop.
        orphans = [task for task in self._fake.handlers if not task.done()]
        for task in orphans:
            task.cancel()
        await asyncio.gather(*orphans, return_exceptions=True)

    @contextlib.contextmanager
    def serving_in_thread(self, host: str = "127.0.0.1", port: int = 0) -> Iterator[str]:
        """Serve from a thread with its own event loop; yields the base URL. For sync code (an SDK, a script)
        and for a client whose event loop should not also carry the server's work.

        Seed and inspect the world only while no request is being served (before and after the block).
        """
        loop = asyncio.new_event_loop()
        ready = threading.Event()
        failure: list[BaseException] = []

        def serve() -> None:
            asyncio.set_event_loop(loop)
            try:
                loop.run_until_complete(self.start(host, port))
            except BaseException as exc:  # reported to the caller below
                failure.append(exc)
                ready.set()
                loop.close()
                return
            ready.set()
            loop.run_forever()
            loop.run_until_complete(self.close())
            loop.close()

        thread = threading.Thread(target=serve, name="FakeZoho", daemon=True)
        thread.start()
        if not ready.wait(30) or failure:
            raise RuntimeError("FakeZoho could not start in its thread") from (failure[0] if failure else None)
        try:
            yield self.url
        finally:
            loop.call_soon_threadsafe(loop.stop)
            thread.join(30)

    async def __aenter__(self) -> FakeZoho:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    @property
    def url(self) -> str:
        """The API domain, e.g. "http://127.0.0.1:54321" (also the token response's api_domain)."""
        if self._url is None:
            raise RuntimeError("FakeZoho is not started: use `async with FakeZoho() as fake` or `await fake.start()`")
        return self._url

    @property
    def accounts_url(self) -> str:
        """The accounts domain: the token endpoint is f"{accounts_url}/oauth/v2/token"."""
        return self.url

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1])

    # -- seeding -----------------------------------------------------------------------------------

    def add_user(self, name: str, email: str | None = None) -> str:
        """A CRM user (an email owner); returns its id."""
        return self.world.add_user(name, email)

    def add_contact(self, name: str = "Contact", email: str | None = None, *, external_id: str | None = None) -> str:
        return self.world.add_record("Contacts", name, email=email, external_id=external_id).id

    def add_lead(self, name: str = "Lead", email: str | None = None) -> str:
        return self.world.add_record("Leads", name, email=email).id

    def add_account(self, name: str = "Account") -> str:
        return self.world.add_record("Accounts", name).id

    def add_deal(
        self,
        name: str = "Deal",
        contact_ids: Iterable[str] = (),
        *,
        stage: str = "Qualification",
        closed_lost: bool = False,
        closed_won: bool = False,
        external_id: str | None = None,
    ) -> str:
        """A deal associated with `contact_ids`; it becomes the most recently modified deal."""
        return self.world.add_deal(
            name,
            contact_ids,
            stage=stage,
            closed_lost=closed_lost,
            closed_won=closed_won,
            external_id=external_id,
        )

    def associate(self, contact_id: str, deal_id: str) -> None:
        """Add the contact to the deal's contacts (what makes linking their emails ALLOWED)."""
        self.world.associate(contact_id, deal_id)

    def touch_deal(self, deal_id: str) -> None:
        """Make the deal the most recently modified one (Deal Prediction prefers it)."""
        self.world.touch_deal(deal_id)

    def set_deal_stage(self, deal_id: str, stage: str) -> None:
        """Move a deal to a Stage picklist value; its forecast type says whether it is now open, won or lost."""
        self.world.set_stage(deal_id, stage)

    def rename_stage(self, old: str, new: str) -> None:
        """Rename a Stage picklist value (and every deal in it), as an org admin may."""
        self.world.rename_stage(old, new)

    def seed_misfiled(self, *, contacts: int, emails_per_contact: int = 4, seed: int = 0) -> MisfiledSummary:
        """Contacts whose mail sits on closed-lost deals, unlinked beside one open deal, moved by hand to the wrong
        deal, or rightly linked (``_fake_scenarios``)."""
        return seed_misfiled(self.world, contacts=contacts, emails_per_contact=emails_per_contact, seed=seed)

    def add_email(
        self,
        contact_id: str,
        owner_id: str,
        *,
        subject: str = "",
        received: bool = True,
        message_id: str | None = None,
        time: float | None = None,
        content: str = "",
    ) -> str:
        """An email in the record's mailbox; received mail goes through Deal Prediction; returns its id.

        `time` is epoch seconds; by default each new email is a minute newer than the previous one.
        """
        return self.world.add_email(
            contact_id,
            owner_id,
            subject=subject,
            received=received,
            message_id=message_id,
            time=time,
            content=content,
        ).message_id

    def seed_world(
        self,
        *,
        contacts: int,
        deals_per_contact: int = 1,
        emails_per_contact: int = 3,
        users: int = 1,
        seed: int | None = None,
    ) -> SeedSummary:
        """Deterministic bulk data (contacts carry external ids extcontactN, deals extdealN.M), plus
        ``config.null_share`` x the emails as sparse ones (every nullable field answered null; ``sparse_ids``)."""
        return self.world.seed_world(
            contacts=contacts,
            deals_per_contact=deals_per_contact,
            emails_per_contact=emails_per_contact,
            users=users,
            seed=seed,
            sparse_share=self.config.null_share,
        )

    # -- inspection --------------------------------------------------------------------------------

    def link_of(self, message_id: str) -> str | None:
        """The deal id the email is linked to, or None."""
        return self.world.link_of(message_id)

    @property
    def links(self) -> Mapping[str, str]:
        """A read-only live view: message id -> deal id."""
        return self.world.links

    def email(self, message_id: str) -> Email | None:
        return self.world.email(message_id)

    def emails_of(self, record_id: str) -> list[str]:
        """Message ids of the record's Emails related list, newest first."""
        record = self.world.record(record_id)
        return [] if record is None else [e.message_id for e in self.world.emails_of(record)]

    @property
    def stats(self) -> FakeStats:
        return self._fake.stats

    def reset_stats(self) -> None:
        self._fake.stats = FakeStats()

    @property
    def bulk(self) -> BulkStore:
        """Bulk Read and Bulk Write jobs and uploaded files, with knobs for tests (``fail_next``, ``next_file``,
        ``download_origin``, ``cut_downloads``; see ``_fake_bulk_jobs``)."""
        return self._fake.bulk

    @property
    def credits_used(self) -> int:
        """Credits used in the current rolling 24 h window."""
        return self._fake.credits.used()

    # -- run-time knobs ----------------------------------------------------------------------------

    def set_faults(
        self,
        *,
        error_rate: float | None = None,
        drop_rate: float | None = None,
        lost_response_rate: float | None = None,
        burst_429: int | None = None,
        latency: float | None = None,
    ) -> None:
        """Change fault injection while running; arguments left as None keep their value."""
        faults = self._fake.faults
        if error_rate is not None:
            faults.error_rate = error_rate
        if drop_rate is not None:
            faults.drop_rate = drop_rate
        if lost_response_rate is not None:
            faults.lost_response_rate = lost_response_rate
        if burst_429 is not None:
            faults.burst_429 = burst_429
        if latency is not None:
            faults.latency = latency

    def set_daily_credits(self, credits: int) -> None:
        """Change the org's credits per rolling 24 h while running, as buying add-on credits (or a test making a
        run spend the last of them) would; credits already spent stay spent."""
        if credits < 0:
            raise ValueError(f"daily credits cannot be negative, got {credits}")
        self._fake.credits.daily = credits

    def expire_tokens(self) -> None:
        """Invalidate every issued access token (the next API call gets 401 INVALID_TOKEN)."""
        self._fake.tokens.expire_all()

    def revoke_refresh_token(self, refresh_token: str | None = None) -> None:
        """Revoke a refresh token (default: the configured one): refreshes then answer invalid_code."""
        self._fake.tokens.revoke(refresh_token or self.config.refresh_token)

    def grant_code(self, scope: str | None = None, *, minutes: float = 3.0) -> str:
        """What the API console's Self Client > Generate Code gives: a grant code for ``scope`` (default: the
        configured scopes, else ``ZohoCRM.modules.ALL``), exchangeable once within ``minutes`` for a new refresh
        token."""
        return self._fake.tokens.grant_code(scope or self.config.scope or "ZohoCRM.modules.ALL", minutes)

    def issue_token(self) -> str:
        """Mint an access token directly, for tests that do not exercise the token endpoint."""
        self._fake.stats.tokens_issued += 1
        return self._fake.tokens.issue(self.config.refresh_token)


def _reachable(host: str) -> str:
    """The host a URL should name for a server bound to ``host``: loopback for a wildcard, IPv6 in brackets."""
    if host in ("", "0.0.0.0"):
        return "127.0.0.1"
    if host == "::":
        return "[::1]"
    return f"[{host}]" if ":" in host else host
