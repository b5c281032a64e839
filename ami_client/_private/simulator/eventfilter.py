"""Per-user event filters, as ``manager.conf``'s ``eventfilter`` lines and the ``Filter`` action.

The selection rule is the AMI v2 specification's (configuration section) and Asterisk 22's
``should_send_event``: no filters, everything passes; only include ("white") filters, an implied
exclude-all runs first, so an event passes when one include matches; only exclude ("black")
filters, an implied include-all runs first, so an event passes when no exclude matches; both,
exclude-all, then includes, then excludes. Responses are never filtered.

Parsing and matching follow Asterisk 22's ``manager_add_filter`` and ``filter_cmp_fn``
(``main/manager.c``), checked against a real 22.10.1 (tests/simulator/test_eventfilter_fidelity.py):

* legacy ``eventfilter = [!]<regex>``: a POSIX extended regular expression searched in the
  event's whole text (``Event: X\\r\\nPrivilege: ...\\r\\n...\\r\\n\\r\\n``); ``Event: Hangup`` is
  a regex like any other, so it also lets ``HangupRequest`` through. An empty pattern is refused.
* advanced ``eventfilter(action(include|exclude),name(<Event>),header(<Key>),method(<m>)) = expr``
  with ``method`` one of ``regex``, ``exact``, ``starts_with``, ``ends_with``, ``contains`` and
  ``none`` (the default: a pattern needs an explicit method). Option words and values are
  case-sensitive. ``name`` compares the event name exactly; ``header`` matches the pattern
  against the value of *every* line of that header (case-sensitive, leading blanks skipped,
  empty values never match) and the filter matches when one does. A ``!`` in front of the
  pattern excludes too, unless ``action(...)`` says otherwise (the ``!`` is dropped either way).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Final, Literal

import attrs

from ami_client._private.message import Message

__all__ = ["EventFilter", "FilterSet", "FilterSyntaxError", "event_text"]

_METHODS: Final = ("regex", "exact", "starts_with", "ends_with", "contains", "none")
_OPTIONS: Final = ("action", "name", "header", "method")
# strtok_r(temp, " ,)") in manager_add_filter: options are split on spaces, commas and ')'.
_OPTION_SPLIT: Final = re.compile(r"[ ,)]+")
_INTERVAL: Final = re.compile(r"\{[0-9]*(?:,[0-9]*)?\}")

# POSIX bracket classes, as Python character-set contents (C locale).
_POSIX_CLASSES: Final = {
    "alpha": "a-zA-Z",
    "digit": "0-9",
    "alnum": "a-zA-Z0-9",
    "upper": "A-Z",
    "lower": "a-z",
    "space": " \\t\\n\\r\\f\\v",
    "blank": " \\t",
    "punct": re.escape("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"),
    "print": "\\x20-\\x7e",
    "graph": "\\x21-\\x7e",
    "cntrl": "\\x00-\\x1f\\x7f",
    "xdigit": "0-9A-Fa-f",
}
# glibc escapes outside brackets that mean more than the character itself.
_POSIX_ESCAPES: Final = {
    "w": "\\w",
    "W": "\\W",
    "s": "\\s",
    "S": "\\S",
    "b": "\\b",
    "B": "\\B",
    "<": "\\b(?=\\w)",
    ">": "\\b(?<=\\w)",
    "`": "\\A",
    "'": "\\Z",
}


class FilterSyntaxError(ValueError):
    """An event filter that Asterisk 22 refuses.

    Attributes:
        reason: ``"format"`` for bad criteria or a missing/unexpected pattern (the ``Filter``
            action answers "Filter was formatted incorrectly..."), ``"compile"`` for a regular
            expression that does not compile ("Filter did not compile...").
    """

    def __init__(self, message: str, reason: Literal["format", "compile"] = "format") -> None:
        super().__init__(message)
        self.reason: Literal["format", "compile"] = reason


def event_text(event: Message) -> str:
    """The text Asterisk matches filters against: every line, CRLF-ended, then the blank line
    that ends the event (``eventqent->eventdata`` holds it too)."""
    return "".join(f"{k}: {v}\r\n" for k, v in event.fields) + "\r\n"


@attrs.frozen(kw_only=True)
class EventFilter:
    """One filter rule, as Asterisk 22 holds it (``struct event_filter_entry``).

    Build one with :meth:`from_config`, :meth:`legacy` or :meth:`advanced`, which refuse what
    Asterisk refuses.
    """

    include: bool
    name: str | None = None
    header: str | None = None  # without the trailing ':'
    method: str = "none"
    expression: str = ""
    _regex: re.Pattern[str] | None = attrs.field(default=None, repr=False, eq=False)

    @classmethod
    def parse(cls, criteria: str, pattern: str) -> EventFilter:
        """A rule from Asterisk's two halves: ``criteria`` is ``eventfilter`` or
        ``eventfilter(<options>)``, ``pattern`` what follows ``=`` (or the ``Filter`` header).

        Raises:
            FilterSyntaxError: where Asterisk 22 answers FILTER_FORMAT_ERROR or
                FILTER_COMPILE_FAIL.
        """
        include = True
        if pattern.startswith("!"):
            include = False
            pattern = pattern[1:]
        method = "regex"
        name = header = None
        start = criteria.find("(")
        if start < 0:
            if not pattern:
                raise FilterSyntaxError(f"legacy filter {criteria!r} without a pattern")
        else:
            method = "none"
            options = criteria[start + 1 :].strip()
            if not options or not options.endswith(")"):
                raise FilterSyntaxError(f"filter options of {criteria!r} not formatted correctly")
            found: set[str] = set()
            for option in filter(None, _OPTION_SPLIT.split(options)):
                kind = next((k for k in _OPTIONS if option.startswith(k)), None)
                paren = option.find("(")
                value = option[paren + 1 :].strip() if paren >= 0 else ""
                if kind is None:
                    raise FilterSyntaxError(f"unknown filter option {option!r} in {criteria!r}")
                if not value:
                    raise FilterSyntaxError(f"{kind!r} not formatted correctly in {criteria!r}")
                if kind == "action":
                    if value not in ("include", "exclude"):
                        raise FilterSyntaxError(f"unknown filter action {value!r}")
                    include = value == "include"
                elif kind == "name":
                    name = value
                elif kind == "header":
                    header = value[:-1] if value.endswith(":") else value
                else:
                    if value not in _METHODS:
                        raise FilterSyntaxError(f"unknown filter method {value!r}")
                    method = value
                found.add(kind)
            if not found:
                raise FilterSyntaxError(f"no filter option in {criteria!r}")
            if not pattern and method != "none":
                raise FilterSyntaxError(f"method {method!r} needs a pattern")
            if pattern and method == "none":
                raise FilterSyntaxError("a pattern needs a method other than 'none'")
            if name is None and header is None and method == "none":
                raise FilterSyntaxError("a filter without name, header or pattern")
        regex = compile_posix(pattern) if method == "regex" else None
        return cls(
            include=include,
            name=name,
            header=header,
            method=method,
            expression=pattern,
            regex=regex,
        )

    @classmethod
    def legacy(cls, text: str) -> EventFilter:
        """A legacy rule: a POSIX extended regular expression, ``!`` in front to exclude.

        Raises:
            FilterSyntaxError: when it is empty or does not compile.
        """
        return cls.parse("eventfilter", text)

    @classmethod
    def advanced(cls, criteria: str, expression: str) -> EventFilter:
        """A rule written ``eventfilter(<criteria>) = <expression>`` (or sent as the ``Filter``
        action's ``MatchCriteria`` and ``Filter``).

        Raises:
            FilterSyntaxError: for unknown or malformed options, a pattern with method
                ``none`` (the default) or none with another method, a bad regex.
        """
        return cls.parse(f"eventfilter({criteria})", expression)

    @classmethod
    def from_config(cls, line: str) -> EventFilter:
        """From a manager.conf line: ``eventfilter = X`` or ``eventfilter(...) = X``."""
        key, sep, value = line.partition("=")
        key = key.strip()
        if not sep or not key.lower().startswith("eventfilter"):
            raise FilterSyntaxError(f"not an eventfilter line: {line!r}")
        return cls.parse(key, value.strip())

    def matches(self, event: Message) -> bool:
        """Whether this rule's criteria all hold for ``event``."""
        if self.name is not None and event.get("Event") != self.name:
            return False
        if self.header is None:
            return self._match(event_text(event))
        prefix = f"{self.header}:"
        for key, value in event.fields:
            line = f"{key}: {value}"
            if not line.startswith(prefix):
                continue
            # ast_skip_blanks: every character below '!' goes.
            rest = line[len(prefix) :].lstrip("".join(map(chr, range(33))))
            if rest and self._match(rest):
                return True
        return False

    def _match(self, subject: str) -> bool:
        method = self.method
        expr = self.expression
        if method == "regex":
            assert self._regex is not None
            return self._regex.search(subject) is not None
        if method == "exact":
            return subject == expr
        if method == "starts_with":
            return subject.startswith(expr)
        if method == "ends_with":
            return subject.endswith(expr)
        if method == "contains":
            return expr in subject
        return True  # none


def posix_to_python(pattern: str) -> str:
    """A Python regex that finds what glibc's ``regcomp(REG_EXTENDED)`` pattern finds.

    Backslash before an ordinary character is that character (``\\d`` is ``d``); ``\\w \\s
    \\b \\< \\>`` and back-references keep their meaning; ``$`` is the end of the text only;
    a quantifier after a quantifier applies to both (``c+?`` is ``(c+)?``, not a lazy ``c+``);
    inside brackets a backslash is literal and ``[:digit:]``-style classes work. Python-only
    syntax (``(?...)``) and a ``{`` that starts no interval are refused, as glibc refuses them.
    Use it with ``re.DOTALL`` (``.`` matches CR and LF).

    Raises:
        FilterSyntaxError: where glibc refuses the pattern (reason ``"compile"``).
    """
    # Translated atoms; a quantifier attaches to the last one, a closing parenthesis merges
    # its group into one.
    units: list[str] = []
    quantified: list[bool] = []
    groups: list[int] = []
    i, n = 0, len(pattern)
    while i < n:
        c = pattern[i]
        quantifier = None
        if c == "\\":
            if i + 1 >= n:
                raise FilterSyntaxError(f"trailing backslash in {pattern!r}", "compile")
            nxt = pattern[i + 1]
            if nxt in _POSIX_ESCAPES:
                unit = _POSIX_ESCAPES[nxt]
            elif nxt in "123456789":
                unit = "\\" + nxt
            else:
                unit = re.escape(nxt)
            i += 2
        elif c == "[":
            unit, i = _bracket(pattern, i)
        elif c in "*+?":
            quantifier, i = c, i + 1
        elif c == "{":
            m = _INTERVAL.match(pattern, i)
            if m is None:
                raise FilterSyntaxError(f"'{{' starts no interval in {pattern!r}", "compile")
            quantifier, i = m.group(), m.end()
        elif c == "(":
            if pattern.startswith("(?", i):
                raise FilterSyntaxError(f"'(?' is not POSIX in {pattern!r}", "compile")
            groups.append(len(units))
            unit, i = "(", i + 1
        elif c == ")" and groups:
            first = groups.pop()
            units[first:] = ["".join(units[first:]) + ")"]
            quantified[first:] = [False]
            i += 1
            continue
        elif c == ")":  # glibc: a ')' that closes no group is an ordinary character
            unit, i = "\\)", i + 1
        else:
            unit = "\\Z" if c == "$" else c
            i += 1
        if quantifier is None:
            units.append(unit)
            quantified.append(False)
        elif not units or units[-1] in ("(", "|"):
            units.append(quantifier)  # nothing to repeat: re.compile refuses it, as glibc does
            quantified.append(False)
        else:
            if quantified[-1]:
                units[-1] = f"(?:{units[-1]})"
            units[-1] += quantifier
            quantified[-1] = True
    return "".join(units)


def _bracket(pattern: str, i: int) -> tuple[str, int]:
    """Translate the bracket expression at ``pattern[i] == '['``: it, and the index after it."""
    n = len(pattern)
    j = i + 1
    parts = ["["]
    if j < n and pattern[j] == "^":
        parts.append("^")
        j += 1
    first = True
    after_class = False
    while True:
        if j >= n:
            raise FilterSyntaxError(f"unmatched [ in {pattern!r}", "compile")
        c = pattern[j]
        if c == "]" and not first:
            return "".join(parts) + "]", j + 1
        first = False
        if c == "[" and j + 1 < n and pattern[j + 1] in ":.=":
            kind = pattern[j + 1]
            end = pattern.find(kind + "]", j + 2)
            if end < 0:
                raise FilterSyntaxError(f"unmatched [{kind} in {pattern!r}", "compile")
            inner = pattern[j + 2 : end]
            if kind == ":":
                if inner not in _POSIX_CLASSES:
                    raise FilterSyntaxError(f"unknown class [:{inner}:] in {pattern!r}", "compile")
                if parts[-1] == "-" and len(parts) > (3 if parts[1] == "^" else 2):
                    raise FilterSyntaxError(f"a range ends in a class in {pattern!r}", "compile")
                parts.append(_POSIX_CLASSES[inner])
                after_class = True
            elif len(inner) == 1:  # [.x.] and [=x=] of one character: that character
                parts.append(re.escape(inner))
                after_class = False
            else:
                raise FilterSyntaxError(f"bad collating element in {pattern!r}", "compile")
            j = end + 2
            continue
        if c == "-" and after_class and j + 1 < n and pattern[j + 1] != "]":
            raise FilterSyntaxError(f"a range starts at a class in {pattern!r}", "compile")
        parts.append("-" if c == "-" else re.escape(c))
        after_class = False
        j += 1


def compile_posix(expression: str) -> re.Pattern[str]:
    """``expression`` as glibc's ``regcomp(REG_EXTENDED)`` reads it (see :func:`posix_to_python`):
    what Asterisk uses for eventfilters and for the Hangup action's ``/regex/``.

    Raises:
        FilterSyntaxError: where glibc refuses the pattern (reason ``"compile"``).
    """
    try:
        return re.compile(posix_to_python(expression), re.DOTALL)
    except re.error as exc:
        raise FilterSyntaxError(
            f"filter {expression!r} does not compile: {exc}", "compile"
        ) from exc


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
