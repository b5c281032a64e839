"""A caller's mistakes get a clear, typed error at once, and cost the connection nothing.

Arguments are checked where they are given (``connect()``), not later where a mistake would
look like a connection failure or a bad event; misuse of a live client (a wrong action kind,
entering it twice, sending before or after its life) raises without touching the link.
"""

from __future__ import annotations

from typing import Any

import anyio
import anyio.lowlevel
import pytest

import ami_client
from ami_client import (
    Action,
    AMIConnectionError,
    ClientClosed,
    ConnectionState,
    Keepalive,
    Limits,
    LocalProtocolError,
    ReconnectPolicy,
)

from .fakeserver import SECRET, Peer, fake_server, standard

pytestmark = pytest.mark.anyio


def client(port: int, **kwargs: object) -> ami_client.AMIClient:
    options: dict[str, object] = {"username": "admin", "secret": SECRET, "keepalive": None}
    options.update(kwargs)
    return ami_client.connect("127.0.0.1", port, **options)  # type: ignore[arg-type]


# -- connect() arguments ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"auth": "sha1"}, ValueError, "auth must be 'plain' or 'md5', not 'sha1'"),
        ({"username": b"admin"}, TypeError, "username and secret must be str"),
        ({"secret": None}, TypeError, "username and secret must be str"),
        ({"reconnect": True}, TypeError, "reconnect must be a ReconnectPolicy or None"),
        ({"keepalive": "30"}, TypeError, "keepalive must be a Keepalive, seconds or None"),
        ({"keepalive": True}, TypeError, "keepalive must be a Keepalive, seconds or None"),
        ({"keepalive": 0}, ValueError, "interval must be a number > 0"),
        ({"connect_timeout": 0}, ValueError, "connect_timeout must be > 0"),
        ({"connect_timeout": "5"}, ValueError, "connect_timeout must be > 0"),
        ({"events": ["call", ""]}, TypeError, "events must be a bool, a str or event class"),
        ({"events": ["call", 7]}, TypeError, "events must be a bool, a str or event class"),
        ({"events": "call\r\nAction: Originate"}, LocalProtocolError, "Events"),
        ({"ssl": "yes"}, TypeError, "ssl must be None, True or an ssl.SSLContext, not str"),
        ({"max_list_items": 0}, ValueError, "max_list_items must be >= 1, not 0"),
        ({"max_list_items": 1.5}, TypeError, "max_list_items must be an int"),
        ({"max_list_items": True}, TypeError, "max_list_items must be an int"),
        ({"limits": {"max_line_length": 10}}, TypeError, "limits must be an ami_client.Limits"),
        ({"event_factory": "typed"}, TypeError, "event_factory must be callable or None"),
        ({"transport_factory": 42}, TypeError, "transport_factory must be callable or None"),
    ],
)
def test_bad_connect_arguments_are_refused_at_once(
    kwargs: dict[str, Any], error: type[Exception], match: str
) -> None:
    # No server and no event loop: the check happens where the argument is given.
    with pytest.raises(error, match=match.replace("(", r"\(").replace(".", r"\.")):
        client(1, **kwargs)


def test_good_arguments_in_every_accepted_spelling_are_kept() -> None:
    ami = client(
        1,
        auth="md5",
        keepalive=2,
        events=("call", "system"),
        reconnect=ReconnectPolicy(),
        max_list_items=1,
        limits=Limits(),
        event_factory=ami_client.generic_events,
    )
    assert ami.keepalive == Keepalive(interval=2.0)
    assert ami.auth == "md5"
    assert ami.max_list_items == 1
    assert ami.state is ConnectionState.CLOSED
    assert client(1, events=[])._events == "off"  # no class at all: nothing


async def test_max_list_items_of_one_bounds_a_list_on_a_live_link() -> None:
    # The smallest accepted bound works end to end (it was only checked when connecting).
    async def handler(peer: Peer) -> None:
        await peer.login()
        action = await peer.read_action()
        await peer.send(
            response_with(action, ("EventList", "start")),
            *(item(action, n) for n in range(2)),
        )
        await peer.serve_forever()

    async with fake_server(handler) as (port, _):
        with anyio.fail_after(5):
            async with client(port, max_list_items=1) as ami:
                with pytest.raises(ami_client.LimitExceeded, match="max_list_items"):
                    await ami.send(Action("CoreShowChannels"))
                assert (await ami.send(Action("Ping")))["Ping"] == "Pong"


