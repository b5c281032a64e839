"""Simulator users and their authentication (plain secret and the MD5 challenge)."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterable

import attrs

from ami_client._private.simulator.eventfilter import EventFilter
from ami_client._private.simulator.permissions import parse_classes

__all__ = ["User", "default_users", "make_challenge", "check_login"]


def _classes(value: str | Iterable[str] | frozenset[str]) -> frozenset[str]:
    return value if isinstance(value, frozenset) else parse_classes(value)


def _filters(value: Iterable[str | EventFilter]) -> tuple[EventFilter, ...]:
    out = []
    for item in value:
        if isinstance(item, EventFilter):
            out.append(item)
        elif item.lstrip().lower().startswith("eventfilter"):
            out.append(EventFilter.from_config(item))
        else:
            out.append(EventFilter.legacy(item))
    return tuple(out)


@attrs.frozen(kw_only=True)
class User:
    """An AMI account, like a ``manager.conf`` section.

    Args:
        username: The section name, used as ``Username:``.
        secret: The secret (never shown in ``repr``).
        read: Classes of events the user may receive (``"all"``, ``"call,reporting"``...).
        write: Classes of actions the user may send.
        eventfilters: ``eventfilter`` rules: manager.conf lines (``"eventfilter = !X"``,
            ``"eventfilter(name(Hangup)) ="``) or bare legacy expressions (``"Event: Hangup"``).
    """

    username: str
    secret: str = attrs.field(repr=False)
    read: frozenset[str] = attrs.field(default="all", converter=_classes)
    write: frozenset[str] = attrs.field(default="all", converter=_classes)
    eventfilters: tuple[EventFilter, ...] = attrs.field(default=(), converter=_filters)


# The well-known accounts of the project's test Asterisk (tests/asterisk/server.py): the same
# credentials work against the simulator and the real server.
_TEST_CREDENTIALS = {
    "admin": "ami-admin-secret",
    "restricted": "ami-restricted-secret",
    "filtered": "ami-filtered-secret",
    "advanced": "ami-advanced-secret",
}


def default_users() -> dict[str, User]:
    """The accounts of the project's real test Asterisk (tests/asterisk/server.py)."""
    return {
        "admin": User(username="admin", secret=_TEST_CREDENTIALS["admin"]),
        "restricted": User(
            username="restricted",
            secret=_TEST_CREDENTIALS["restricted"],
            read="call,reporting",
            write="reporting",
        ),
        "filtered": User(
            username="filtered",
            secret=_TEST_CREDENTIALS["filtered"],
            eventfilters=(
                "eventfilter = Event: Newchannel",
                "eventfilter = Event: UserEvent",
                "eventfilter(action(include),name(Hangup)) =",
                "eventfilter = !UserEvent: Blocked",
            ),
        ),
        "advanced": User(
            username="advanced",
            secret=_TEST_CREDENTIALS["advanced"],
            eventfilters=(
                "eventfilter(action(include),name(UserEvent),header(UserEvent),"
                "method(starts_with)) = Keep",
                "eventfilter(action(exclude),header(Tag),method(contains)) = drop",
                "eventfilter(name(UserEvent),header(Tag),method(exact)) = !secret",
                "eventfilter(name(Newchannel),header(Channel),method(regex)) = ^Local/dial-short@",
                "eventfilter = Event: Dial",
                "eventfilter(name(Hangup),header(Cause),method(ends_with)) = 6",
            ),
        ),
    }


def make_challenge() -> str:
    """A challenge like Asterisk's: a decimal number (``ast_random()``), e.g. ``157968537``."""
    return str(secrets.randbelow(2**31))


def check_login(
    user: User | None,
    *,
    secret: str | None,
    auth_type: str | None,
    key: str | None,
    challenge: str | None,
) -> bool:
    """Whether a Login's credentials are right for ``user``.

    MD5 (``AuthType: MD5``) needs a preceding ``Challenge`` on the same session; the expected
    ``Key`` is ``md5_hex(challenge + secret)`` (login_md5_challenge.ami).
    """
    if user is None:
        return False
    if auth_type is not None and auth_type.lower() == "md5":
        if not challenge or key is None:
            return False
        expected = hashlib.md5((challenge + user.secret).encode(), usedforsecurity=False)
        # Asterisk 22 compares the lower-case hex digest exactly (strcmp): an upper-case
        # key fails (test_actions_fidelity).
        return hmac.compare_digest(expected.hexdigest().encode(), key.encode())
    if secret is None:
        return False
    return hmac.compare_digest(secret.encode(), user.secret.encode())
