"""What the CLI tests share: a FakeZoho served from a thread, which the CLI (a subprocess) is pointed at."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from zcrm_async.testing import FakeZoho


@pytest.fixture
def served() -> Iterator[tuple[FakeZoho, str]]:
    """A fresh FakeZoho and its URL, served for the test's length."""
    fake = FakeZoho()
    with fake.serving_in_thread() as url:
        yield fake, url
