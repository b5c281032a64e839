"""The client against scripted loopback servers (real sockets, real bytes), on both backends."""

from __future__ import annotations

import hashlib
import logging
from typing import ClassVar

import anyio
import pytest

import ami_client
from ami_client import (
    Action,
    ActionError,
    AuthenticationError,
    ConnectionLost,
    ConnectionState,
    ConnectTimeout,
    Event,
    EventListError,
    EventListResult,
    LimitExceeded,
    LocalProtocolError,
    PermissionDenied,
    SubscriptionOverflow,
)
from ami_client.protocol import Response

from .fakeserver import SECRET, Peer, event, fake_server, response, standard

pytestmark = pytest.mark.anyio


def client(port: int, **kwargs: object) -> ami_client.AMIClient:
    options: dict[str, object] = {"username": "admin", "secret": SECRET, "keepalive": None}
    options.update(kwargs)
    return ami_client.connect("127.0.0.1", port, **options)  # type: ignore[arg-type]


async def test_plain_login_ping_and_logoff_on_close() -> None:
    async with fake_server(standard) as (port, peers):
        with anyio.fail_after(5):
            async with client(port, events=["call", "system"]) as ami:
                assert ami.state is ConnectionState.CONNECTED
                pong = await ami.send(Action("Ping"))
                assert pong["Ping"] == "Pong"
            assert ami.statistics().state is ConnectionState.CLOSED
            login, ping, logoff = peers[0].received
            assert login["Secret"] == SECRET
            assert login["Events"] == "call,system"
            assert ping.action_id == pong.action_id
            assert logoff["Action"] == "Logoff"


async def test_md5_login_sends_only_the_key() -> None:
    async with fake_server(standard) as (port, peers):
        with anyio.fail_after(5):
            async with client(port, auth="md5") as ami:
                await ami.send(Action("Ping"))
        challenge, login = peers[0].received[:2]
        assert challenge["AuthType"] == "MD5"
        assert "Secret" not in login
        want = hashlib.md5(("123456789" + SECRET).encode(), usedforsecurity=False).hexdigest()
        assert login["Key"] == want


@pytest.mark.parametrize("auth", ["plain", "md5"])
async def test_bad_secret_raises_authentication_error(auth: str) -> None:
    async with fake_server(standard) as (port, _):
        with anyio.fail_after(5), pytest.raises(AuthenticationError, match="Authentication failed"):
            async with client(port, secret="wrong", auth=auth):
                pytest.fail("connected with a wrong secret")


async def test_secret_never_logged(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="ami_client")
    async with fake_server(standard) as (port, _):
        with anyio.fail_after(5):
            async with client(port) as ami:
                await ami.send(Action("Ping"))
            with pytest.raises(AuthenticationError):
                async with client(port, secret=SECRET + "-bad"):
                    pass
    assert caplog.records, "expected DEBUG logs of the login"
    assert SECRET not in caplog.text
    assert all(SECRET not in repr(r.args) for r in caplog.records)
    assert SECRET not in repr(client(1))


async def test_answers_out_of_order_interleaved_with_events() -> None:
    async def handler(peer: Peer) -> None:
        await peer.login()
        actions = [await peer.read_action() for _ in range(3)]
        # Answer in reverse order, events in between, the middle one an EventList.
        await peer.send(
            event("Newchannel", ("Channel", "A")),
            response(actions[2], ("Ping", "Pong")),
            response(actions[1], ("EventList", "start")),
            event("Item", ("ActionID", actions[1].action_id or ""), ("N", "1")),
            event("Hangup", ("Channel", "A")),
            event("Item", ("ActionID", actions[1].action_id or ""), ("N", "2")),
            response(actions[0], ("Message", "No such thing"), status="Error"),
            event(
                "ItemsComplete",
                ("ActionID", actions[1].action_id or ""),
                ("EventList", "Complete"),
                ("ListItems", "2"),
            ),
        )
        await peer.serve_forever()

    async with fake_server(handler) as (port, _):
        results: dict[str, object] = {}
        with anyio.fail_after(5):
            async with client(port) as ami, ami.subscribe() as events:

                async def run(name: str, action: Action) -> None:
                    try:
                        results[name] = await ami.send(action)
                    except ActionError as exc:
                        results[name] = exc

                async with anyio.create_task_group() as tg:
                    tg.start_soon(run, "first", Action("Bogus"))
                    await anyio.wait_all_tasks_blocked()
                    tg.start_soon(run, "list", Action("ItemList"))
                    await anyio.wait_all_tasks_blocked()
                    tg.start_soon(run, "ping", Action("Ping"))
                seen = [events.receive_nowait() for _ in range(5)]
        first, listed, ping = results["first"], results["list"], results["ping"]
        assert isinstance(first, ActionError)
        assert not isinstance(first, PermissionDenied)
        assert first.message == "No such thing"
        assert isinstance(listed, EventListResult)
        assert [e["N"] for e in listed.items] == ["1", "2"]
        assert listed.complete["ListItems"] == "2"
        assert listed["EventList"] == "start"
        assert isinstance(ping, ami_client.Response)
        assert ping["Ping"] == "Pong"
        # Events with an ActionID (list items) reach subscribers too, in wire order.
        assert [e.name for e in seen if e is not None] == [
            "Newchannel",
            "Item",
            "Hangup",
            "Item",
            "ItemsComplete",
        ]


