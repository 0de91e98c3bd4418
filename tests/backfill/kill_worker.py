"""A service's backfill, as a process a test can SIGKILL: ``python -m tests.backfill.kill_worker URL ROWS JOURNAL``.

Library code only (no CLI): the rows (a JSON list) go through ``zcrm_async.backfill.run`` with the LINK op, small
batches so a kill finds some in flight. Prints the run's outcome counts and exits 0 when every row succeeded.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import anyio

from zcrm_async import Budget, ZohoCRM, backfill


async def main(url: str, rows: list[dict[str, str]], journal: Path) -> int:
    source = backfill.rows_source(backfill.LINK, rows, name="kill-test")
    async with ZohoCRM(
        client_id="fake-client-id", client_secret="fake-client-secret", refresh_token="fake-refresh-token",
        api_domain=url, accounts_url=url, budget=Budget(concurrency=10),
    ) as crm:  # fmt: skip
        result = await backfill.run(crm, backfill.LINK, source, journal=journal, batch_size=10, batches_in_flight=2)
    outcomes = {f"{code} {status}": n for (code, status), n in result.outcomes.items()}
    print(json.dumps({"stopped": None if result.stopped is None else result.stopped.value, "outcomes": outcomes}))
    return 0 if result.failed == 0 else 1


if __name__ == "__main__":
    given = json.loads(Path(sys.argv[2]).read_text(encoding="utf-8"))
    sys.exit(anyio.run(main, sys.argv[1], given, Path(sys.argv[3])))
