"""Policies for keeping a connection alive: reconnect backoff with jitter, and keepalive."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator

import attrs

__all__ = ["Keepalive", "ReconnectPolicy"]


def _non_negative(_instance: object, attribute: attrs.Attribute[float], value: float) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise ValueError(f"{attribute.name} must be a number >= 0, not {value!r}")


def _positive(_instance: object, attribute: attrs.Attribute[float], value: float) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        raise ValueError(f"{attribute.name} must be a number > 0, not {value!r}")


def _fraction(_instance: object, attribute: attrs.Attribute[float], value: float) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
        raise ValueError(f"{attribute.name} must be between 0 and 1, not {value!r}")


def _attempts(_instance: object, attribute: attrs.Attribute[int | None], value: int | None) -> None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
        raise ValueError(f"{attribute.name} must be None or an int >= 1, not {value!r}")


@attrs.frozen(kw_only=True)
class ReconnectPolicy:
    """When the link dies, reconnect and log in again, waiting longer after each failure.

    The n-th attempt (from 0) waits ``min(max_delay, initial_delay * multiplier**n)``, of which
    a random fraction up to ``jitter`` is taken off, so that many clients cut off by one
    Asterisk restart do not all come back in the same instant.

    Reconnecting never re-sends an action: those in flight when the link died fail with
    :class:`~ami_client.ConnectionLost` (an ``Originate`` must not dial twice). Subscriptions
    live on, and ``Events``/``Filter`` settings sent through the client are applied again.

    Attributes:
        initial_delay: Seconds before the first attempt.
        max_delay: The longest wait between attempts.
        multiplier: Growth of the wait after each failed attempt.
        jitter: Fraction (0..1) of each wait that is randomised.
        max_attempts: Give up after this many failed attempts in a row (None: never).
    """

    initial_delay: float = attrs.field(default=0.5, validator=_non_negative)
    max_delay: float = attrs.field(default=30.0, validator=_non_negative)
    multiplier: float = attrs.field(default=2.0, validator=_positive)
    jitter: float = attrs.field(default=0.5, validator=_fraction)
    max_attempts: int | None = attrs.field(default=None, validator=_attempts)
    random: Callable[[], float] = attrs.field(
        default=random.random, repr=False, eq=False
    )  # injectable for tests

    def delay(self, attempt: int) -> float:
        """Seconds to wait before attempt number ``attempt`` (0 for the first)."""
        base = self.initial_delay * self.multiplier ** min(attempt, 64)
        base = min(self.max_delay, base)
        return base * (1.0 - self.jitter * self.random())

    def delays(self) -> Iterator[float]:
        """The waits before each attempt, ending after ``max_attempts`` (if set)."""
        attempt = 0
        while self.max_attempts is None or attempt < self.max_attempts:
            yield self.delay(attempt)
            attempt += 1


@attrs.frozen(kw_only=True)
class Keepalive:
    """Send a ``Ping`` every ``interval`` seconds; no answer within ``timeout`` means the link
    is dead (:class:`~ami_client.KeepaliveTimeout`).

    This finds a dead server or a silently dropped link (a NAT or firewall that forgot the
    connection, a frozen VM) that TCP itself would not report for many minutes.

    Attributes:
        interval: Seconds between Pings.
        timeout: Seconds a Ping may take before the link is declared dead.
    """

    interval: float = attrs.field(default=30.0, validator=_positive)
    timeout: float = attrs.field(default=10.0, validator=_positive)