async def test_raise_on_error_false_returns_the_error_and_permission_denied() -> None:
    async def handler(peer: Peer) -> None:
        await peer.login()
        while True:
            action = await peer.read_action()
            await peer.reply(action, ("Message", "Permission denied"), status="Error")

    async with fake_server(handler) as (port, _):
        with anyio.fail_after(5):
            async with client(port) as ami:
                with pytest.raises(PermissionDenied):
                    await ami.send(Action("Originate", Channel="Local/x@y", Application="Wait"))
                error = await ami.send(Action("Command", Command="x"), raise_on_error=False)
                assert error.is_error
                assert error["Message"] == "Permission denied"


async def answer_the_second_action_first(peer: Peer) -> None:
    """Log in, then answer the first two actions in reverse order (the first one waits)."""
    await peer.login()
    first = await peer.read_action()
    second = await peer.read_action()
    await peer.reply(second)
    await peer.reply(first)
    await peer.serve_forever()


async def test_user_action_id_in_flight_is_refused() -> None:
    # The second action the server reads is "other": the duplicate never left.
    async with fake_server(answer_the_second_action_first) as (port, peers):
        with anyio.fail_after(5):
            async with client(port) as ami, anyio.create_task_group() as tg:
                tg.start_soon(ami.send, Action("Ping", ActionID="mine"))
                await anyio.wait_all_tasks_blocked()
                with pytest.raises(LocalProtocolError, match="already in flight"):
                    await ami.send(Action("Ping", ActionID="mine"))
                with pytest.raises(ValueError, match="already in flight"):
                    await ami.send(Action("Ping", ActionID="mine"))
                assert (await ami.send(Action("Ping", ActionID="other"))).action_id == "other"
        assert [m.action_id for m in peers[0].received[1:3]] == ["mine", "other"]


async def test_a_callers_action_id_that_looks_like_ours_is_stepped_over() -> None:
    async with fake_server(answer_the_second_action_first) as (port, peers):
        with anyio.fail_after(5):
            async with client(port) as ami, anyio.create_task_group() as tg:
                taken = f"{ami._ids.prefix}-3"  # the login took 1, so the next of ours is 2
                ami._ids.next_id()  # ... now 3: the one the caller took
                tg.start_soon(ami.send, Action("Ping", ActionID=taken))
                await anyio.wait_all_tasks_blocked()
                answer = await ami.send(Action("Ping"))
                assert answer.action_id == f"{ami._ids.prefix}-4"
        assert [m.action_id for m in peers[0].received[1:3]] == [taken, answer.action_id]


async def test_eventlist_cancelled_and_bounded() -> None:
    async def handler(peer: Peer) -> None:
        await peer.login()
        action = await peer.read_action()
        aid = ("ActionID", action.action_id or "")
        await peer.send(
            response(action, ("EventList", "start")),
            event("Item", aid),
            event("ItemsComplete", aid, ("EventList", "cancelled")),
        )
        action = await peer.read_action()
        aid = ("ActionID", action.action_id or "")
        await peer.send(response(action, ("EventList", "start")), *[event("Item", aid)] * 5)
        await peer.serve_forever()

    async with fake_server(handler) as (port, _):
        with anyio.fail_after(5):
            async with client(port, max_list_items=3) as ami:
                with pytest.raises(EventListError) as caught:
                    await ami.send(Action("Lister"))
                assert len(caught.value.items) == 1
                with pytest.raises(LimitExceeded, match="max_list_items"):
                    await ami.send(Action("Lister"))
                assert (await ami.send(Action("Ping")))["Ping"] == "Pong"


