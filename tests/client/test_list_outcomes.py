"""Every way an EventList or an async Originate can end, through collect(), stream() and
originate(): the result or the typed error, the items that came before it, and a connection
that stays usable afterwards."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import anyio
import pytest

import ami_client
from ami_client import (
    Action,
    ActionError,
    ConnectionLost,
    Event,
    EventListError,
    EventListResult,
    LocalProtocolError,
    Message,
    OriginateResult,
    PermissionDenied,
    Response,
    SubscriptionOverflow,
)

from .fakeserver import SECRET, Peer, event, fake_server, response

pytestmark = pytest.mark.anyio

Script = Callable[[Peer, Message], Awaitable[None]]


def scripted(**scripts: Script) -> Callable[[Peer], Awaitable[None]]:
    """A server that answers each action named in ``scripts`` by its script, Logoff with
    Goodbye, and anything else with a plain success."""

    async def handler(peer: Peer) -> None:
        await peer.login()
        while True:
            action = await peer.read_action()
            name = action["Action"]
            if name in scripts:
                await scripts[name](peer, action)
            elif name == "Logoff":
                await peer.reply(action, status="Goodbye")
                return
            else:
                await peer.reply(action, ("Ping", "Pong"))

    return handler


def aid(action: Message) -> tuple[str, str]:
    return ("ActionID", action.action_id or "")


def items(action: Message, count: int) -> list[Event]:
    return [event("Item", aid(action), ("N", str(n))) for n in range(count)]


async def start_then_cancel(peer: Peer, action: Message) -> None:
    await peer.send(
        response(action, ("EventList", "start")),
        *items(action, 2),
        event("ItemsComplete", aid(action), ("EventList", "cancelled"), ("Reason", "gone")),
    )


async def refuse(peer: Peer, action: Message) -> None:
    await peer.reply(action, ("Message", "Permission denied"), status="Error")


async def plain(peer: Peer, action: Message) -> None:
    await peer.reply(action, ("Message", "Nothing to list"))


async def cancelled_at_once(peer: Peer, action: Message) -> None:
    await peer.send(response(action, ("EventList", "cancelled"), ("Message", "busy")))


def client(port: int, **kwargs: object) -> ami_client.AMIClient:
    options: dict[str, object] = {"username": "admin", "secret": SECRET, "keepalive": None}
    options.update(kwargs)
    return ami_client.connect("127.0.0.1", port, **options)  # type: ignore[arg-type]


# -- collect() ------------------------------------------------------------------------------


async def test_collect_of_an_action_that_is_not_a_list_is_a_local_protocol_error() -> None:
    async with fake_server(scripted(Plain=plain)) as (port, _):
        with anyio.fail_after(5):
            async with client(port) as ami:
                with pytest.raises(LocalProtocolError, match="Plain did not answer with an Event"):
                    await ami.collect(Action("Plain"))
                assert ami.statistics().pending_actions == 0
                assert (await ami.send(Action("Ping")))["Ping"] == "Pong"


async def test_collect_without_raising_hands_back_the_error_as_an_empty_result() -> None:
    async with fake_server(scripted(Lister=refuse)) as (port, _):
        with anyio.fail_after(5):
            async with client(port) as ami:
                with pytest.raises(PermissionDenied):
                    await ami.collect(Action("Lister"))
                result = await ami.collect(Action("Lister"), raise_on_error=False)
                assert result.is_error
                assert result.status == "Error"
                assert result["Message"] == "Permission denied"
                assert result.items == ()
                assert result.complete is None
                assert not result.cancelled  # refused, not a list given up


async def test_a_cancelled_list_without_raising_keeps_its_items_and_the_cancel_event() -> None:
    async with fake_server(scripted(Lister=start_then_cancel)) as (port, _):
        with anyio.fail_after(5):
            async with client(port, event_factory=ami_client.generic_events) as ami:
                with pytest.raises(EventListError) as caught:
                    await ami.collect(Action("Lister"))
                assert [i["N"] for i in caught.value.items] == ["0", "1"]
                result = await ami.collect(Action("Lister"), raise_on_error=False)
                assert not result.is_error  # the response started the list fine
                assert [i["N"] for i in result.items] == ["0", "1"]
                # The generic factory: the very Event messages, not typed ones.
                assert all(type(i) is Event for i in result.items)
                assert result.complete["EventList"] == "cancelled"
                assert result.complete["Reason"] == "gone"
                assert result.cancelled


async def test_a_list_cancelled_in_its_response_has_no_completion_event() -> None:
    async with fake_server(scripted(Lister=cancelled_at_once)) as (port, _):
        with anyio.fail_after(5):
            async with client(port) as ami:
                with pytest.raises(EventListError, match="busy"):
                    await ami.send(Action("Lister"))
                result = await ami.collect(Action("Lister"), raise_on_error=False)
                assert result["EventList"] == "cancelled"
                assert (result.items, result.complete) == ((), None)
                assert result.cancelled


async def test_an_event_list_result_reads_like_its_response() -> None:
    async def lister(peer: Peer, action: Message) -> None:
        await peer.send(
            response(
                action, ("EventList", "start"), ("Message", "follows"), ("X", "1"), ("X", "2")
            ),
            *items(action, 1),
            event("ItemsComplete", aid(action), ("EventList", "Complete"), ("ListItems", "1")),
        )

    async with fake_server(scripted(Lister=lister)) as (port, _):
        with anyio.fail_after(5):
            async with client(port) as ami:
                result = await ami.collect(Action("Lister", ActionID="list-1"))
                assert isinstance(result, EventListResult)
                assert "message" in result  # case-insensitive, as the response
                assert "Nope" not in result
                assert result.get("message") == "follows"
                assert result.get("Nope") is None
                assert result.get("Nope", "default") == "default"
                assert result.get_all("X") == ["1", "2"]
                assert result.fields == result.response.fields
                assert result.fields[0] == ("Response", "Success")
                assert (result.status, result.is_error) == ("Success", False)
                assert result.action_id == "list-1"
                assert not result.cancelled  # complete
                assert repr(result).count("<1 events>") == 1


# -- stream() -------------------------------------------------------------------------------


async def consume(
    stream: ami_client.ListStream, seen: list[str] | None = None, *, enter: bool = False
) -> None:
    """Iterate ``stream`` (entering it first if ``enter``), noting each item's N in ``seen``."""
    if enter:
        async with stream:
            await consume(stream, seen)
        return
    async for item in stream:
        if seen is None:
            pytest.fail(f"an item of a list that overflowed: {item!r}")
        seen.append(item["N"])


