"""``Goto`` to a priority label, as Asterisk 22's ``pbx_parseable_goto`` resolves it: the label
is looked up in the target extension only, case-sensitively; an unknown label makes Goto fail
and the channel hangs up. ``+N``/``-N`` move relative to the current priority."""

from __future__ import annotations

import pytest

from ami_client.protocol import Event
from ami_client.testing import Dialplan, Simulator
from tests.simulator.driver import Driver

pytestmark = pytest.mark.anyio


def _plan() -> Dialplan:
    plan = Dialplan()
    # exten => s,1,Answer() / n,Goto(retry) / n,Set(SKIPPED=1) / n(retry),UserEvent(...) ...
    plan.add("t", "s", [
        "Answer()",
        "Goto(retry)",
        "Set(SKIPPED=1)",
        ("UserEvent", "Labelled,Where: ${EXTEN}", "retry"),
        "Hangup()",
    ])  # fmt: skip
    plan.add("t", "to-exten", ["Answer()", "Goto(s,retry)", "Set(SKIPPED=1)"])
    plan.add("t", "to-context", ["Answer()", "Goto(other,s,start)", "Set(SKIPPED=1)"])
    plan.add("other", "s", [
        "NoOp()",
        ("UserEvent", "Labelled,Where: ${CONTEXT}", "start"),
        "Hangup()",
    ])  # fmt: skip
    plan.add("t", "_9XX", ["Answer()", ("UserEvent", "Labelled,Where: ${EXTEN}", "pat"),
                           "Hangup()"])  # fmt: skip
    plan.add("t", "to-pattern", ["Answer()", "Goto(901,pat)", "Set(SKIPPED=1)"])
    # Asterisk: a sign before a label is dropped, the label wins.
    plan.add("t", "signed-label", ["Answer()", "Goto(+retry)", "Set(SKIPPED=1)",
                                   ("UserEvent", "Labelled,Where: ${EXTEN}", "retry")])  # fmt: skip
    plan.add("t", "relative", ["Answer()", "Goto(+2)", "Set(SKIPPED=1)",
                               "UserEvent(Labelled,Where: ${EXTEN})", "Hangup()"])  # fmt: skip
    # Dead ends: wrong case, a label of another extension, an empty priority.
    plan.add("t", "wrong-case", ["Answer()", "Goto(RETRY)", "Set(AFTER=1)",
                                 ("NoOp", "", "retry")])  # fmt: skip
    plan.add("t", "other-exten", ["Answer()", "Goto(retry)", "Set(AFTER=1)"])
    plan.add("t", "empty", ["Answer()", "Goto()", "Set(AFTER=1)"])
    return plan


async def _call(exten: str) -> list[Event]:
    """Originate ``Local/<exten>@t`` over TCP; the call's events until both halves hung up."""
    async with Simulator(dialplan=_plan(), time_scale=0.01) as sim:
        d = await Driver.tcp(*await sim.listen())
        await d.login()
        await d.call("Originate", Channel=f"Local/{exten}@t", Application="Wait", Data="30",
                     Async="true")  # fmt: skip
        await d.until_hung_up(f"Local/{exten}@", 2)
        await d.logoff()
    return d.events()


def _steps(events: list[Event]) -> list[str]:
    """``context/exten:priority Application`` of every Newexten of the ``;2`` half."""
    return [f"{e['Context']}/{e['Extension']}:{e['Priority']} {e['Application']}"
            for e in events if e.name == "Newexten" and e["Channel"].endswith(";2")]  # fmt: skip


def _vars(events: list[Event]) -> dict[str, str]:
    return {e["Variable"]: e["Value"] for e in events if e.name == "VarSet"}


async def test_goto_a_label_in_the_same_extension() -> None:
    events = await _call("s")
    assert _steps(events) == ["t/s:1 Answer", "t/s:2 Goto", "t/s:4 UserEvent", "t/s:5 Hangup"]
    [ue] = [e for e in events if e.name == "UserEvent"]
    assert (ue["UserEvent"], ue["Where"], ue["Priority"]) == ("Labelled", "s", "4")
    assert "SKIPPED" not in _vars(events)


@pytest.mark.parametrize(
    ("exten", "landing"),
    [
        ("to-exten", "t/s:4 UserEvent"),  # Goto(exten,label)
        ("to-context", "other/s:2 UserEvent"),  # Goto(context,exten,label)
        ("to-pattern", "t/901:2 UserEvent"),  # a label of a pattern extension
        ("signed-label", "t/signed-label:4 UserEvent"),  # Goto(+label) is Goto(label)
        ("relative", "t/relative:4 UserEvent"),  # Goto(+2) from priority 2
    ],
)
async def test_goto_label_targets(exten: str, landing: str) -> None:
    events = await _call(exten)
    steps = _steps(events)
    assert steps[1].endswith(" Goto")
    assert steps[2] == landing
    assert [e.name for e in events].count("UserEvent") == 1
    assert "SKIPPED" not in _vars(events)


@pytest.mark.parametrize("exten", ["wrong-case", "other-exten", "empty"])
async def test_an_unknown_label_hangs_up(exten: str) -> None:
    # "Priority 'x' must be a number > 0, or valid label": Goto fails, the channel hangs up.
    events = await _call(exten)
    steps = _steps(events)
    assert steps[-1] == f"t/{exten}:2 Goto"
    assert "AFTER" not in _vars(events)
    assert [e for e in events if e.name == "Hangup" and e["Channel"].endswith(";2")]


def test_dialplan_labels() -> None:
    plan = _plan()
    assert plan.find_label("t", "s", "retry") == 4
    assert plan.find_label("t", "s", "Retry") is None
    assert plan.find_label("t", "to-exten", "retry") is None
    assert plan.find_label("t", "nowhere", "retry") is None
    assert plan.find_label("t", "955", "pat") == 2
    # lookup() and exists() are unchanged: (application, data) pairs, numbered priorities.
    steps = plan.lookup("t", "s")
    assert steps is not None
    assert steps[3] == ("UserEvent", "Labelled,Where: ${EXTEN}")
    assert plan.exists("t", "s", 5)
    assert not plan.exists("t", "s", 6)


def test_bad_labels_are_refused() -> None:
    with pytest.raises(ValueError, match="empty label"):
        Dialplan().add("c", "x", [("NoOp", "", "")])
    # Which priority a duplicate would name is ambiguous: refused when the extension is added.
    with pytest.raises(ValueError, match="label 'twice'"):
        Dialplan().add("c", "x", [("NoOp", "", "twice"), ("NoOp", "", "twice")])
