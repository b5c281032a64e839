"""The incremental AMI parser: bytes in, banner and messages out. No I/O.

Modelled on h11: feed bytes with :meth:`Parser.receive_data` (``b""`` means the peer closed),
then call :meth:`Parser.next_event` until it returns :data:`NEED_DATA`. Feeding the same bytes
in any chunking gives the same results, including the same error.

How it stays fast and linear:

* bytes are only searched once: the parser remembers where it stopped looking for the blank
  line that ends a message, and searches only new bytes next time;
* every complete message in the buffer is cut out in one piece (a *region*) and decoded with
  one call;
* a message shaped like one read before (same first line, same keys: Asterisk writes every
  Newchannel alike) is read whole by one compiled pattern, in C (see ``shapes``); others are
  split into lines and read with a tight loop, and their shape is learned;
* the rarer cases (bare ``\\n`` endings, bytes that are not UTF-8, messages near a limit, the
  pre-Asterisk-14 ``Response: Follows`` body) take a slower path that handles one message at a
  time, from the message that needs it to the end of its region.

Every path reads a line the same way: the key ends at the first colon, one space after it is
dropped, and a line with no colon is kept whole as the value of the empty key.

A parser can also *defer* events (``_defer_events``, off by default; the client turns it on
for typed events): an event that would take the line-by-line path is then framed and checked
as usual (its end, the limits, bare LF endings) but handed out as a :class:`DeferredEvent`, its
text kept whole, and its fields are read only when someone asks for them. Reading them gives
exactly the message the parser would have made; a subscriber that reads an event's name and
one field never pays for the rest.
"""

from __future__ import annotations

import enum
import re
from collections import deque
from collections.abc import Callable
from typing import Any, Final, Union, cast

import attrs

from ami_client._private.errors import LimitExceeded, LocalProtocolError, RemoteProtocolError
from ami_client._private.limits import DEFAULT_LIMITS, Limits
from ami_client._private.message import Banner, Event, Message, Response, _fill, _kind_of
from ami_client._private.shapes import MAX_SHAPE_LINES, SHAPES, Shape

__all__ = [
    "ABSENT",
    "NEED_DATA",
    "Absent",
    "ConnectionClosed",
    "DeferredEvent",
    "NeedData",
    "Parser",
    "ParserState",
    "ReceivedItem",
    "is_greeting",
]


class NeedData(enum.Enum):
    """Type of the :data:`NEED_DATA` sentinel."""

    NEED_DATA = "NEED_DATA"

    def __repr__(self) -> str:
        return "NEED_DATA"


#: Returned by :meth:`Parser.next_event` when no complete item is buffered yet.
NEED_DATA: Final = NeedData.NEED_DATA


@attrs.frozen
class ConnectionClosed:
    """The peer closed the connection cleanly, between two messages."""


class ParserState(enum.Enum):
    """Where the parser is in the byte stream."""

    BANNER = "BANNER"  # waiting for the greeting line
    MESSAGES = "MESSAGES"  # reading blank-line-terminated messages
    FOLLOWS = "FOLLOWS"  # inside a pre-Asterisk-14 `Response: Follows` Command answer
    CLOSED = "CLOSED"  # the peer closed cleanly; nothing more will come
    ERROR = "ERROR"  # a RemoteProtocolError was raised; the parser is unusable


ReceivedItem = Union[Banner, Message, ConnectionClosed]  # noqa: UP007 (runtime alias on 3.10)


class Absent(enum.Enum):
    """Type of :data:`ABSENT`."""

    ABSENT = "ABSENT"


#: What :meth:`DeferredEvent.find` says of a key the event has in no casing.
ABSENT: Final = Absent.ABSENT


