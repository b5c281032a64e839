"""The simulator's dialplan: extension patterns as Asterisk 22 matches them, priorities,
contexts, and ``${VAR:offset:length}`` substitution."""

from __future__ import annotations

import anyio
import pytest

from ami_client._private.simulator.dialplan import substitute
from ami_client.testing import Dialplan, Simulator
from tests.simulator.driver import Driver


@pytest.mark.parametrize(
    ("pattern", "matching", "not_matching"),
    [
        ("_X", ["0", "9"], ["", "a", "10"]),
        ("_Z", ["1", "9"], ["0"]),
        ("_N", ["2", "9"], ["0", "1"]),
        ("_nxz", ["201"], ["101", "200"]),  # lower case works too
        ("_1.", ["12", "1abc"], ["1"]),  # '.': one or more
        ("_1!", ["1", "12"], ["2"]),  # '!': zero or more
        ("_[1-3a]X", ["15", "a0"], ["45", "b0", "[0"]),
        ("_[3-1]", [], ["1", "2", "3"]),  # a reversed range holds nothing
        ("_[]", [], ["1", ""]),
        ("_555-12XX", ["5551234", "555-1234"], ["55512345"]),  # '-' is eye candy
        ("_a b", ["ab"], ["a b", "Ab"]),  # so is a space; letters are exact
        ("_+1.", ["+12"], ["12"]),  # other characters are literal
    ],
)
def test_patterns(pattern: str, matching: list[str], not_matching: list[str]) -> None:
    plan = Dialplan()
    plan.add("c", pattern, [("NoOp", "")])
    for exten in matching:
        assert plan.exists("c", exten), exten
    for exten in not_matching:
        assert not plan.exists("c", exten), exten


def test_unclosed_set_is_refused() -> None:
    with pytest.raises(ValueError, match=r"'_1\[23': '\[' without '\]'"):
        Dialplan().add("c", "_1[23", ["NoOp()"])


def test_exact_before_patterns_in_order() -> None:
    plan = Dialplan()
    plan.add("c", "_X.", ["Wait(1)"])
    plan.add("c", "_1.", ["Wait(2)"])
    plan.add("c", "100", [("Answer", ""), "Dial(Local/x@c,5)", "Hangup"])
    assert plan.lookup("c", "100") == [("Answer", ""), ("Dial", "Local/x@c,5"), ("Hangup", "")]
    assert plan.lookup("c", "101") == [("Wait", "1")]  # the first pattern that matches
    assert plan.lookup("other", "100") is None
    assert not plan.exists("c", "100", priority=4)
    assert plan.has_context("c")
    assert not plan.has_context("other")
    assert plan.extensions("c") == ["100"]  # exact extensions only
    assert plan.extensions("other") == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("${V}", "abcdef"),
        ("${V:2}", "cdef"),
        ("${V:-2}", "ef"),
        ("${V:1:3}", "bcd"),
        ("${V:1:-2}", "bcd"),
        ("${V:-3:2}", "de"),
        ("x${V:0:1}y${W}z", "xayz"),  # unknown variables are empty
    ],
)
def test_substitute(text: str, expected: str) -> None:
    assert substitute(text, lambda name: {"V": "abcdef"}.get(name, "")) == expected


@pytest.mark.anyio
async def test_pattern_extension_runs_with_exten() -> None:
    plan = Dialplan()
    plan.add("in", "_5XX", ["Answer()", "Set(PICKED=${EXTEN:1})", "Hangup()"])
    async with Simulator(dialplan=plan, time_scale=0.01) as sim:
        d = Driver(sim.connect_memory())
        await d.read_banner()
        await d.login()
        await d.call("Originate", Channel="Local/523@in", Application="Wait", Data="1",
                     Async="true")  # fmt: skip
        with anyio.fail_after(5):
            while len(d.events("Hangup")) < 2:
                await d.next()
        sets = [(e["Variable"], e["Value"]) for e in d.events("VarSet")]
        assert ("PICKED", "23") in sets
        exts = {e["Extension"] for e in d.events("Newexten") if e["Context"] == "in"}
        assert exts == {"523"}
        await d.aclose()
