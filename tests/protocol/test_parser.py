"""The incremental parser: what real Asterisk sends, in any chunking."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ami_client.protocol import (
    NEED_DATA,
    Banner,
    ConnectionClosed,
    Event,
    LocalProtocolError,
    Message,
    Parser,
    ParserState,
    RemoteProtocolError,
    Response,
)

from .helpers import bytewise, feed
from .strategies import chunkings, streams

BANNER = b"Asterisk Call Manager/11.0.0\r\n"


def parse_all(data: bytes) -> list[object]:
    parser = Parser()
    parser.receive_data(data)
    parser.receive_data(b"")
    items: list[object] = []
    while not items or not isinstance(items[-1], ConnectionClosed):
        item = parser.next_event()
        assert item is not NEED_DATA
        items.append(item)
    return items


def test_banner_and_messages() -> None:
    data = BANNER + b"Response: Success\r\nActionID: a1\r\nPing: Pong\r\n\r\n"
    banner, response, closed = parse_all(data)
    assert banner == Banner(name="Asterisk Call Manager", version="11.0.0", raw=BANNER[:-2])
    assert isinstance(response, Response)
    assert response.status == "Success"
    assert response.action_id == "a1"
    assert response["ping"] == "Pong"
    assert isinstance(closed, ConnectionClosed)


def test_need_data_until_blank_line() -> None:
    parser = Parser()
    parser.receive_data(BANNER + b"Event: Newchannel\r\nChannel: Local/a-1;1\r\n")
    assert isinstance(parser.next_event(), Banner)
    assert parser.next_event() is NEED_DATA
    parser.receive_data(b"\r\n")
    event = parser.next_event()
    assert isinstance(event, Event)
    assert event.name == "Newchannel"
    assert parser.next_event() is NEED_DATA


def test_keys_case_insensitive_casing_kept_repeats_in_order() -> None:
    data = BANNER + (
        b"Event: UserEvent\r\nActionId: x\r\nVariable: A=1\r\nvariable: B=2\r\n"
        b"VARIABLE: C=3\r\nAccountCode: \r\n\r\n"
    )
    event = parse_all(data)[1]
    assert isinstance(event, Event)
    assert event.action_id == "x"
    assert event["ACTIONID"] == "x"
    assert event.get_all("variable") == ["A=1", "B=2", "C=3"]
    assert event["Variable"] == "A=1"  # the first value
    assert event["AccountCode"] == ""
    assert [k for k, _ in event.fields] == [
        "Event", "ActionId", "Variable", "variable", "VARIABLE", "AccountCode",
    ]  # fmt: skip


def test_bare_lf_and_stray_blank_lines() -> None:
    crlf = BANNER + b"Event: A\r\nX: 1\r\n\r\n\r\n\r\nEvent: B\r\nY: 2\r\n\r\n"
    lf = b"Asterisk Call Manager/11.0.0\nEvent: A\nX: 1\n\n\n\nEvent: B\nY: 2\n\n"
    mixed = BANNER + b"Event: A\nX: 1\r\n\n\r\nEvent: B\r\nY: 2\n\r\n"
    expected = [("Event", "A"), ("X", "1")], [("Event", "B"), ("Y", "2")]
    for data in (crlf, lf, mixed):
        items = parse_all(data)
        assert [m.fields for m in items[1:-1]] == [tuple(e) for e in expected]  # type: ignore[attr-defined]


def test_non_utf8_values_never_crash_and_raw_bytes_come_back() -> None:
    data = BANNER + b"Event: Newchannel\r\nCallerIDName: Jos\xe9 \xff\r\nExten: 100\r\n\r\n"
    for items in (parse_all(data), feed(bytewise(data))):
        assert len(items) == 3
    event = parse_all(data)[1]
    assert isinstance(event, Event)
    assert event["CallerIDName"] == "Jos\ufffd \ufffd"
    assert event.has_undecodable_bytes
    assert event.get_raw("calleridname") == b"Jos\xe9 \xff"
    assert event.raw_fields()[2] == (b"Exten", b"100")


def test_multibyte_character_split_across_chunks() -> None:
    data = BANNER + "Event: X\r\nName: Zoë Ñandú 日本\r\n\r\n".encode()
    whole = feed([data])
    for cut in range(len(BANNER), len(data)):
        assert feed([data[:cut], data[cut:]]) == whole
    assert whole[1][1][1] == ("Name", "Zoë Ñandú 日本")  # type: ignore[index]


def test_command_output_fields_asterisk_14_plus() -> None:
    data = BANNER + (
        b"Response: Success\r\nActionID: c\r\nMessage: Command output follows\r\n"
        b"Output: Asterisk 22.10.1 built by ...\r\nOutput: \r\nOutput: line 3\r\n\r\n"
    )
    response = parse_all(data)[1]
    assert isinstance(response, Response)
    assert response.get_all("Output") == ["Asterisk 22.10.1 built by ...", "", "line 3"]


def test_command_response_follows_pre_14() -> None:
    # Asterisk 13 and older: raw CLI text (LF endings, blank lines allowed) up to the marker.
    body = b"Channel   Location  State\n\nSIP/1-0  100@ctx:  Up\n1 active channel\n"
    data = (
        BANNER
        + b"Response: Follows\r\nPrivilege: Command\r\nActionID: cmd-1\r\n"
        + body
        + b"--END COMMAND--\r\n\r\nEvent: After\r\n\r\n"
    )
    whole = parse_all(data)
    response, after = whole[1], whole[2]
    assert isinstance(response, Response)
    assert response.status == "Follows"
    assert response.action_id == "cmd-1"
    assert response.get_all("Output") == [
        "Channel   Location  State", "", "SIP/1-0  100@ctx:  Up", "1 active channel",
    ]  # fmt: skip
    assert isinstance(after, Event)
    assert after.name == "After"
    assert feed(bytewise(data)) == feed([data])


def test_goodbye_then_close() -> None:
    items = parse_all(BANNER + b"Response: Goodbye\r\nMessage: Thanks for all the fish.\r\n\r\n")
    assert isinstance(items[1], Response)
    assert items[1].status == "Goodbye"
    assert isinstance(items[2], ConnectionClosed)


def test_closed_mid_message_is_an_error_that_names_it() -> None:
    parser = Parser()
    parser.receive_data(BANNER + b"Event: Half\r\nCh")
    parser.receive_data(b"")
    assert isinstance(parser.next_event(), Banner)
    with pytest.raises(RemoteProtocolError, match="middle of a message"):
        parser.next_event()
    assert parser.state is ParserState.ERROR
    with pytest.raises(RemoteProtocolError):
        parser.next_event()  # stays failed


def test_closed_before_banner() -> None:
    parser = Parser()
    parser.receive_data(b"")
    assert isinstance(parser.next_event(), ConnectionClosed)
    assert isinstance(parser.next_event(), ConnectionClosed)


@pytest.mark.parametrize(
    "line", [b"HTTP/1.1 200 OK", b"Response: Success", b"hello", b"/1.0", b"SSH-2.0-OpenSSH_9.2"]
)
def test_wrong_greeting_is_refused(line: bytes) -> None:
    parser = Parser()
    parser.receive_data(line + b"\r\n")
    with pytest.raises(RemoteProtocolError, match="greeting"):
        parser.next_event()


@pytest.mark.parametrize(
    "line", [b"Asterisk Call Manager/11.0.0", b"Asterisk Call Manager/2.10.4", b"AMI Proxy/1.2-rc1"]
)
def test_greetings_accepted(line: bytes) -> None:
    parser = Parser()
    parser.receive_data(line + b"\r\n")
    banner = parser.next_event()
    assert isinstance(banner, Banner)
    assert banner.raw == line
    assert f"{banner.name}/{banner.version}".encode() == line


def test_no_banner_mode_for_http_bodies() -> None:
    parser = Parser(expect_banner=False)
    parser.receive_data(b"Response: Success\r\nPing: Pong\r\n\r\n")
    item = parser.next_event()
    assert isinstance(item, Response)


def test_lines_without_colon_are_kept_not_lost() -> None:
    items = parse_all(BANNER + b"Event: Odd\r\nKey:NoSpace\r\nEmpty:\r\njust text\r\n\r\n")
    event = items[1]
    assert isinstance(event, Event)
    assert event.fields == (("Event", "Odd"), ("Key", "NoSpace"), ("Empty", ""), ("", "just text"))


def test_unknown_first_key_is_a_generic_message() -> None:
    item = parse_all(BANNER + b"Action: Ping\r\nActionID: 1\r\n\r\n")[1]
    assert type(item) is Message
    assert item["Action"] == "Ping"


def test_next_events_returns_everything_then_error_on_next_call() -> None:
    parser = Parser()
    parser.receive_data(BANNER + b"Event: A\r\n\r\nEvent: B\r\n\r\n")
    parser.receive_data(b"")
    items = parser.next_events()
    assert [type(i).__name__ for i in items] == ["Banner", "Event", "Event", "ConnectionClosed"]
    assert parser.next_events() == [ConnectionClosed()]


def test_next_events_keeps_items_before_an_error() -> None:
    parser = Parser()
    parser.receive_data(BANNER + b"Event: A\r\n\r\nEvent: B\r\nHalf")
    parser.receive_data(b"")
    assert [type(i).__name__ for i in parser.next_events()] == ["Banner", "Event"]
    with pytest.raises(RemoteProtocolError, match="middle of a message"):
        parser.next_events()


def test_data_after_eof_is_a_local_error() -> None:
    parser = Parser()
    parser.receive_data(b"")
    with pytest.raises(LocalProtocolError):
        parser.receive_data(b"x")


# -- any chunking gives the same results ---------------------------------------------------------


@given(st.data())
@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
def test_any_chunking_gives_the_same_results(data: st.DataObject) -> None:
    stream = data.draw(streams())
    chunks = data.draw(chunkings(stream))
    assert feed(chunks) == feed([stream])


@given(streams())
@settings(max_examples=100)
def test_byte_by_byte_equals_whole(stream: bytes) -> None:
    assert feed(bytewise(stream)) == feed([stream])


@given(st.lists(st.lists(st.tuples(st.sampled_from(["A", "Bb", "C-d"]), st.text(
    alphabet=st.characters(blacklist_characters="\r\n", blacklist_categories=["Cs"]),
    max_size=20)), min_size=1, max_size=6), max_size=5))  # fmt: skip
def test_fields_come_back_exactly(messages: list[list[tuple[str, str]]]) -> None:
    wire = BANNER + b"".join(
        b"Event: E\r\n" + b"".join(f"{k}: {v}\r\n".encode() for k, v in fields) + b"\r\n"
        for fields in messages
    )
    items = parse_all(wire)[1:-1]
    assert [m.fields[1:] for m in items] == [tuple(f) for f in messages]  # type: ignore[attr-defined]
    for m, fields in zip(items, messages, strict=True):
        assert isinstance(m, Event)
        for key, value in fields:
            assert m[key.lower()] == next(v for k, v in fields if k.lower() == key.lower())
            assert value in m.get_all(key.upper())


def test_follows_after_non_ascii_in_the_same_read() -> None:
    data = (
        BANNER
        + "Event: Newchannel\r\nCallerIDName: Zoë\r\n\r\n".encode()
        + b"Response: Follows\r\nActionID: 7\r\nbody\n\nmore\n--END COMMAND--\r\n\r\n"
        + b"Event: Next\r\n\r\n"
    )
    items = parse_all(data)
    assert [type(i).__name__ for i in items] == [
        "Banner", "Event", "Response", "Event", "ConnectionClosed",
    ]  # fmt: skip
    assert items[2].get_all("Output") == ["body", "", "more"]  # type: ignore[attr-defined]
    assert feed(bytewise(data)) == feed([data])


@given(
    first=st.sampled_from(
        [
            *("Event", "event", "EVENT", "Response", "response", "Respondent", "Responses"),
            *("Eventual", "Action", "Ping", ""),
        ]
    ),
    value=st.text(alphabet="abcXYZ 09:-", max_size=8),
    line_ending=st.sampled_from([b"\r\n", b"\n"]),
)
def test_kind_is_decided_by_the_whole_first_key_on_every_path(
    first: str, value: str, line_ending: bytes
) -> None:
    # The CRLF fast path and the LF slow path must agree: the kind comes from the first
    # key, compared whole and without regard to case ("Respondent" is not a Response).
    data = f"{first}: {value}".encode() + line_ending + b"Other: 1" + line_ending * 2
    parser = Parser(expect_banner=False)
    parser.receive_data(data)
    (message,) = parser.next_events()
    expected = {"event": Event, "response": Response}.get(first.lower(), Message)
    assert type(message) is expected
    assert message.fields == ((first, value), ("Other", "1"))