class DeferredEvent:
    """An event the parser has framed and checked but not yet split into fields.

    Only a parser with ``_defer_events`` set makes these, and only of an event whose first line
    is ``Event: <name>``, whose lines all end in CRLF and which breaks no limit: everything
    that could be an error was decided when it was parsed. :meth:`message` reads the fields
    (and gives the same message the parser would have made); :meth:`find` finds one field's
    value in the text without reading the others.

    Attributes:
        name: The event's name (the value of its first line).
        text: The event as received, decoded, from its first line to its terminating blank
            line included.
    """

    __slots__ = ("name", "text")

    name: str
    text: str

    def message(self) -> Event:
        """The event's fields: what the parser would have returned had it not deferred."""
        text = self.text
        shapes = SHAPES.by_head.get(text[: text.find("\r\n")])
        if shapes is not None:
            for shape in shapes:
                found = shape[0](text, 0)
                if found is not None:
                    return cast(Event, _shaped(shape, found))
        return cast(Event, _message_of_lines(text[:-4].split("\r\n"), Event))

    def find(self, key: str) -> str | Absent | None:
        """What the text alone says of field ``key``: the first value of the field whose key is
        exactly ``key`` (casing included); :data:`ABSENT` if no field has it in any casing; or
        ``None`` when only :meth:`message` can tell (another casing is there, or ``key`` is one
        this search cannot answer: empty, or holding ``:``, CR or LF)."""
        search = _FINDERS.get(key)
        if search is None:
            if key == "Event":
                return self.name
            search = _finder_for(key)
            if search is None:
                return None
        found = search(self.text)
        if found is not None:
            return found[1]
        return ABSENT if self.lacks(key) else None

    def lacks(self, key: str) -> bool:
        """True if no field has ``key`` in any casing (so :meth:`message` would not have it
        either); False when it may have it, and for a key this check cannot answer (not
        ASCII, or empty)."""
        if not isinstance(key, str) or not key or not key.isascii():
            return False
        low = key.lower()
        # The first line's key is `Event`; every other line starts after a LF. An ASCII key
        # matches a line's key, ignoring case, only if the lowered text holds it so placed.
        return low != "event" and f"\n{low}:" not in self.text.lower()

    def __repr__(self) -> str:
        return f"<DeferredEvent {self.name!r}, {len(self.text)} characters>"


# Key -> the search DeferredEvent.find uses: the first line that starts with `Key:` (a line's key
# ends at its first colon, so that line's key is exactly `Key`; CRLF only ever separates lines,
# and the first line is `Event: ...`), one optional space, and the value up to the CRLF (no
# line of a deferred event holds a bare LF).
_FINDERS: Final[dict[str, Callable[[str], re.Match[str] | None]]] = {}
_MAX_FINDERS: Final = 1024  # keys come from the application; bounded all the same


def _finder_for(key: str) -> Callable[[str], re.Match[str] | None] | None:
    if not isinstance(key, str) or not key or ":" in key or "\r" in key or "\n" in key:
        return None
    if len(_FINDERS) >= _MAX_FINDERS:
        _FINDERS.clear()
    search = _FINDERS[key] = re.compile(f"\r\n{re.escape(key)}: ?([^\n]*)\r\n").search
    return search


# Message kind by the key of its first line, as Asterisk spells it; other spellings go
# through _kind_of, which ignores case (and gives a generic Message for any other key).
_KINDS: Final[dict[str, type[Message]]] = {"Event": Event, "Response": Response}
_dict_new = dict.__new__
_dict_update = dict.update
_object_new = object.__new__
_NO_SHAPES: Final[dict[str, list[Shape]]] = {}


# The route of an event's first line while events are deferred: a shape that matches nothing
# (_parse_region tells it by identity and never tries its pattern).
_DEFER: Final[Shape] = (re.compile("(?!)").match, (), Event, False)
# First lines a parser remembers routes for. Asterisk 22 has a few hundred kinds of messages;
# a server inventing new first lines forever makes the table start again, nothing worse.
_MAX_ROUTES: Final = 4096
# A message ends at an empty line; Asterisk writes CRLF, but bare LF is tolerated.
_TERMINATOR: Final = re.compile(rb"(\n\r?\n)")
# `Response: Follows` (Asterisk 13 and older answer `Command` this way) as a message's first line.
_FOLLOWS_HEAD: Final = re.compile(rb"[ \t]*response[ \t]*:[ \t]*follows[ \t]*\r?(?:\n|$)", re.I)
_FOLLOWS_TEXT: Final = re.compile(r"[ \t]*response[ \t]*:[ \t]*follows[ \t]*$", re.I)
# Its body is raw CLI text that may hold blank lines; it ends at this marker and a blank line.
_FOLLOWS_END: Final = re.compile(rb"--END COMMAND--[ \t]*\r?\n\r?\n")
_FOLLOWS_END_LEN: Final = len(b"--END COMMAND--") + 6  # longest match but the optional blanks
# `11.0.0` for Asterisk 22; proxies and older servers use other numbers, never spaces.
_VERSION: Final = re.compile(r"[0-9][0-9A-Za-z.+_~-]*")
_BANNER_HINT: Final = "expected a greeting such as 'Asterisk Call Manager/11.0.0'"


