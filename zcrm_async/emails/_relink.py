"""Relink: make each email linked to the given deal, whatever it is linked to now (Zoho's correction flow)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from typing import Any

from .._bulk import BulkResult, ItemResult
from ._items import DealLink, DealUnlink, ProgressCallback, validated
from ._linking import Linking
from ._requests import PlannedRequest, plan_relink

__all__ = ["Relinking"]


class Relinking(Linking):
    """The relink method of ``crm.emails``: link, then unlink and link again where Zoho says ALREADY_LINKED."""

    async def relink(
        self,
        items: Iterable[DealLink],
        *,
        concurrency: int | None = None,
        deals_module_id: str | None = None,
        on_progress: ProgressCallback | None = None,
    ) -> BulkResult[DealLink]:
        """Make each email linked to the given deal, whatever it is linked to now (Zoho's correction flow).

        Links first; the emails Zoho answers ALREADY_LINKED are read back (the contact's list shows links): those
        already on the intended deal are done, the others are unlinked and linked again, so a correct link is never
        undone. Each item's result is its final state: SUCCESS when the email ends linked to the intended deal,
        else the step that failed.
        """
        links = validated(items, DealLink)
        steps = _RelinkSteps(links, on_progress or _ignore)
        first = await self.link_deal(
            links, concurrency=concurrency, deals_module_id=deals_module_id, already_linked_ok=True,
            on_progress=steps.report_first_links,
        )  # fmt: skip
        retry_at = [i for i, result in enumerate(first) if result.code == "ALREADY_LINKED"]
        if not retry_at:
            return first
        final = list(first.results)
        steps.follow(retry_at)
        unlinked = await self.unlink_deal(
            [steps.unlink_of(i) for i in retry_at], concurrency=concurrency, on_progress=steps.report_failed_unlinks
        )
        relink_at: list[int] = []
        for i, result in zip(retry_at, unlinked, strict=True):
            steps.spent[i] = first[i].attempts + result.attempts
            if result.ok:
                relink_at.append(i)
            else:
                final[i] = steps.as_final(result, steps.spent[i])
        if relink_at:
            second = await self.link_deal(
                [links[i] for i in relink_at], concurrency=concurrency, deals_module_id=deals_module_id,
                on_progress=steps.report_relinks,
            )  # fmt: skip
            for i, relinked in zip(relink_at, second, strict=True):
                final[i] = dataclasses.replace(relinked, attempts=relinked.attempts + steps.spent[i])
        return BulkResult(final)

    def plan_relink(
        self, items: Iterable[DealLink], *, deals_module_id: str | None = None
    ) -> list[PlannedRequest[DealLink]]:
        """The requests ``relink`` sends first (its link requests); nothing is sent. The unlink and second link
        an email needs depend on Zoho's answer (ALREADY_LINKED), so they cannot be planned."""
        return plan_relink(items, deals_module_id=deals_module_id, api_version=self._crm.api_version)


class _RelinkSteps:
    """One relink call's bookkeeping: which input item a later step's result belongs to, the attempts each item
    has spent so far, and which results are final enough to report as progress."""

    def __init__(self, links: list[DealLink], report: ProgressCallback) -> None:
        self.links = links
        self.report = report
        self.position: dict[tuple[str, str], int] = {}
        self.spent: dict[int, int] = {}

    def follow(self, indexes: list[int]) -> None:
        self.position = {(self.links[i].contact_id, self.links[i].message_id): i for i in indexes}

    def unlink_of(self, index: int) -> DealUnlink:
        link = self.links[index]
        return DealUnlink(contact_id=link.contact_id, message_id=link.message_id, owner_id=link.owner_id)

    def index_of(self, result: ItemResult[Any]) -> int:
        return self.position[(result.item.contact_id, result.item.message_id)]

    def as_final(self, result: ItemResult[Any], attempts: int) -> ItemResult[DealLink]:
        """A later step's result as the final result of the input item it belongs to."""
        link = self.links[self.index_of(result)]
        return ItemResult(link, result.code, result.status, result.message, result.details, attempts)

    def report_first_links(self, results: Sequence[ItemResult[DealLink]]) -> None:
        # An ALREADY_LINKED is not final: the email is unlinked and linked again.
        self.report([result for result in results if result.code != "ALREADY_LINKED"])

    def report_failed_unlinks(self, results: Sequence[ItemResult[DealUnlink]]) -> None:
        # A failed unlink is the email's final state; a successful one is not final until the second link.
        self.report([self.as_final(result, result.attempts) for result in results if not result.ok])

    def report_relinks(self, results: Sequence[ItemResult[DealLink]]) -> None:
        self.report([self.as_final(result, result.attempts + self.spent[self.index_of(result)]) for result in results])


def _ignore(_: Sequence[ItemResult[Any]]) -> None:
    return None
