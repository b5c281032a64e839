"""Fixtures of the command-line tests."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager

import pytest

from ami_client.testing import serve

from .helpers import server_in_thread


@asynccontextmanager
async def _simulator() -> AsyncIterator[tuple[str, int]]:
    async with serve(time_scale=0.05) as sim:
        assert sim.host is not None
        assert sim.port is not None
        yield sim.host, sim.port


@pytest.fixture
def simulator() -> Iterator[tuple[str, int]]:
    """The simulator (``ami_client.testing``) on a loopback port, for ``main()`` to reach."""
    with server_in_thread(_simulator) as address:
        yield address
