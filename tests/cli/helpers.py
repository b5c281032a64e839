"""Servers for command-line tests: ``main()`` runs its own event loop, so they run in a thread."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractAsyncContextManager, contextmanager

import anyio


@contextmanager
def server_in_thread(
    serve: Callable[[], AbstractAsyncContextManager[tuple[str, int]]],
) -> Iterator[tuple[str, int]]:
    """Run the server ``serve()`` starts (it yields its address) in a thread of its own."""
    started = threading.Event()
    address: list[tuple[str, int]] = []
    stop = threading.Event()
    failure: list[BaseException] = []

    async def run() -> None:
        try:
            async with serve() as where:
                address.append(where)
                started.set()
                await anyio.to_thread.run_sync(stop.wait)
        except BaseException as exc:  # reported by the test's thread, not lost in this one
            failure.append(exc)
            started.set()
            raise

    thread = threading.Thread(target=anyio.run, args=(run,), daemon=True)
    thread.start()
    assert started.wait(10)
    if failure:
        raise failure[0]
    try:
        yield address[0]
    finally:
        stop.set()
        thread.join(10)


def env_for(host: str, port: int, secret: str = "ami-admin-secret") -> dict[str, str]:  # noqa: S107 (the simulator's)
    """Settings for ``main(environ=...)``: the simulator's admin user by default."""
    return {"AMI_HOST": host, "AMI_PORT": str(port), "AMI_USERNAME": "admin", "AMI_SECRET": secret}