def is_greeting(line: str) -> bool:
    """Whether ``line`` (without its line ending) reads as an AMI greeting such as
    ``Asterisk Call Manager/11.0.0``: a name without a colon, a slash, a version."""
    name, slash, version = line.rpartition("/")
    return bool(slash and name.strip() and ":" not in name and _VERSION.fullmatch(version))


class Parser:
    """Turns the bytes an AMI server sends into :class:`Banner` and :class:`Message` objects.

    Args:
        limits: Limits on what the server can make us buffer.
        expect_banner: Whether the stream starts with the greeting line (True for TCP/TLS;
            False for bodies of AMI-over-HTTP responses).
    """

    def __init__(self, *, limits: Limits = DEFAULT_LIMITS, expect_banner: bool = True) -> None:
        self.limits = limits
        self._buf = bytearray()
        self._scan = 0  # buffer offset from which no terminator has been searched yet
        self._eof = False
        self._pending: deque[ReceivedItem | DeferredEvent] = deque()
        self._error: RemoteProtocolError | None = None
        self._state = ParserState.BANNER if expect_banner else ParserState.MESSAGES
        # A region shorter than this cannot break a size or line limit: skip the checks.
        self._quick_len = min(limits.max_line_length, limits.max_message_size - 4)
        # A learned shape has at most MAX_SHAPE_LINES lines: only use shapes if that is allowed.
        self._use_shapes = limits.max_fields >= MAX_SHAPE_LINES
        # First line -> how the last message starting with it was read: by a learned shape (the
        # one that matched it, among several for `Response: Success`), or _DEFER.
        self._routes: dict[str, Shape] = {}
        self._defer = False

    @property
    def _defer_events(self) -> bool:
        """Hand out events as DeferredEvent (see the module docstring). Only for a caller that
        handles them (the client, for typed events): the public methods' types leave them out.
        """
        return self._defer

    @_defer_events.setter
    def _defer_events(self, defer: bool) -> None:
        self._defer = defer
        self._routes.clear()  # events' routes change

    # -- public API ----------------------------------------------------------------------------

    @property
    def state(self) -> ParserState:
        """The parser's state (see :class:`ParserState`)."""
        return self._state

    @property
    def buffered(self) -> int:
        """Bytes received but not yet part of a complete item."""
        return len(self._buf)

    def receive_data(self, data: bytes | bytearray | memoryview) -> None:
        """Feed bytes received from the server; ``b""`` means it closed the connection.

        Raises:
            LocalProtocolError: if called with data after ``b""`` was already fed.
        """
        if not data:
            self._eof = True
            return
        if self._eof:
            raise LocalProtocolError("receive_data() called after end of stream (b'')")
        self._buf += data

    def next_event(self) -> ReceivedItem | NeedData:
        """The next complete item: a :class:`Banner`, a :class:`Message`, :data:`NEED_DATA`,
        or :class:`ConnectionClosed` (repeated on every later call).

        Raises:
            RemoteProtocolError: the server broke the protocol or a limit (then on every call).
        """
        pending = self._pending
        if not pending:
            self._fill()
            if not pending:
                return self._nothing_pending()
        return cast(ReceivedItem, pending.popleft())  # a DeferredEvent only if _defer_events

    def next_events(self) -> list[ReceivedItem]:
        """Every complete item buffered now (maybe none), in order; cheaper than a loop.

        A :class:`ConnectionClosed` is the last item when the stream has ended. An error found
        after some items is raised on the *next* call, so the items before it are not lost.
        """
        pending = self._pending
        self._fill()
        # DeferredEvents only if _defer_events is set, by a caller that expects them.
        items = cast(list[ReceivedItem], [*pending])
        pending.clear()
        if self._eof and items and self._error is None:
            self._fill()  # with nothing pending, this notices the end of the stream
            items.extend(cast(deque[ReceivedItem], pending))
            pending.clear()
        if self._error is None and self._state is not ParserState.CLOSED:
            return items  # the common case: no end, no error (what _nothing_pending says)
        if self._error is not None and items:
            return items  # the error is raised by the next call
        # With nothing before it: the error is raised now, or the end of the stream is the last
        # item (never NEED_DATA here: the state is ERROR or CLOSED).
        items.append(cast(ConnectionClosed, self._nothing_pending()))
        return items

    # -- driving -------------------------------------------------------------------------------

    def _nothing_pending(self) -> ConnectionClosed | NeedData:
        if self._error is not None:
            self._state = ParserState.ERROR
            raise self._error
        if self._state is ParserState.CLOSED:
            return ConnectionClosed()
        return NEED_DATA

    def _fail(self, error: RemoteProtocolError) -> None:
        # Called once at most: every reader returns at once, and _fill stops, after a failure.
        self._error = error
        self._buf.clear()

    def _fill(self) -> None:
        """Parse every complete item buffered now into the pending queue."""
        if self._error is not None or self._state is ParserState.CLOSED:
            return
        while self._error is None:
            state = self._state
            if state is ParserState.MESSAGES:
                self._read_messages()
            elif state is ParserState.BANNER:
                self._read_banner()
            else:  # FOLLOWS (in CLOSED or ERROR, _fill has returned already)
                self._read_follows()
            if self._state is state:  # no transition: nothing more to do until more bytes
                break
        if not self._pending and self._error is None and self._eof:
            self._end_of_stream()

    def _end_of_stream(self) -> None:
        unparsed = len(self._buf.strip(b"\r\n"))
        if unparsed:
            where = "the greeting" if self._state is ParserState.BANNER else "a message"
            self._fail(
                RemoteProtocolError(
                    f"connection closed in the middle of {where} ({unparsed} bytes unparsed)"
                )
            )
        else:
            self._buf.clear()
            self._state = ParserState.CLOSED

    # -- the greeting --------------------------------------------------------------------------

    def _read_banner(self) -> None:
        buf = self._buf
        end = buf.find(b"\n", self._scan)
        max_line = self.limits.max_line_length
        if end < 0:
            self._scan = len(buf)
            if len(buf) - buf.endswith(b"\r") > max_line:
                self._fail(LimitExceeded("max_line_length", max_line))
            return
        line = bytes(buf[:end])
        if line.endswith(b"\r"):
            line = line[:-1]  # the CR of a CRLF ending; any other CR is part of the line
        del buf[: end + 1]
        self._scan = 0
        if len(line) > max_line:
            self._fail(LimitExceeded("max_line_length", max_line))
            return
        text = line.decode("utf-8", "replace")
        if not is_greeting(text):
            self._fail(RemoteProtocolError(f"{_BANNER_HINT}, got {line[:80]!r}"))
            return
        name, _, version = text.rpartition("/")
        self._pending.append(Banner(name=name, version=version, raw=line))
        self._state = ParserState.MESSAGES

    # -- ordinary messages ---------------------------------------------------------------------

    def _read_messages(self) -> None:
        buf = self._buf
        size = len(buf)
        if self._scan >= size:
            return  # every byte was searched already (and the size limit checked)
        low = self._scan - 2 if self._scan > 2 else 0  # a terminator may straddle old and new
        self._scan = size
        crlf = buf.rfind(b"\n\r\n", low)
        # Only a bare-LF terminator after the last CRLF one could end the region later: search
        # just the bytes after it (usually a few), not the whole read again.
        lf = buf.rfind(b"\n\n", crlf + 2 if crlf >= 0 else low)
        end = max(crlf + 3 if crlf >= 0 else 0, lf + 2 if lf >= 0 else 0)
        if end:
            if end == size:  # the whole buffer (a small read, typically): one copy
                region = bytes(buf)
                buf.clear()
            else:
                with memoryview(buf) as view:  # one copy, not two (buf[:end] copies too)
                    region = bytes(view[:end])
                del buf[:end]
            self._scan = len(buf)
            self._parse_region(region)
        if self._state is ParserState.MESSAGES and len(buf) > self.limits.max_message_size:
            # The unfinished message alone is already too big: stop buffering it now.
            self._fail(LimitExceeded("max_message_size", self.limits.max_message_size))

    def _parse_region(self, region: bytes) -> None:
        """Parse ``region``: one or more complete messages, ending with a terminator.

        Each message is read whole by a learned shape if one fits (see ``shapes``), else line
        by line here, else (bare-LF endings, a possible limit, Follows) by the slower path,
        from that message to the end of the region.
        """
        try:
            text = region.decode("utf-8")
        except UnicodeDecodeError:
            self._parse_region_slowly(region)
            return
        size = len(text)
        # The longest message (terminator excluded) that surely breaks no size or line limit.
        # Measured in characters: exact for ASCII, and a character is at most 4 bytes in UTF-8.
        if len(region) <= self._quick_len:
            quick = size
        elif size == len(region):
            quick = self._quick_len
        else:
            quick = self._quick_len // 4
        quick_end = quick + 4  # the same, terminator included
        max_fields = self.limits.max_fields
        append = self._pending.append
        find = text.find
        shapes_for = SHAPES.by_head.get if self._use_shapes else _NO_SHAPES.get
        new = _dict_new
        update = _dict_update
        defer = self._defer
        # Whether every LF of the region ends a CRLF (so no message of it has bare-LF endings):
        # one count of the region then spares a count of each deferred event. Counted at the
        # first event, so a region of responses only (a Ping flood) is not counted at all.
        crlf_only: bool | None = None
        # A message this long holds too few LFs to break max_fields (each line has one).
        few_lines = max_fields + 1
        new_deferred = _object_new
        route_of = self._routes.get
        # The shape of the message before, while it was read by one: at the second message
        # of a shape in a row, a run starts (see below).
        prev: Any = None  # (a Shape or None)
        route: Any = None  # (a Shape whenever `found` is a match)
        pos = 0
        while pos < size:
            # A message's first line says how it was read last time (its route): by a
            # learned shape, whose one C-level match reads it whole; or, for an event while
            # events are deferred, kept as text.
            head = text[pos : find("\r\n", pos)]
            route = route_of(head)
            if route is _DEFER:
                prev = None
                # Frame and check it exactly as the line-by-line path below would, keep
                # its text for later (see DeferredEvent). A check that fails: that path
                # decides.
                end = find("\r\n\r\n", pos) + 4
                if 3 < end <= pos + quick_end:
                    block = text[pos:end]
                    if crlf_only is None:
                        crlf_only = text.count("\n") == text.count("\r\n")
                    if crlf_only and end - pos <= few_lines:
                        checked = True
                    else:
                        newlines = block.count("\n")
                        checked = newlines - 2 < max_fields and newlines == block.count("\r\n")
                    if checked:
                        deferred = new_deferred(DeferredEvent)
                        deferred.name = head[7:]
                        deferred.text = block
                        append(deferred)
                        pos = end
                        continue
                found = None
            elif route is not None:
                found = route[0](text, pos)
            else:
                found = None
            if found is not None and (end := found.end()) - pos <= quick_end:
                # _shaped(route, found), inline: this is the parser's hottest line.
                message = new(route[2])
                # One group per key, by construction: no need to pay for strict=.
                if route[3]:
                    _fill(message, tuple(zip(route[1], found.groups())))  # noqa: B905
                else:
                    update(message, zip(route[1], found.groups()))  # noqa: B905
                append(message)
                pos = end
                if route is prev and not route[3]:
                    # A run: the second message of this shape in a row (a Ping flood, Newexten
                    # after Newexten). Read the next ones by it back to back, with no first
                    # line cut out and looked up (a shape's pattern holds its first line whole,
                    # so a match is the right shape), while they fit. Only from the second: in a
                    # mix of kinds the guess would mostly miss.
                    match, keys, cls = route[0], route[1], route[2]
                    while (
                        pos < size
                        and (found := match(text, pos)) is not None
                        and (end := found.end()) - pos <= quick_end
                    ):
                        message = new(cls)
                        update(message, zip(keys, found.groups()))  # noqa: B905
                        append(message)
                        pos = end
                    # The next message is not one of the run (or may break a limit): read it
                    # by its route, as any other.
                prev = route
                continue
            prev = None
            if found is None:  # (a match that may break a limit: the line-by-line path decides)
                if route is None and defer and head.startswith("Event: "):
                    self._route(head, _DEFER)
                    continue  # again, by that route
                shapes = shapes_for(head) if route is not _DEFER else None
                if shapes is not None:
                    # Several kinds share some first lines (`Response: Success`): the others.
                    end = self._read_by_other_shapes(text, pos, head, shapes, route, quick_end)
                    if end:
                        pos = end
                        continue
            # Otherwise read this one message line by line (and learn its shape).
            start = pos
            end = find("\r\n\r\n", pos)
            if end < 0:  # only the CRLF of a stray blank line can follow the last terminator
                end = size
            block = text[start:end]
            newlines = block.count("\n")
            if (
                len(block) > quick
                or newlines >= max_fields
                or (newlines and newlines != block.count("\r\n"))
            ):
                # Maybe a limit broken, or bare-LF endings (maybe ending a message inside this
                # block): the slower path, which checks limits, reads the rest.
                self._parse_region_slowly(region[self._byte_offset(text, region, start) :])
                return
            pos = end + 4
            if not block:
                continue
            if block[0] == "\r":  # a stray blank line before this message
                block = block.lstrip("\r\n")
                if not block:
                    continue
            lines = block.split("\r\n")
            head = lines[0]
            kind = _KINDS.get(head[: head.find(": ")]) or _kind_of(head.partition(":")[0])
            if kind is not Event and head != "Response: Success" and _FOLLOWS_TEXT.match(head):
                # A pre-14 Command answer: its body may hold blank lines, so what follows is
                # not messages. Re-read the rest under the Follows rules.
                self._parse_region_slowly(region[self._byte_offset(text, region, start) :])
                return
            append(_message_of_lines(lines, kind))

    def _read_by_other_shapes(
        self,
        text: str,
        pos: int,
        head: str,
        shapes: list[Shape],
        tried: Shape | None,
        quick_end: int,
    ) -> int:
        """Read the message at ``pos`` by one of ``shapes`` (those learned for its first line
        ``head``) other than ``tried`` (its route, which did not match). At most one shape can
        match a message, so the order changes nothing else. Returns where it ends, or 0: no
        shape fits, or the message may break a limit (the line-by-line path decides)."""
        for shape in shapes:
            if shape is not tried and (found := shape[0](text, pos)) is not None:
                end = found.end()
                if end - pos > quick_end:
                    return 0
                self._route(head, shape)
                self._pending.append(_shaped(shape, found))
                return end
        return 0

    def _route(self, head: str, route: Shape) -> None:
        """Read messages starting with ``head`` by ``route`` from now on (see _parse_region)."""
        routes = self._routes
        if len(routes) >= _MAX_ROUTES and head not in routes:
            routes.clear()  # first lines come from the server: bound the table
        routes[head] = route

    @staticmethod
    def _byte_offset(text: str, region: bytes, index: int) -> int:
        """The offset in ``region`` of the character at ``index`` of its decoding ``text``."""
        return index if len(text) == len(region) else len(text[:index].encode("utf-8"))

    def _parse_region_slowly(self, region: bytes) -> None:
        """One message at a time, in bytes: limits, LF endings, bad UTF-8, Follows."""
        limits = self.limits
        parts = _TERMINATOR.split(region)
        offset = 0
        for i in range(0, len(parts) - 1, 2):
            block, sep = parts[i], parts[i + 1]
            start = offset
            offset += len(block) + len(sep)
            content = block.lstrip(b"\r\n")
            if content.endswith(b"\r"):
                content = content[:-1]  # the CR of the last line's CRLF, not one of its value
            if not content:
                continue
            if _FOLLOWS_HEAD.match(content):
                # Re-read from here under the Follows rules; its body may contain blank lines.
                self._buf[0:0] = region[start:]
                self._scan = 0
                self._state = ParserState.FOLLOWS
                return
            if len(block) + len(sep) > limits.max_message_size:
                self._fail(LimitExceeded("max_message_size", limits.max_message_size))
                return
            lines = content.replace(b"\r\n", b"\n").split(b"\n")
            error = _check_lines(lines, limits)
            if error is not None:
                self._fail(error)
                return
            self._pending.append(_message_from_lines(lines))
        # parts[-1] is what followed the last terminator: empty, or stray line endings.

    # -- pre-Asterisk-14 Command output --------------------------------------------------------

    def _read_follows(self) -> None:
        buf = self._buf
        limits = self.limits
        low = self._scan - _FOLLOWS_END_LEN
        match = _FOLLOWS_END.search(buf, low if low > 0 else 0)
        if match is None:
            self._scan = len(buf)
            if len(buf) > limits.max_message_size:
                self._fail(LimitExceeded("max_message_size", limits.max_message_size))
            return
        end = match.end()
        if end > limits.max_message_size:
            self._fail(LimitExceeded("max_message_size", limits.max_message_size))
            return
        raw = bytes(buf[: match.start()]).lstrip(b"\r\n")
        del buf[:end]
        self._scan = 0
        self._state = ParserState.MESSAGES
        lines = raw.split(b"\n")
        if lines and not lines[-1]:
            lines.pop()  # the newline that ends the last output line
        error = _check_lines(lines, limits)
        if error is not None:
            self._fail(error)
            return
        # Header lines end with CRLF and hold a colon; the CLI output after them ends with LF.
        head = 0
        while head < len(lines) and lines[head].endswith(b"\r") and b":" in lines[head]:
            head += 1
        header = [line[:-1] for line in lines[:head]]
        message = _message_from_lines(header, output=lines[head:])
        self._pending.append(message)