async def test_list_items_match_their_action_whatever_the_actionid_casing() -> None:
    # Keys are case-insensitive in AMI. Asterisk writes `ActionID` and `EventList`, but a
    # proxy or another server may not: the list must still be one, and its items and
    # completion must still find their action.
    async def handler(peer: Peer) -> None:
        await peer.login()
        action = await peer.read_action()
        aid = action.action_id or ""
        await peer.send(
            Response([("Response", "Success"), ("actionid", aid), ("Eventlist", "start")]),
            event("Item", ("ActionId", aid), ("N", "1")),
            event("Item", ("ACTIONID", aid), ("N", "2")),
            event("ItemsComplete", ("Actionid", aid), ("eventlist", "Complete")),
        )
        await peer.serve_forever()

    async with fake_server(handler) as (port, _):
        with anyio.fail_after(5):
            async with client(port) as ami:
                result = await ami.send(Action("Lister"))
                assert isinstance(result, ami_client.EventListResult)
                assert [item["N"] for item in result.items] == ["1", "2"]
                assert result.complete is not None


async def test_stream_yields_items_as_they_arrive() -> None:
    async def handler(peer: Peer) -> None:
        await peer.login()
        action = await peer.read_action()
        aid = ("ActionID", action.action_id or "")
        await peer.send(response(action, ("EventList", "start")))
        for n in range(3):
            await peer.send(event("Item", aid, ("N", str(n))))
            await peer.read_action()  # the consumer's Ping after each item: proves streaming
        await peer.send(event("ItemsComplete", aid, ("EventList", "Complete"), ("ListItems", "3")))
        await peer.serve_forever()

    async with fake_server(handler) as (port, _):
        with anyio.fail_after(5):
            async with client(port) as ami:
                seen = []
                async with ami.stream(Action("Lister")) as items:
                    assert items.response is not None
                    assert items.response["EventList"] == "start"
                    async for item in items:
                        seen.append(item["N"])
                        await send_nowait_ping(ami)
                assert seen == ["0", "1", "2"]
                assert items.complete["ListItems"] == "3"


async def test_stream_of_a_list_that_arrived_whole_yields_every_item() -> None:
    # A short list (CoreShowChannels with a few calls) often arrives in one read, before the
    # stream's task resumes: its items must wait in the buffer, not be dropped.
    async def handler(peer: Peer) -> None:
        await peer.login()
        action = await peer.read_action()
        aid = ("ActionID", action.action_id or "")
        await peer.send(
            response(action, ("EventList", "start")),
            *(event("Item", aid, ("N", str(n))) for n in range(3)),
            event("ItemsComplete", aid, ("EventList", "Complete"), ("ListItems", "3")),
        )
        await peer.serve_forever()

    async with fake_server(handler) as (port, _):
        with anyio.fail_after(5):
            async with client(port) as ami, ami.stream(Action("Lister")) as items:
                assert items.response is not None
                assert items.response["EventList"] == "start"
                seen = [item["N"] async for item in items]
    assert seen == ["0", "1", "2"]
    assert items.complete["ListItems"] == "3"


async def send_nowait_ping(ami: ami_client.AMIClient) -> None:
    # Fire a Ping without waiting for its answer: the server reads it as "next item, please".
    link = ami._usable_link()
    link.wbuf += b"Action: Ping\r\nActionID: nudge\r\n\r\n"
    if link.writer_wake is not None:
        link.writer_wake.set()
        link.writer_wake = None


async def test_originate_waits_for_originate_response_either_order() -> None:
    async def handler(peer: Peer) -> None:
        await peer.login()
        for early in (False, True):
            action = await peer.read_action()
            assert action["Async"] == "true"
            done = event(
                "OriginateResponse",
                ("ActionID", action.action_id or ""),
                ("Response", "Failure" if early else "Success"),
                ("Channel", "Local/x@y-0001;1"),
                ("Reason", "5" if early else "4"),
            )
            ack = response(action, ("Message", "Originate successfully queued"))
            await peer.send(*((done, ack) if early else (ack, event("Newchannel"), done)))
        await peer.serve_forever()

    async with fake_server(handler) as (port, _):
        with anyio.fail_after(5):
            async with client(port) as ami, ami.subscribe("OriginateResponse") as events:
                ok = await ami.originate(
                    Action("Originate", Channel="Local/x@y", Application="Wait")
                )
                assert ok.success
                assert ok.reason == 4
                assert ok.channel == "Local/x@y-0001;1"
                busy = await ami.originate(
                    Action("Originate", Channel="Local/x@y", Application="Wait", Async=True)
                )
                assert not busy.success
                assert busy.reason == 5
                # The OriginateResponse events reached the subscriber as well.
                assert events.statistics().buffered == 2
                with pytest.raises(LocalProtocolError):
                    await ami.originate(Action("Originate", Channel="x", Async=False))


