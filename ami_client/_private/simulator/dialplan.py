"""A small dialplan: contexts of extensions, each a list of ``(application, data)`` priorities.

Enough of ``extensions.conf`` for tests: exact extensions and ``_`` patterns (``X Z N . ! [..]``),
priority labels (``n(label)``), ``${VAR}`` and ``${VAR:offset[:length]}`` substitution
(``EXTEN``, ``CHANNEL``, ``CONTEXT`` and channel variables). The default dialplan is the real
test server's ``ami-test`` context (tests/asterisk/server.py), so the same scenario runs on both.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping

import attrs

__all__ = ["Dialplan", "default_dialplan", "leading_number", "substitute"]

Priority = tuple[str, str]  # (application, data)
LabelledPriority = tuple[str, str, str]  # (application, data, label)


def _pattern_regex(pattern: str) -> re.Pattern[str]:
    """A regex for an Asterisk extension pattern (``_`` stripped), as Asterisk 22's
    ``_extension_match_core`` reads it: ``N``/``X``/``Z`` in either case, ``[...]`` sets with
    ranges, ``.`` one or more characters, ``!`` zero or more, ``-`` and spaces ignored (the
    dialled extension's dashes are skipped by :meth:`Dialplan.lookup`).

    Raises:
        ValueError: for a ``[`` without its ``]`` (Asterisk: "Wrong usage of [] in the
            extension", and the extension never matches).
    """
    out = []
    i = 0
    body = pattern[1:]
    while i < len(body):
        c = body[i]
        upper = c.upper()
        if upper == "X":
            out.append("[0-9]")
        elif upper == "Z":
            out.append("[1-9]")
        elif upper == "N":
            out.append("[2-9]")
        elif c == ".":
            out.append(".+")
        elif c == "!":
            out.append(".*")
        elif c in "- ":
            pass
        elif c == "[":
            end = body.find("]", i + 1)
            if end < 0:
                raise ValueError(f"extension pattern {pattern!r}: '[' without ']'")
            out.append(_char_set(body[i + 1 : end]))
            i = end
        else:
            out.append(re.escape(c))
        i += 1
    return re.compile("".join(out) + r"\Z", re.DOTALL)


def _char_set(members: str) -> str:
    """``[...]`` of a pattern: characters and ``a-z`` ranges (empty: matches nothing)."""
    parts = []
    i = 0
    while i < len(members):
        if i + 2 < len(members) and members[i + 1] == "-":
            low, high = members[i], members[i + 2]
            if low <= high:  # a reversed range holds nothing (Asterisk compares both ends)
                parts.append(f"{re.escape(low)}-{re.escape(high)}")
            i += 3
        else:
            parts.append(re.escape(members[i]))
            i += 1
    return f"[{''.join(parts)}]" if parts else "(?!)"


@attrs.frozen
class _Extension:
    name: str  # as added: "wait", "_wait-."
    steps: list[Priority]
    labels: dict[str, int]  # label -> priority number


class Dialplan:
    """Contexts → extensions → priorities. Build it with :meth:`add`."""

    def __init__(self) -> None:
        self._exact: dict[str, dict[str, _Extension]] = {}
        self._patterns: dict[str, list[tuple[re.Pattern[str], _Extension]]] = {}

    def add(
        self, context: str, exten: str, priorities: Iterable[Priority | LabelledPriority | str]
    ) -> None:
        """Add an extension. Priorities are numbered from 1 in order; each is ``(app, data)``,
        ``(app, data, label)`` (``exten => x,n(label),App(data)``) or an ``"App(data)"`` string.

        A label names its priority in this extension only, case-sensitively (as Asterisk
        looks it up), for ``Goto`` and for the ``Priority`` of the ``Originate`` and
        ``Redirect`` actions. Each reads a priority that starts with a number as a number,
        so a label such as ``"2nd"`` cannot be reached, as on Asterisk.

        Raises:
            ValueError: for an empty label or one given twice in the extension (the simulator
                refuses what would be ambiguous), or an extension pattern with a ``[`` without
                its ``]``.
        """
        ext = _Extension(exten, [], {})
        for number, p in enumerate(priorities, 1):
            if isinstance(p, str):
                app, _, rest = p.partition("(")
                ext.steps.append((app.strip(), rest[:-1] if rest.endswith(")") else rest))
                continue
            ext.steps.append((p[0], p[1]))
            if len(p) == 3:
                label = p[2]
                if not label:
                    raise ValueError(f"{exten}@{context} priority {number}: empty label")
                if label in ext.labels:
                    raise ValueError(
                        f"{exten}@{context}: label {label!r} is on priorities "
                        f"{ext.labels[label]} and {number}"
                    )
                ext.labels[label] = number
        if exten.startswith("_"):
            self._patterns.setdefault(context, []).append((_pattern_regex(exten), ext))
        else:
            self._exact.setdefault(context, {})[exten] = ext

    def has_context(self, context: str) -> bool:
        return context in self._exact or context in self._patterns

    def _find(self, context: str, exten: str) -> _Extension | None:
        ext = self._exact.get(context, {}).get(exten)
        if ext is not None:
            return ext
        dialled = exten.replace("-", "")  # Asterisk skips dashes in the dialled extension
        for regex, pext in self._patterns.get(context, []):
            if regex.match(dialled):
                return pext
        return None

    def lookup(self, context: str, exten: str) -> list[Priority] | None:
        """The priorities of ``exten@context`` (exact match first, then patterns in order)."""
        ext = self._find(context, exten)
        return None if ext is None else ext.steps

    def exists(self, context: str, exten: str, priority: int = 1) -> bool:
        steps = self.lookup(context, exten)
        return steps is not None and 1 <= priority <= len(steps)

    def find_label(self, context: str, exten: str, label: str) -> int | None:
        """The number of the priority labelled ``label`` (case-sensitive) in the extension
        that ``exten@context`` matches (as :meth:`lookup` finds it), or None, like Asterisk's
        ``ast_findlabel_extension``."""
        ext = self._find(context, exten)
        return None if ext is None else ext.labels.get(label)

    def listing(
        self, context: str, exten: str
    ) -> tuple[str, list[tuple[str, str, str | None]]] | None:
        """What ``dialplan show exten@context`` lists: the name of the extension that
        ``exten`` matches (a pattern's own, ``_wait-.``), and each priority's application,
        data and label (None without one); None when no extension matches."""
        ext = self._find(context, exten)
        if ext is None:
            return None
        label_of = {number: label for label, number in ext.labels.items()}
        steps = [(app, data, label_of.get(n)) for n, (app, data) in enumerate(ext.steps, 1)]
        return ext.name, steps

    def extensions(self, context: str) -> list[str]:
        return list(self._exact.get(context, {}))


# What sscanf("%30d") reads at the start of a priority, as Goto (pbx_parseable_goto) and the
# Originate and Redirect actions (manager.c) read one.
_NUMBER = re.compile(r"[+-]?[0-9]+")


def leading_number(text: str) -> int | None:
    """The number ``text`` starts with (whatever follows its digits), or None: then it is a
    priority label."""
    found = _NUMBER.match(text)
    return None if found is None else int(found.group())


_VAR = re.compile(r"\$\{([A-Za-z0-9_()]+)(?::(-?\d+)(?::(-?\d+))?)?\}")


def substitute(text: str, lookup: Callable[[str], str]) -> str:
    """Expand ``${NAME}`` / ``${NAME:offset[:length]}`` (one level, like simple dialplan use)."""

    def repl(m: re.Match[str]) -> str:
        value = lookup(m.group(1))
        if m.group(2) is not None:
            value = value[int(m.group(2)) :]
        if m.group(3) is not None:
            value = value[: int(m.group(3))]
        return value

    return _VAR.sub(repl, text)


def default_dialplan(context: str = "ami-test", variable: str = "AMI_TEST_VAR") -> Dialplan:
    """The ``ami-test`` context of the project's real test Asterisk, extension by extension."""
    plan = Dialplan()
    ext: Mapping[str, list[str]] = {
        "echo": ["Answer()", "Echo()", "Hangup()"],
        "wait": ["Answer()", "Wait(30)", "Hangup()"],
        "_wait-.": ["Answer()", "Wait(${EXTEN:5})", "Hangup()"],
        "ring": ["Ringing()", "Wait(30)", "Hangup()"],
        "hangup": ["Answer()", "Hangup(16)"],
        "busy": ["Busy(1)", "Hangup(17)"],
        "congestion": ["Congestion(1)", "Hangup(34)"],
        "dial-local": [
            f"Set({variable}=dial-local)",
            f"Dial(Local/wait@{context}/n,30)",
            "Hangup()",
        ],
        "dial-short": [
            f"Set({variable}=dial-short)",
            f"Dial(Local/wait-2@{context}/n,30)",
            "Hangup()",
        ],
        "dial-busy": [f"Dial(Local/busy@{context}/n,10)", "Hangup()"],
        "dial-noanswer": [f"Dial(Local/ring@{context}/n,2)", "Hangup()"],
        "setvar": [
            "Answer()",
            f"Set({variable}=set-by-dialplan)",
            "Set(__AMI_INHERITED=yes)",
            "Set(CALLERID(name)=AMI Test)",
            "Wait(1)",
            "Hangup()",
        ],
        "userevent": [
            "Answer()",
            "UserEvent(AmiTest,Source: dialplan,Channel: ${CHANNEL})",
            "Wait(1)",
            "Hangup()",
        ],
    }
    for exten, steps in ext.items():
        plan.add(context, exten, steps)
    # Priority labels (exten => labels,n(retry),...): Goto a label here, then one of another
    # extension; Originate and Redirect can start at label-target's "landing".
    plan.add(context, "labels", [
        "Answer()",
        "Goto(retry)",
        "UserEvent(AmiLabel,Step: skipped)",
        ("UserEvent", "AmiLabel,Step: retry", "retry"),
        "Goto(label-target,landing)",
        "Hangup()",
    ])  # fmt: skip
    plan.add(context, "label-target", [
        "Answer()",
        "UserEvent(AmiLabel,Step: target-start)",
        ("UserEvent", "AmiLabel,Step: landing", "landing"),
        "Wait(1)",
        "Hangup()",
    ])  # fmt: skip
    plan.add(context, "label-missing", [
        "Answer()",
        "Goto(nowhere)",  # no such label: Goto fails, the channel hangs up
        "UserEvent(AmiLabel,Step: after-missing)",
        "Hangup()",
    ])  # fmt: skip
    return plan