def response_with(action: ami_client.Message, *fields: tuple[str, str]) -> ami_client.Response:
    return ami_client.Response(
        [("Response", "Success"), ("ActionID", action.action_id or ""), *fields]
    )


def item(action: ami_client.Message, n: int) -> ami_client.Event:
    return ami_client.Event(
        [("Event", "CoreShowChannel"), ("ActionID", action.action_id or ""), ("N", str(n))]
    )


# -- what send() accepts ------------------------------------------------------------------


class _Typed:
    """An object with to_action(), as the typed actions of the catalogue are."""

    def __init__(self, result: object) -> None:
        self.result = result

    def to_action(self) -> object:
        return self.result


async def test_send_refuses_what_is_not_an_action_and_the_link_stays_usable() -> None:
    async with fake_server(standard) as (port, peers):
        with anyio.fail_after(5):
            async with client(port) as ami:
                with pytest.raises(TypeError, match=r"expected an ami_client\.Action .* not dict"):
                    await ami.send({"Action": "Ping"})  # type: ignore[arg-type]
                with pytest.raises(TypeError, match=r"_Typed\.to_action\(\) returned 'Ping'"):
                    await ami.send(_Typed("Ping"))  # type: ignore[arg-type]
                with pytest.raises(TypeError, match="not an Action"):
                    ami.stream(_Typed(None))  # type: ignore[arg-type]
                # A to_action() that returns an Action is sent as that action.
                pong = await ami.send(_Typed(Action("Ping")))  # type: ignore[arg-type]
                assert pong["Ping"] == "Pong"
            # Nothing of the refused ones reached the server: Login, the Ping, Logoff.
            assert [m["Action"] for m in peers[0].received] == ["Login", "Ping", "Logoff"]


async def test_originate_refuses_an_action_that_is_not_an_originate() -> None:
    async with fake_server(standard) as (port, peers):
        with anyio.fail_after(5):
            async with client(port) as ami:
                with pytest.raises(LocalProtocolError, match="takes an Originate action, not Ping"):
                    await ami.originate(Action("Ping"))
                with pytest.raises(LocalProtocolError, match="needs Async: true"):
                    await ami.originate(Action("Originate", Channel="Local/1@x", Async="no"))
                assert ami.statistics().pending_actions == 0
            assert [m["Action"] for m in peers[0].received] == ["Login", "Logoff"]


@pytest.mark.parametrize("expression", [None, 5, b"Event: Hangup"])
async def test_add_filter_refuses_what_is_not_a_str(expression: Any) -> None:
    async with fake_server(standard) as (port, peers):
        with anyio.fail_after(5):
            async with client(port) as ami:
                with pytest.raises(TypeError, match="a filter is a str such as"):
                    await ami.add_filter(expression)
                await ami.add_filter("Event: Hangup")
            # Only the good filter was sent (and is the one a reconnect would re-apply).
            assert [(m["Action"], m.get("Filter")) for m in peers[0].received] == [
                ("Login", None),
                ("Filter", "Event: Hangup"),
                ("Logoff", None),
            ]


async def test_stream_refuses_a_buffer_that_is_not_a_positive_int() -> None:
    async with fake_server(standard) as (port, _):
        with anyio.fail_after(5):
            async with client(port) as ami:
                for bad in (0, -1, 2.5, "10"):
                    with pytest.raises(ValueError, match="buffer must be a positive int"):
                        ami.stream(Action("CoreShowChannels"), buffer=bad)  # type: ignore[arg-type]
                with pytest.raises(ValueError, match="buffer must be a positive int"):
                    ami.subscribe(buffer=0)


# -- the client's life --------------------------------------------------------------------


