"""What a server cannot make the parser keep forever, and how its objects show themselves."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ami_client._private import parser as parser_module
from ami_client._private.parser import _MAX_FINDERS, _MAX_ROUTES, ABSENT, DeferredEvent
from ami_client._private.shapes import SHAPES
from ami_client.protocol import NEED_DATA, Event, Parser


@pytest.fixture(autouse=True)
def _cold_cache() -> Iterator[None]:
    SHAPES.clear()
    yield
    SHAPES.clear()


def test_need_data_shows_its_name() -> None:
    assert repr(NEED_DATA) == "NEED_DATA"
    assert str(NEED_DATA.value) == "NEED_DATA"


def deferred_events(data: bytes) -> tuple[Parser, list[DeferredEvent]]:
    parser = Parser(expect_banner=False)
    parser._defer_events = True
    assert parser._defer_events  # (what the client sets, read back)
    parser.receive_data(data)
    items = parser.next_events()
    assert all(isinstance(item, DeferredEvent) for item in items)
    return parser, items  # type: ignore[return-value]


def test_a_deferred_event_shows_its_name_and_size() -> None:
    wire = b"Event: Hangup\r\nChannel: PJSIP/alice-00000001\r\n\r\n"
    _, (event,) = deferred_events(wire)
    assert repr(event) == f"<DeferredEvent 'Hangup', {len(wire)} characters>"


def test_the_route_table_is_bounded_against_endless_new_first_lines() -> None:
    # A server (or a proxy) inventing a new event name for every message: each is read
    # exactly, and the table of first lines the parser remembers stays bounded.
    count = _MAX_ROUTES + 500
    wire = b"".join(b"Event: Custom%d\r\nSeq: %d\r\n\r\n" % (i, i) for i in range(count))
    parser, items = deferred_events(wire)
    assert len(items) == count
    assert len(parser._routes) <= _MAX_ROUTES
    for i in (0, _MAX_ROUTES - 1, _MAX_ROUTES, count - 1):
        assert items[i].name == f"Custom{i}"
        assert items[i].message() == Event([("Event", f"Custom{i}"), ("Seq", str(i))])
    # A first line seen before the table started again is still read right.
    parser.receive_data(b"Event: Custom0\r\nSeq: again\r\n\r\n")
    (again,) = parser.next_events()
    assert isinstance(again, DeferredEvent)
    assert again.find("Seq") == "again"


def test_the_cache_of_field_searches_is_bounded() -> None:
    # Keys come from application code (any string a subscriber asks for): the searches
    # compiled for them are kept, but never more than a bound.
    _, (event,) = deferred_events(b"Event: UserEvent\r\nK7: seven\r\nk8: eight\r\n\r\n")
    for i in range(_MAX_FINDERS + 100):
        key = f"K{i}"
        found = event.find(key)
        assert found == ("seven" if i == 7 else None if i == 8 else ABSENT), key
        assert len(parser_module._FINDERS) <= _MAX_FINDERS
    assert event.find("K7") == "seven"
    assert event.message()["k8"] == "eight"