class Newchannel(Event):
    EVENT_NAME: ClassVar[str] = "Newchannel"


async def test_subscription_filters_by_name_class_generic_and_predicate() -> None:
    names = ["Newchannel", "Hangup", "VarSet", "newchannel", "DialBegin"]

    async def handler(peer: Peer) -> None:
        await peer.login()
        action = await peer.read_action()
        await peer.send(*(event(n, ("Channel", f"c{i}")) for i, n in enumerate(names)))
        await peer.reply(action)
        await peer.serve_forever()

    async with fake_server(handler) as (port, _):
        with anyio.fail_after(5):
            async with (
                client(port) as ami,
                ami.subscribe("HANGUP") as by_name,
                ami.subscribe(Newchannel) as by_class,
                ami.subscribe(Event) as everything,
                ami.subscribe(lambda e: e["Channel"] == "c4", "VarSet") as mixed,
            ):
                await ami.send(Action("Ping"))

                def drain(sub: ami_client.Subscription[Event]) -> list[str]:
                    out = []
                    while (e := sub.receive_nowait()) is not None:
                        out.append(e.name)
                    return out

                assert drain(by_name) == ["Hangup"]
                assert drain(by_class) == ["Newchannel", "newchannel"]
                assert drain(everything) == names
                assert drain(mixed) == ["VarSet", "DialBegin"]
            with pytest.raises(TypeError, match="EVENT_NAME"):
                ami.subscribe(int)


async def test_event_factory_seam() -> None:
    class Typed:
        def __init__(self, event: Event) -> None:
            self.event = event
            self.name = event.name

    async def handler(peer: Peer) -> None:
        await peer.login()
        action = await peer.read_action()
        await peer.send(event("Newchannel"))
        await peer.reply(action)
        await peer.serve_forever()

    async with fake_server(handler) as (port, _):
        with anyio.fail_after(5):
            async with client(port, event_factory=Typed) as ami, ami.subscribe() as events:
                await ami.send(Action("Ping"))
                got = await events.receive()
                assert isinstance(got, Typed)
                assert got.name == "Newchannel"


async def test_overflow_policies() -> None:
    async def handler(peer: Peer) -> None:
        await peer.login()
        action = await peer.read_action()
        await peer.send(*(event("Tick", ("N", str(i))) for i in range(10)))
        await peer.reply(action)
        await peer.serve_forever()

    async with fake_server(handler) as (port, _):
        with anyio.fail_after(5):
            async with (
                client(port) as ami,
                ami.subscribe(buffer=4) as oldest,
                ami.subscribe(buffer=4, overflow="drop_newest") as newest,
                ami.subscribe(buffer=4, overflow="fail") as failing,
            ):
                await ami.send(Action("Ping"))
                assert [e["N"] for e in [oldest.receive_nowait() for _ in range(4)] if e] == [
                    "6",
                    "7",
                    "8",
                    "9",
                ]
                assert oldest.statistics().dropped == 6
                assert [e["N"] for e in [newest.receive_nowait() for _ in range(4)] if e] == [
                    "0",
                    "1",
                    "2",
                    "3",
                ]
                assert newest.statistics().dropped == 6
                with pytest.raises(SubscriptionOverflow):
                    async for _ in failing:
                        pass
                assert failing.statistics().failed
                stats = ami.statistics()
                assert [s.dropped for s in stats.subscriptions][:2] == [6, 6]
                assert stats.pending_actions == 0


async def test_connect_timeout_when_server_never_answers() -> None:
    async def silent(peer: Peer) -> None:
        await anyio.sleep_forever()

    async def banner_only(peer: Peer) -> None:
        await peer.stream.send(b"Asterisk Call Manager/11.0.0\r\n")
        await anyio.sleep_forever()

    for handler in (silent, banner_only):
        async with fake_server(handler) as (port, _):
            with anyio.fail_after(5), pytest.raises(ConnectTimeout) as caught:
                async with client(port, connect_timeout=0.3):
                    pass
            assert isinstance(caught.value, TimeoutError)


