"""Learned message shapes: the parser's fast path for messages it has seen the like of.

Asterisk writes each kind of message with the same keys in the same order every time: every
``Newchannel`` has the same 17 lines, only the values differ. Once the parser has read one such
message line by line, it records the message's *shape*: its first line (``Event: Newchannel``),
its keys, and one compiled pattern that matches a whole message of exactly that shape::

    Event: (Newchannel)\\r\\nPrivilege: ([^\\n]*)\\r\\n ... Linkedid: ([^\\n]*)\\r\\n\\r\\n

The next message whose first line is the same (the parser looks shapes up by that line, or just
tries the shape of the message before: the pattern holds the first line whole) is then read by
one ``match`` in C: the keys are
shared strings whose hashes are already known, and only the values are cut out. No line is split
or partitioned in Python, which is what makes this faster than the naive split-into-dicts loop.

A match means exactly what the line-by-line reading would have produced, because a shape is only
learned from a message whose every line is ``Key: Value`` with a key that is non-empty and free
of ``:`` and CR (a key may repeat, as ``State`` does in ``TestEvent``). A value is ``[^\\n]*``
followed by CRLF, so it ends exactly where splitting at CRLF would end it, and a match can hold
no bare LF, so no LF-ended message can hide inside one.

The cache is shared by every parser in the process (a shape is a property of the server
software, not of one connection) and bounded, so a server inventing new shapes forever costs at
most the bounds below and then nothing: unknown shapes keep being read line by line.
"""

from __future__ import annotations

import re
import sys
import threading
from collections.abc import Callable, Sequence
from typing import Final

from ami_client._private.message import Message

__all__ = ["MAX_SHAPE_LINES", "Shape", "ShapeCache", "SHAPES"]

#: (pattern.match, keys, message class, whether a key repeats)
Shape = tuple[Callable[[str, int], "re.Match[str] | None"], tuple[str, ...], type[Message], bool]

# The most lines a learned shape may have. The longest events documented for Asterisk 22 are
# EndpointDetail (about 140 lines) and AttendedTransfer (six snapshots, about 110); longer
# messages (a Command answer, whose Output key repeats anyway) are read line by line.
MAX_SHAPE_LINES: Final = 160
# Shapes that may share one first line. `Response: Success` has one per kind of answer; an event
# has one, or two when Asterisk adds optional fields (DialBegin with or without a caller).
_MAX_PER_HEAD: Final = 16
# Lines over all learned shapes: each costs a few dozen bytes of compiled pattern, so the whole
# cache stays under a couple of MiB. Asterisk 22's ~500 kinds of messages fit many times over.
_MAX_TOTAL_LINES: Final = 32_768


class ShapeCache:
    """A bounded, thread-safe map of first line -> the shapes learned for it."""

    def __init__(self, *, max_total_lines: int = _MAX_TOTAL_LINES) -> None:
        self.by_head: dict[str, list[Shape]] = {}
        self._lines = 0
        self._max_lines = max_total_lines
        self._lock = threading.Lock()

    @property
    def lines(self) -> int:
        """Lines over all learned shapes (bounded)."""
        return self._lines

    def learn(self, lines: Sequence[str], kind: type[Message]) -> None:
        """Record the shape of a message just read line by line from ``lines``.

        Does nothing if the message cannot be a shape (see the module docstring), if its shape
        is known already, or if a bound is reached.
        """
        count = len(lines)
        if count > MAX_SHAPE_LINES or self._lines + count > self._max_lines:
            return
        head = lines[0]
        known = self.by_head.get(head)
        if known is not None and len(known) >= _MAX_PER_HEAD:
            return
        keys: list[str] = []
        for line in lines:
            key, sep, _ = line.partition(": ")
            if not sep or not key or ":" in key or "\r" in key:
                return
            keys.append(key)
        shape_keys = tuple(keys)
        if known is not None and any(shape[1] == shape_keys for shape in known):
            return
        # The first line whole (its value too: a match then says the first line is `head`,
        # so a parser may try a shape before it has cut the first line out), the other
        # values as [^\n]*.
        first = f"{re.escape(keys[0])}: ({re.escape(head.partition(': ')[2])})\\r\\n"
        pattern = first + "".join(f"{re.escape(k)}: ([^\\n]*)\\r\\n" for k in keys[1:]) + "\\r\\n"
        # Keys are interned: each message of this shape then holds the same key objects.
        repeats = len(set(keys)) != count
        shape: Shape = (
            re.compile(pattern).match,
            tuple(map(sys.intern, shape_keys)),
            kind,
            repeats,
        )
        with self._lock:
            if self._lines + count > self._max_lines:
                return
            shapes = self.by_head.get(head, [])
            if len(shapes) >= _MAX_PER_HEAD or any(s[1] == shape_keys for s in shapes):
                return
            # A new list, not an append: a parser iterating the old one sees a stable list.
            self.by_head[head] = [*shapes, shape]
            self._lines += count

    def clear(self) -> None:
        """Forget every shape (for tests)."""
        with self._lock:
            self.by_head = {}
            self._lines = 0


#: The process-wide cache every :class:`~ami_client.protocol.Parser` uses.
SHAPES: Final = ShapeCache()