async def test_a_stream_consumer_that_falls_behind_fails_and_the_link_stays_usable() -> None:
    async def lister(peer: Peer, action: Message) -> None:
        # Ten items in one write, more than the consumer's buffer of 2.
        await peer.send(
            response(action, ("EventList", "start")),
            *items(action, 10),
            event("ItemsComplete", aid(action), ("EventList", "Complete"), ("ListItems", "10")),
        )

    async with fake_server(scripted(Lister=lister)) as (port, _):
        with anyio.fail_after(5):
            async with client(port) as ami, ami.subscribe("Item") as subscribed:
                async with ami.stream(Action("Lister"), buffer=2) as stream:
                    await ami.send(Action("Ping"))  # the whole list is in by now
                    with pytest.raises(SubscriptionOverflow, match="fell 2 items behind"):
                        await consume(stream)
                    with pytest.raises(SubscriptionOverflow):  # and it stays failed
                        await stream.__anext__()
                # The list is forgotten, nothing waits; subscribers got every item anyway.
                assert ami.statistics().pending_actions == 0
                assert [(await subscribed.receive())["N"] for _ in range(10)] == [
                    str(n) for n in range(10)
                ]
                assert (await ami.send(Action("Ping")))["Ping"] == "Pong"


async def test_a_stream_whose_link_dies_mid_list_yields_the_items_then_connection_lost() -> None:
    async def lister(peer: Peer, action: Message) -> None:
        await peer.send(response(action, ("EventList", "start")), *items(action, 2))
        await peer.stream.aclose()

    async with fake_server(scripted(Lister=lister)) as (port, _):
        with anyio.fail_after(5):
            async with client(port) as ami:
                stream = ami.stream(Action("Lister"))
                seen: list[str] = []
                with pytest.raises(ConnectionLost):
                    await consume(stream, seen, enter=True)
                assert seen == ["0", "1"]
                assert stream.complete is None


async def test_a_stream_cancelled_mid_list_yields_the_items_then_event_list_error() -> None:
    async with fake_server(scripted(Lister=start_then_cancel)) as (port, _):
        with anyio.fail_after(5):
            async with client(port) as ami:
                seen: list[str] = []
                async with ami.stream(Action("Lister")) as stream:
                    with pytest.raises(EventListError) as caught:
                        await consume(stream, seen)
                assert seen == ["0", "1"]
                assert caught.value.response["EventList"] == "start"
                assert (await ami.send(Action("Ping")))["Ping"] == "Pong"


async def test_a_stream_of_an_action_answered_plainly_yields_nothing() -> None:
    async with fake_server(scripted(Plain=plain)) as (port, _):
        with anyio.fail_after(5):
            async with client(port) as ami:
                async with ami.stream(Action("Plain")) as stream:
                    assert stream.response is not None
                    assert stream.response["Message"] == "Nothing to list"
                    assert [item async for item in stream] == []
                assert stream.complete is None
                assert ami.statistics().pending_actions == 0