async def test_keepalive_detects_a_server_that_stops_answering() -> None:
    async def handler(peer: Peer) -> None:
        await peer.login()
        await peer.read_action()  # the user's action: never answered
        while True:
            await peer.read_action()  # keepalive Pings: never answered either

    async with fake_server(handler) as (port, _):
        with anyio.fail_after(5):
            async with client(
                port, keepalive=ami_client.Keepalive(interval=0.1, timeout=0.2)
            ) as ami:
                with pytest.raises(ami_client.KeepaliveTimeout):
                    await ami.send(Action("Ping"))
                assert ami.state is ConnectionState.CLOSED
                # The failure surfaces as one library exception on the next call, too.
                with pytest.raises(ami_client.KeepaliveTimeout):
                    await ami.send(Action("Ping"))


async def test_server_closing_fails_pending_and_next_call_without_exception_group() -> None:
    async def handler(peer: Peer) -> None:
        await peer.login()
        await peer.read_action()
        await peer.stream.aclose()

    async with fake_server(handler) as (port, _):
        with anyio.fail_after(5):
            async with client(port) as ami, ami.subscribe() as events:
                with pytest.raises(ConnectionLost):
                    await ami.send(Action("Ping"))
                with pytest.raises(ConnectionLost):
                    await ami.send(Action("Ping"))
                with pytest.raises(ConnectionLost):
                    await events.receive()


async def test_garbage_from_server_is_one_library_exception() -> None:
    async def handler(peer: Peer) -> None:
        await peer.login()
        await peer.read_action()
        await peer.stream.send(b"X" * 200_000)  # one endless line
        await anyio.sleep_forever()

    async with fake_server(handler) as (port, _):
        with anyio.fail_after(5):
            async with client(port, limits=ami_client.Limits(max_message_size=10_000)) as ami:
                with pytest.raises(ConnectionLost) as caught:
                    await ami.send(Action("Ping"))
                assert isinstance(caught.value.__cause__, LimitExceeded)


async def test_watch_state_sees_the_lifecycle() -> None:
    async with fake_server(standard) as (port, _):
        with anyio.fail_after(5):
            ami = client(port)
            changes = ami.watch_state()
            async with changes:
                async with ami:
                    pass
                states = [s async for s in changes]
        assert states == [
            ConnectionState.CONNECTING,
            ConnectionState.CONNECTED,
            ConnectionState.CLOSING,
            ConnectionState.CLOSED,
        ]


async def test_watch_state_after_close_ends_at_once() -> None:
    # A watcher that comes after the end must not wait for changes that will never come.
    async with fake_server(standard) as (port, _):
        with anyio.fail_after(5):
            async with client(port) as ami:
                pass
            async with ami.watch_state() as changes:
                assert [s async for s in changes] == []


# Digits are a bit mask, as Asterisk 22 reads them (test_permissions_fidelity.MASKS): 1 is
# system only, 64 user only, 2 call.
@pytest.mark.parametrize("mask", [False, "system,agent", "off", "1", "64"])
async def test_originate_refused_when_the_events_mask_hides_its_response(
    mask: bool | str,
) -> None:
    # The OriginateResponse is a `call` event: with such a mask the wait would never end.
    async with (
        fake_server(standard) as (port, peers),
        ami_client.connect(
            "127.0.0.1", port, username="admin", secret=SECRET, events=mask, keepalive=None
        ) as ami,
    ):
        # (fail_after: were the mask misread, the wait for the OriginateResponse would never end)
        with anyio.fail_after(5), pytest.raises(LocalProtocolError, match="excludes call events"):
            await ami.originate(Action("Originate", Channel="Local/1@x", Application="Wait"))
        assert not [a for a in peers[0].received if a["Action"] == "Originate"]  # nothing sent


@pytest.mark.parametrize("mask", [["call", "system"], "2", "3", "on", "system,all"])
async def test_originate_allowed_again_after_the_mask_lets_calls_through(
    mask: str | list[str],
) -> None:
    async def handler(peer: Peer) -> None:
        await peer.login()
        while True:
            action = await peer.read_action()
            if action["Action"] == "Originate":
                await peer.reply(action, ("Message", "Originate successfully queued"))
                await peer.send(event("OriginateResponse", ("ActionID", action.action_id or ""),
                                      ("Response", "Success"), ("Reason", "4")))  # fmt: skip
            else:
                await peer.reply(action)

    async with (
        fake_server(handler) as (port, _),
        ami_client.connect(
            "127.0.0.1", port, username="admin", secret=SECRET, events=False, keepalive=None
        ) as ami,
    ):
        with pytest.raises(LocalProtocolError):
            await ami.originate(Action("Originate", Channel="Local/1@x", Application="Wait"))
        await ami.events_mask(mask)
        with anyio.fail_after(5):
            result = await ami.originate(
                Action("Originate", Channel="Local/1@x", Application="Wait")
            )
        assert result.success
