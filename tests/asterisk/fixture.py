"""pytest plugin: the real Asterisk 22 (tests/asterisk/server.py) for tests marked ``asterisk``.

Fixtures
--------
``asterisk_server`` (session)
    Provisions (if needed) and starts the server once per session, stops it at
    the end, and yields the :class:`~tests.asterisk.server.AsteriskServer`.
``asterisk`` (function)
    The same server, made sure to be running before the test and again after it
    (for tests that stop, kill -9 or restart it); channels left up by the test are
    hung up afterwards.

Tests marked ``@pytest.mark.asterisk`` get ``asterisk`` automatically.

When the server cannot be had (not root, no network to Debian's mirrors,
provisioning failed, ...) these tests are skipped with the reason -- unless
``CI=true`` or ``AMI_REQUIRE_ASTERISK=1``, where that is an error carrying the
Asterisk log tail.  ``AMI_NO_ASTERISK=1`` skips them on purpose (quick local runs).
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from .server import AsteriskError, AsteriskServer

MARKER = "asterisk"


def asterisk_required() -> bool:
    """Whether a missing Asterisk is an error rather than a reason to skip."""
    return (
        os.environ.get("CI", "").lower() == "true" or os.environ.get("AMI_REQUIRE_ASTERISK") == "1"
    )


def asterisk_disabled() -> bool:
    return os.environ.get("AMI_NO_ASTERISK") == "1"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{MARKER}: needs the real Asterisk 22 of tests/asterisk/server.py (root; skipped when"
        " it cannot be had unless CI=true or AMI_REQUIRE_ASTERISK=1; AMI_NO_ASTERISK=1 skips"
        " on purpose)",
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests that use the fixtures are ``asterisk`` tests too (so ``-m 'not asterisk'`` works)."""
    for item in items:
        names = getattr(item, "fixturenames", ())
        if ("asterisk" in names or "asterisk_server" in names) and item.get_closest_marker(
            MARKER
        ) is None:
            item.add_marker(MARKER)


def _unavailable(reason: str, server: AsteriskServer | None) -> None:
    """Skip, or fail loudly where Asterisk is required."""
    if asterisk_required():
        tail = f"\n{server.log_tail(60)}" if server is not None else ""
        pytest.fail(
            f"real Asterisk required (CI=true or AMI_REQUIRE_ASTERISK=1) but {reason}{tail}",
            pytrace=False,
        )
    pytest.skip(f"real Asterisk unavailable: {reason}")


@pytest.fixture(scope="session")
def asterisk_server() -> Iterator[AsteriskServer]:
    if asterisk_disabled():
        pytest.skip("AMI_NO_ASTERISK=1: real-Asterisk tests skipped on purpose")
    server = AsteriskServer()
    try:
        server.check_root()
        server.provision()
        server.start()
    except AsteriskError as exc:
        _unavailable(str(exc), server)
    except OSError as exc:  # e.g. a read-only /var/tmp
        _unavailable(f"{type(exc).__name__}: {exc}", server)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def asterisk(asterisk_server: AsteriskServer) -> Iterator[AsteriskServer]:
    """The session's server, running before the test and again after it, with no channels."""
    _ensure_running(asterisk_server)
    yield asterisk_server
    _ensure_running(asterisk_server)
    try:
        asterisk_server.hangup_all()
    except AsteriskError as exc:
        pytest.fail(f"could not clear channels after the test: {exc}", pytrace=False)


def _ensure_running(server: AsteriskServer) -> None:
    if server.is_running():
        return
    try:
        server.start()
    except AsteriskError as exc:
        pytest.fail(f"could not restart the test Asterisk: {exc}", pytrace=False)


@pytest.fixture(autouse=True)
def _asterisk_marker(request: pytest.FixtureRequest) -> None:
    """Give tests marked ``asterisk`` the server without naming the fixture."""
    if request.node.get_closest_marker(MARKER) is not None:
        request.getfixturevalue("asterisk")