@pytest.mark.parametrize(
    ("script", "error", "match"),
    [(refuse, PermissionDenied, "Permission denied"), (cancelled_at_once, EventListError, "busy")],
)
async def test_a_stream_refused_at_once_raises_on_entering(
    script: Script, error: type[Exception], match: str
) -> None:
    async with fake_server(scripted(Lister=script)) as (port, _):
        with anyio.fail_after(5):
            async with client(port) as ami:
                with pytest.raises(error, match=match):
                    async with ami.stream(Action("Lister")):
                        pytest.fail("entered a refused stream")
                assert ami.statistics().pending_actions == 0
                assert (await ami.send(Action("Ping")))["Ping"] == "Pong"


async def test_a_stream_with_an_action_id_in_flight_is_refused_and_the_other_answered() -> None:
    release = anyio.Event()

    async def slow(peer: Peer, action: Message) -> None:
        await release.wait()
        await peer.reply(action, ("Done", "yes"))

    async with fake_server(scripted(Slow=slow)) as (port, peers):
        with anyio.fail_after(5):
            async with client(port) as ami, anyio.create_task_group() as tg:
                answers: list[Response] = []

                async def first() -> None:
                    answers.append(await ami.send(Action("Slow", ActionID="dup")))  # type: ignore[arg-type]

                tg.start_soon(first)
                while ami.statistics().pending_actions == 0:  # noqa: ASYNC110
                    await anyio.sleep(0.005)
                with pytest.raises(LocalProtocolError, match="'dup' is already in flight"):
                    async with ami.stream(Action("Lister", ActionID="dup")):
                        pytest.fail("streamed under an ActionID in flight")
                release.set()
            assert answers[0]["Done"] == "yes"
        assert "Lister" not in [m["Action"] for m in peers[0].received]


async def test_a_stream_whose_link_dies_before_the_answer_raises_on_entering() -> None:
    async def drop(peer: Peer, action: Message) -> None:
        await peer.stream.aclose()

    async with fake_server(scripted(Lister=drop)) as (port, _):
        with anyio.fail_after(5):
            async with client(port) as ami:
                with pytest.raises(ConnectionLost):
                    async with ami.stream(Action("Lister")):
                        pytest.fail("entered a stream on a dead link")


# -- originate() ----------------------------------------------------------------------------


ORIGINATE = Action("Originate", Channel="Local/100@ami-test", Application="Wait", Data="1")


async def test_an_originate_refused_at_once_raises_or_is_a_result_without_a_call() -> None:
    async with fake_server(scripted(Originate=refuse)) as (port, peers):
        with anyio.fail_after(5):
            async with client(port) as ami:
                with pytest.raises(PermissionDenied):
                    await ami.originate(ORIGINATE)
                result = await ami.originate(ORIGINATE, raise_on_error=False)
                assert isinstance(result, OriginateResult)
                assert result.response.is_error
                assert result.response["Message"] == "Permission denied"
                # No call was attempted: no OriginateResponse, and the result says so plainly.
                assert result.event is None
                assert result.success is False
                assert result.reason is None
                assert result.channel is None
                assert ami.statistics().pending_actions == 0
        sent = [m for m in peers[0].received if m["Action"] == "Originate"]
        assert [m["Async"] for m in sent] == ["true", "true"]


async def test_an_originate_error_other_than_permission_is_an_action_error() -> None:
    async def no_channel(peer: Peer, action: Message) -> None:
        await peer.reply(action, ("Message", "Channel not specified"), status="Error")

    async with fake_server(scripted(Originate=no_channel)) as (port, _):
        with anyio.fail_after(5):
            async with client(port) as ami:
                with pytest.raises(ActionError, match="Channel not specified") as caught:
                    await ami.originate(ORIGINATE)
                assert not isinstance(caught.value, PermissionDenied)


async def test_an_originate_response_with_an_odd_reason_has_no_reason() -> None:
    async def odd(peer: Peer, action: Message) -> None:
        await peer.reply(action, ("Message", "Originate successfully queued"))
        await peer.send(
            event("OriginateResponse", aid(action), ("Response", "Failure"), ("Reason", "n/a"))
        )

    async with fake_server(scripted(Originate=odd)) as (port, _):
        with anyio.fail_after(5):
            async with client(port, event_factory=ami_client.generic_events) as ami:
                result = await ami.originate(ORIGINATE)
                assert type(result.event) is Event
                assert result.success is False
                assert result.reason is None  # not a number: None, not a ValueError
                assert result.channel is None