def _shaped(shape: Shape, found: re.Match[str]) -> Message:
    """The message of a block that ``shape`` matched."""
    _, keys, kind, repeats = shape
    message = _dict_new(kind)
    if repeats:
        _fill(message, tuple(zip(keys, found.groups())))  # noqa: B905 (one group per key)
    else:
        _dict_update(message, zip(keys, found.groups()))  # noqa: B905
    return message


def _message_of_lines(lines: list[str], kind: type[Message]) -> Message:
    """The message of a block's lines (CRLF-separated, limits checked, not Follows); learns
    the block's shape."""
    values: dict[str, str] = {}
    for line in lines:
        key, sep, value = line.partition(": ")
        if not sep:
            break
        values[key] = value
    else:
        # Every line `Key: Value`, no key with a colon (a key ends at the first colon).
        if ":" not in "".join(values):
            SHAPES.learn(lines, kind)
            if len(values) == len(lines):
                message = _dict_new(kind)
                _dict_update(message, values)
                return message
    # A repeated key (Variable, Output...) or a line that is not `Key: Value`.
    return _message_from_texts(lines, None)


def _fields_from_texts(lines: list[str]) -> tuple[tuple[str, str], ...]:
    """Fields from text lines, ``Key: Value`` or not.

    ``Key:Value`` and ``Key:`` (no space) are accepted. A line with no colon at all is kept,
    whole, as the value of a field with the empty key, so nothing the server sent is lost.
    """
    fields = []
    for line in lines:
        key, sep, value = line.partition(":")
        if not sep:
            fields.append(("", line))
            continue
        if value[:1] == " ":
            value = value[1:]
        fields.append((key, value))
    return tuple(fields)


