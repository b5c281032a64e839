"""The ``events=`` of connect() and ``events_mask()``: a mask Asterisk would misread is refused.

Asterisk 22 answers ``Events`` (and Login's ``Events:``) with Success whatever class names it
is given, and ignores the ones it does not know: names are matched exactly, so ``User``,
`` user`` after a comma, or a typo select nothing, and a mask of only such names turns every
event off. tests/simulator/test_permissions_fidelity.py (``MASKS``) shows each case on the real
server. The client refuses those masks before anything is sent.
"""

from __future__ import annotations

from typing import Any

import anyio
import pytest

import ami_client

from .fakeserver import connect_to, fake_server, standard

pytestmark = pytest.mark.anyio

# Each: Asterisk would silently ignore a part (the real server's answer in MASKS says so).
REFUSED: list[Any] = [
    "calls",  # a typo: no such class, so no events at all
    "User",  # case-sensitive
    "call, user",  # " user" is no class: call events only
    "us,call",  # a prefix that Asterisk happens to read as user: not a class name
    "none",
    "-1",
    "",
    "call,,user",
    ["User"],
    ["call", " user"],
    ["sys"],
    ["on"],  # a whole-mask word, not a class
]
BAD_TYPES: list[Any] = [5, None, [1], [""], [None], b"call"]
# (what the caller gives, what the server gets in the Events field)
ACCEPTED: list[tuple[Any, str]] = [
    (True, "on"),
    (False, "off"),
    ("on", "on"),
    ("OFF", "OFF"),  # ast_true/ast_false words are read in any case
    ("yes", "yes"),
    ("64", "64"),  # digits: a bit mask (64 is user)
    ("call,user", "call,user"),
    (["call", "user"], "call,user"),
    (("system", "all"), "system,all"),
    ("all", "all"),
    ([], "off"),
]


@pytest.mark.parametrize("events", REFUSED, ids=repr)
def test_connect_refuses_a_mask_asterisk_would_misread(events: Any) -> None:
    with pytest.raises(ValueError, match="is not an event class: Asterisk would ignore it"):
        ami_client.connect(username="u", secret="s", events=events)


@pytest.mark.parametrize("events", BAD_TYPES, ids=repr)
def test_connect_refuses_a_mask_of_the_wrong_type(events: Any) -> None:
    with pytest.raises(TypeError, match="events must be a bool, a str or event class names"):
        ami_client.connect(username="u", secret="s", events=events)


@pytest.mark.parametrize(("events", "sent"), ACCEPTED, ids=repr)
async def test_a_good_mask_is_sent_as_given(events: Any, sent: str) -> None:
    async with fake_server(standard) as (port, peers):
        with anyio.fail_after(5):
            async with connect_to(port, events=events) as ami:
                await ami.events_mask(events)
    login, mask = peers[0].received[:2]
    assert (login["Action"], login["Events"]) == ("Login", sent)
    assert (mask["Action"], mask["EventMask"]) == ("Events", sent)


async def test_events_mask_refuses_before_sending_and_keeps_the_connection() -> None:
    async with fake_server(standard) as (port, peers):
        with anyio.fail_after(5):
            async with connect_to(port) as ami:
                with pytest.raises(ValueError, match="'Call' in the events mask"):
                    await ami.events_mask("Call")
                with pytest.raises(TypeError):
                    await ami.events_mask(5)  # type: ignore[arg-type]
                assert (await ami.send(ami_client.Action("Ping"))).status == "Success"
    assert [m["Action"] for m in peers[0].received] == ["Login", "Ping", "Logoff"]


@pytest.mark.parametrize("events", ["call\r\nAction: Originate", ["call", "user\nAction: Hangup"]])
def test_a_mask_that_would_inject_lines_is_a_local_protocol_error(events: Any) -> None:
    with pytest.raises(ami_client.LocalProtocolError, match="it would inject AMI lines"):
        ami_client.connect(username="u", secret="s", events=events)
