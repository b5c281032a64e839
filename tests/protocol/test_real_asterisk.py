"""The sans-IO core against the real Asterisk 22, over a plain blocking socket.

No anyio, no client: this is the proof that the core alone speaks AMI as Asterisk does.
"""

from __future__ import annotations

import hashlib
import socket
import time
from collections.abc import Callable, Iterator

import pytest

from ami_client.protocol import (
    NEED_DATA,
    Action,
    ActionIdGenerator,
    Banner,
    ConnectionClosed,
    Event,
    Message,
    Parser,
    Response,
    serialize_action,
)
from tests.asterisk.server import AsteriskServer

pytestmark = pytest.mark.asterisk


class BlockingAMI:
    """The smallest possible AMI client: a socket, the parser and the serializer."""

    def __init__(self, server: AsteriskServer) -> None:
        self.sock = socket.create_connection((server.host, server.ami_port), timeout=10)
        self.parser = Parser()
        self.ids = ActionIdGenerator()
        self.events: list[Event] = []
        self.closed = False
        banner = self.next_item()
        assert isinstance(banner, Banner)
        self.banner = banner

    def next_item(self) -> object:
        while True:
            item = self.parser.next_event()
            if item is not NEED_DATA:
                if isinstance(item, ConnectionClosed):
                    self.closed = True
                return item
            self.parser.receive_data(self.sock.recv(65536))

    def send(self, action: Action) -> str:
        action_id = self.ids()
        self.sock.sendall(serialize_action(action, action_id))
        return action_id

    def wait_for(self, match: Callable[[Message], bool], timeout: float = 15) -> Message:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            item = self.next_item()
            if isinstance(item, ConnectionClosed):
                raise AssertionError("server closed the connection")
            assert isinstance(item, Message)
            if isinstance(item, Event):
                self.events.append(item)
            if match(item):
                return item
        raise AssertionError("timed out")

    def response(self, action_id: str) -> Response:
        item = self.wait_for(lambda m: isinstance(m, Response) and m.action_id == action_id)
        assert isinstance(item, Response)
        return item

    def login(self, username: str, secret: str) -> Response:
        return self.response(self.send(Action("Login", Username=username, Secret=secret)))

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def ami(asterisk: AsteriskServer) -> Iterator[BlockingAMI]:
    client = BlockingAMI(asterisk)
    try:
        yield client
    finally:
        client.close()


def test_banner_login_ping(ami: BlockingAMI, asterisk: AsteriskServer) -> None:
    assert ami.banner.name == "Asterisk Call Manager"
    assert ami.banner.version.split(".")[0] == "11"  # AMI 11.x is Asterisk 22
    login = ami.login(*asterisk.admin)
    assert login.status == "Success"
    pong = ami.response(ami.send(Action("Ping")))
    assert pong["Ping"] == "Pong"
    assert float(pong["Timestamp"]) > 0


def test_bad_secret(ami: BlockingAMI) -> None:
    response = ami.login("admin", "wrong")
    assert response.is_error
    assert response["Message"] == "Authentication failed"
    assert isinstance(ami.next_item(), ConnectionClosed)  # Asterisk hangs up on us


def test_md5_challenge_login(ami: BlockingAMI, asterisk: AsteriskServer) -> None:
    challenge = ami.response(ami.send(Action("Challenge", AuthType="MD5")))["Challenge"]
    username, secret = asterisk.admin
    key = hashlib.md5((challenge + secret).encode(), usedforsecurity=False).hexdigest()
    login = ami.response(ami.send(Action("Login", Username=username, AuthType="MD5", Key=key)))
    assert login.status == "Success"


def test_command_output_fields(ami: BlockingAMI, asterisk: AsteriskServer) -> None:
    ami.login(*asterisk.admin)
    response = ami.response(ami.send(Action("Command", Command="core show version")))
    assert response.status == "Success"
    assert response.get_all("Output")[0].startswith("Asterisk 22.")


def test_originate_local_channel_events_and_core_show_channels(
    ami: BlockingAMI, asterisk: AsteriskServer
) -> None:
    ami.login(*asterisk.admin)
    originate_id = ami.send(
        Action(
            "Originate",
            Channel="Local/wait@ami-test",
            Context="ami-test",
            Exten="wait",
            Priority=1,
            Async=True,
            Variable={"AMI_TEST_VAR": "core-test"},
        )
    )
    assert ami.response(originate_id)["Message"] == "Originate successfully queued"
    done = ami.wait_for(lambda m: isinstance(m, Event) and m.name == "OriginateResponse")
    assert done.action_id == originate_id
    assert done["Response"] == "Success"

    def ours() -> set[str]:
        return {
            e["Channel"]
            for e in ami.events
            if e.name == "Newchannel" and e["Channel"].startswith("Local/wait@ami-test-")
        }

    # Asterisk 22 publishes Newchannel and OriginateResponse on different Stasis topics: under
    # load the second half's Newchannel can come after the OriginateResponse.
    if len(ours()) < 2:
        ami.wait_for(lambda _: len(ours()) == 2)
    channels = ours()
    assert len(channels) == 2  # both halves of the Local channel
    assert {c[-2:] for c in channels} == {";1", ";2"}

    list_id = ami.send(Action("CoreShowChannels"))
    start = ami.response(list_id)
    assert start["EventList"] == "start"
    items: list[Message] = []
    complete = ami.wait_for(
        lambda m: (
            m.action_id == list_id and (items.append(m) or m.get("EventList") == "Complete")  # type: ignore[func-returns-value]
        )
    )
    listed = {m["Channel"] for m in items if isinstance(m, Event) and m.name == "CoreShowChannel"}
    assert channels <= listed
    assert int(complete["ListItems"]) == len(items) - 1

    ami.response(ami.send(Action("Hangup", Channel=sorted(channels)[0])))

    def all_hung_up(_: Message) -> bool:
        return {e["Channel"] for e in ami.events if e.name == "Hangup"} >= channels

    if not all_hung_up(goodbye := Message()):  # hanging up one half of a Local channel ends both
        ami.wait_for(all_hung_up)
    assert not goodbye


def test_logoff_goodbye_then_closed(ami: BlockingAMI, asterisk: AsteriskServer) -> None:
    ami.login(*asterisk.admin)
    goodbye = ami.response(ami.send(Action("Logoff")))
    assert goodbye.status == "Goodbye"
    while not ami.closed:
        ami.next_item()