def _message_from_texts(lines: list[str], raw: tuple[tuple[bytes, bytes], ...] | None) -> Message:
    fields = _fields_from_texts(lines)
    first = fields[0][0] if fields else ""
    return _kind_of(first)._from_fields(fields, raw)


def _raw_fields(lines: list[bytes]) -> tuple[tuple[bytes, bytes], ...]:
    """:func:`_fields_from_texts` in bytes: one pair per field it makes of the same lines
    decoded (a colon is ASCII, and no undecodable byte decodes to one, so both cut a line at
    the same place)."""
    fields = []
    for line in lines:
        key, sep, value = line.partition(b":")
        if not sep:
            fields.append((b"", line))
        else:
            fields.append((key, value[1:] if value[:1] == b" " else value))
    return tuple(fields)


def _check_lines(lines: list[bytes], limits: Limits) -> RemoteProtocolError | None:
    if len(lines) > limits.max_fields:
        return LimitExceeded("max_fields", limits.max_fields)
    # Lines may still carry the CR of a CRLF ending here: measure without it (only if needed).
    if (
        lines
        and max(map(len, lines)) > limits.max_line_length
        and max(len(line.rstrip(b"\r")) for line in lines) > limits.max_line_length
    ):
        return LimitExceeded("max_line_length", limits.max_line_length)
    return None


def _message_from_lines(lines: list[bytes], output: list[bytes] | None = None) -> Message:
    """Build a message from raw lines (CR removed), keeping the raw bytes if not UTF-8."""
    try:
        texts = [line.decode("utf-8") for line in lines]
        outs = [line.decode("utf-8") for line in output or ()]
        keep_raw = None
    except UnicodeDecodeError:
        texts = [line.decode("utf-8", "replace") for line in lines]
        outs = [line.decode("utf-8", "replace") for line in output or ()]
        keep_raw = _raw_fields(lines) + tuple(
            (b"Output", out.rstrip(b"\r")) for out in output or ()
        )
    if output is None:
        return _message_from_texts(texts, keep_raw)
    # The pre-14 raw body becomes `Output` fields, the shape Asterisk 14+ sends, so callers
    # read both formats with msg.get_all("Output").
    fields = _fields_from_texts(texts) + tuple(("Output", out.rstrip("\r")) for out in outs)
    return Response._from_fields(fields, keep_raw)
