"""Per-user event filters, as ``manager.conf``'s ``eventfilter`` lines and the ``Filter`` action.

The selection rule is the AMI v2 specification's (configuration section) and Asterisk 22's
``should_send_event``: no filters, everything passes; only include ("white") filters, an implied
exclude-all runs first, so an event passes when one include matches; only exclude ("black")
filters, an implied include-all runs first, so an event passes when no exclude matches; both,
exclude-all, then includes, then excludes. Responses are never filtered.

Two syntaxes, both Asterisk 22:

* legacy: ``eventfilter = <regex>`` (``!<regex>`` excludes), matched anywhere in the event's
  text (``Event: X\\r\\nPrivilege: ...``). ``Event: <name>`` without regex characters is an exact
  name comparison (Asterisk 21+ optimises it so).
* advanced: ``eventfilter(action(include|exclude),name(<Event>),header(<Key>),method(<m>)) = expr``
  where ``method`` is ``regex`` (default with an expression), ``exact``, ``starts_with``,
  ``ends_with``, ``contains`` or ``none`` (default without one); ``header`` matches the
  expression against that header's value instead of the whole text.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Final

import attrs

from ami_client._private.message import Message

__all__ = ["EventFilter", "FilterSet", "FilterSyntaxError"]

_METHODS: Final = frozenset({"regex", "exact", "starts_with", "ends_with", "contains", "none"})
_REGEX_CHARS: Final = re.compile(r"[\\^$.|?*+()\[\]{}]")
_CRITERION: Final = re.compile(r"\s*(action|name|header|method)\(([^()]*)\)\s*(?:,|$)")


class FilterSyntaxError(ValueError):
    """An event filter that Asterisk would refuse (bad regex or criteria)."""


def event_text(event: Message) -> str:
    """The text Asterisk matches legacy filters against: every line, CRLF-separated."""
    return "".join(f"{k}: {v}\r\n" for k, v in event.fields)


@attrs.frozen(kw_only=True)
class EventFilter:
    """One filter rule."""

    include: bool
    name: str | None = None
    header: str | None = None
    method: str = "none"
    expression: str = ""
    _regex: re.Pattern[str] | None = attrs.field(default=None, repr=False, eq=False)

    @classmethod
    def legacy(cls, text: str) -> EventFilter:
        """A legacy rule: a regular expression, ``!`` in front to exclude.

        Raises:
            FilterSyntaxError: when the expression does not compile.
        """
        include = not text.startswith("!")
        expression = text if include else text[1:]
        if expression.startswith("Event: ") and not _REGEX_CHARS.search(expression[7:]):
            return cls(include=include, name=expression[7:].strip())
        return cls(
            include=include, method="regex", expression=expression, regex=_compile(expression)
        )

    @classmethod
    def advanced(cls, criteria: str, expression: str) -> EventFilter:
        """A rule written ``eventfilter(<criteria>) = <expression>``.

        Raises:
            FilterSyntaxError: for unknown criteria, a bad method or regex.
        """
        found: dict[str, str] = {}
        pos = 0
        while pos < len(criteria):
            m = _CRITERION.match(criteria, pos)
            if m is None or m.end() == pos:
                raise FilterSyntaxError(f"bad event filter criteria {criteria!r}")
            found[m.group(1)] = m.group(2).strip()
            pos = m.end()
        action = found.get("action", "include").lower()
        if action not in ("include", "exclude"):
            raise FilterSyntaxError(f"bad filter action {action!r}")
        method = found.get("method", "regex" if expression else "none").lower()
        if method not in _METHODS:
            raise FilterSyntaxError(f"bad filter method {method!r}")
        regex = _compile(expression) if method == "regex" else None
        return cls(
            include=action == "include",
            name=found.get("name") or None,
            header=found.get("header") or None,
            method=method,
            expression=expression,
            regex=regex,
        )

    @classmethod
    def from_config(cls, line: str) -> EventFilter:
        """From a manager.conf line: ``eventfilter = X`` or ``eventfilter(...) = X``."""
        key, sep, value = line.partition("=")
        key = key.strip()
        if not sep or not key.lower().startswith("eventfilter"):
            raise FilterSyntaxError(f"not an eventfilter line: {line!r}")
        value = value.strip()
        rest = key[len("eventfilter") :].strip()
        if not rest:
            return cls.legacy(value)
        if not (rest.startswith("(") and rest.endswith(")")):
            raise FilterSyntaxError(f"bad eventfilter key {key!r}")
        return cls.advanced(rest[1:-1], value)

    def matches(self, event: Message) -> bool:
        """Whether this rule's criteria all hold for ``event``."""
        if self.name is not None and event.get("Event") != self.name:
            return False
        if self.header is not None:
            values = [v for k, v in event.fields if k == self.header]
            if not values:
                return False
            subject = values[0]
        else:
            subject = event_text(event)
        method = self.method
        expr = self.expression
        if method == "none":
            return True
        if method == "regex":
            assert self._regex is not None
            return self._regex.search(subject) is not None
        if method == "exact":
            return subject == expr
        if method == "starts_with":
            return subject.startswith(expr)
        if method == "ends_with":
            return subject.endswith(expr)
        return expr in subject  # contains


def _compile(expression: str) -> re.Pattern[str]:
    try:
        return re.compile(expression)
    except re.error as exc:
        raise FilterSyntaxError(f"filter {expression!r} does not compile: {exc}") from exc


class FilterSet:
    """A session's include and exclude rules, in the order they were added."""

    __slots__ = ("excludes", "includes")

    def __init__(self, rules: Iterable[EventFilter] = ()) -> None:
        self.includes: list[EventFilter] = []
        self.excludes: list[EventFilter] = []
        for rule in rules:
            self.add(rule)

    def add(self, rule: EventFilter) -> None:
        """Add one rule."""
        (self.includes if rule.include else self.excludes).append(rule)

    def allows(self, event: Message) -> bool:
        """Whether ``event`` reaches the session (the spec's four cases)."""
        if self.includes and not any(r.matches(event) for r in self.includes):
            return False
        return not any(r.matches(event) for r in self.excludes)