async def test_sending_before_entering_and_after_closing_is_client_closed() -> None:
    async with fake_server(standard) as (port, _):
        with anyio.fail_after(5):
            ami = client(port)
            with pytest.raises(ClientClosed, match="not connected yet"):
                await ami.send(Action("Ping"))
            with pytest.raises(ClientClosed, match="not connected yet"):
                await ami.originate(Action("Originate", Channel="Local/1@x"))
            async with ami:
                await ami.send(Action("Ping"))
            with pytest.raises(ClientClosed, match="the client is closed"):
                await ami.send(Action("Ping"))
            with pytest.raises(ClientClosed, match="the client is closed"):
                async with ami.stream(Action("CoreShowChannels")):
                    pytest.fail("streamed on a closed client")


async def test_a_client_can_be_entered_only_once() -> None:
    async with fake_server(standard) as (port, peers):
        with anyio.fail_after(5):
            ami = client(port)
            async with ami:
                with pytest.raises(RuntimeError, match="can be entered only once"):
                    await ami.__aenter__()
                # The live connection is untouched by the refused second entry.
                assert ami.state is ConnectionState.CONNECTED
                await ami.send(Action("Ping"))
            with pytest.raises(RuntimeError, match="can be entered only once"):
                async with ami:
                    pytest.fail("entered a closed client again")
            assert len(peers) == 1  # no second connection was opened


async def test_aclose_twice_and_before_entering_is_harmless() -> None:
    async with fake_server(standard) as (port, peers):
        with anyio.fail_after(5):
            ami = client(port)
            await ami.aclose()  # never entered: nothing to do
            assert ami.state is ConnectionState.CLOSED
            await ami.__aenter__()
            await ami.aclose()
            await ami.aclose()  # a second close neither logs off again nor raises
            assert ami.state is ConnectionState.CLOSED
            assert [m["Action"] for m in peers[0].received] == ["Login", "Logoff"]


async def test_aclose_from_another_task_leaves_the_async_with_block_alone() -> None:
    # A shutdown handler, in a task of its own, closes the client while the task that
    # entered it is still in its `async with` block. aclose() used to exit the client's task
    # group from that other task: the block was cancelled and anyio raised RuntimeError
    # (trio: a corrupted nursery stack).
    async with fake_server(standard) as (port, peers):
        with anyio.fail_after(5):
            async with client(port) as ami:
                async with anyio.create_task_group() as tg:
                    tg.start_soon(ami.aclose)
                    tg.start_soon(ami.aclose)  # a second one waits for the first
                await anyio.lowlevel.checkpoint()  # the block goes on, uncancelled
                assert ami.state is ConnectionState.CLOSED
                with pytest.raises(ClientClosed):
                    await ami.send(Action("Ping"))
            assert [m["Action"] for m in peers[0].received] == ["Login", "Logoff"]


async def test_a_failing_transport_factory_is_a_typed_connection_error() -> None:
    async def factory() -> Any:
        raise RuntimeError("no route in this custom transport")

    ami = ami_client.connect(
        username="admin", secret=SECRET, keepalive=None, transport_factory=factory
    )
    with anyio.fail_after(5), pytest.raises(AMIConnectionError, match="connection failed") as info:
        async with ami:
            pytest.fail("connected through a failing transport")
    assert isinstance(info.value.__cause__, RuntimeError)
    assert "no route in this custom transport" in str(info.value)
    assert ami.state is ConnectionState.CLOSED


async def test_a_transport_factory_that_never_returns_times_out() -> None:
    async def factory() -> Any:
        await anyio.sleep_forever()

    ami = ami_client.connect(
        username="admin",
        secret=SECRET,
        keepalive=None,
        transport_factory=factory,
        connect_timeout=0.05,
    )
    with anyio.fail_after(5), pytest.raises(ami_client.ConnectTimeout, match=r"within 0\.05 s"):
        async with ami:
            pytest.fail("connected through a transport that never opened")
    assert ami.state is ConnectionState.CLOSED


def test_generic_events_hands_back_the_event_itself() -> None:
    # A user's factory may fall back to it for the events it does not type.
    event = ami_client.Event([("Event", "Hangup"), ("Cause", "16")])
    assert ami_client.generic_events(event) is event
