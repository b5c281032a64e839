"""Eventfilters: the simulator selects the same events as the real Asterisk 22.

Two checks against the real server, each also run on the simulator and compared:

* ``Filter`` actions (legacy and with ``MatchCriteria``), one per session, then UserEvents sent
  by that session: the response and which UserEvents come back;
* the manager.conf user ``advanced`` (tests/asterisk/server.py ``ADVANCED_USER_RULES``) in a
  dial scenario: which events of the call and which UserEvents it receives.

The Asterisk-free tests below pin what those runs showed (Asterisk 22.10.1), so that the
behaviour stays checked in every run.
"""

from __future__ import annotations

import uuid

import anyio
import pytest

from ami_client.protocol import Action, Event, Message, Response, serialize_action
from ami_client.testing import EventFilter, FilterSyntaxError, Simulator, User, default_users
from tests.asterisk.server import ADVANCED_USER_RULES, USERS, AsteriskServer
from tests.simulator.driver import Driver
from tests.simulator.scenarios import (
    call_event_names,
    finish_call,
    originate_dial_short,
    simulated,
    simulated_and_real,
)

# Probe UserEvents: (UserEvent name, extra headers). Repeated and empty headers on purpose.
PROBES: list[tuple[str, list[tuple[str, str]]]] = [
    ("Probe0", [("Tag", "a"), ("Tag", "b")]),
    ("Probe1", [("Tag", "c")]),
    ("Probe2", [("Tag", " d"), ("Empty", "")]),
    ("Probe3", [("Num", "7"), ("Tag", "dd")]),
    ("Probe4", [("Text", "x.y"), ("Tag", "e$")]),
]
ALL = [name for name, _ in PROBES]

# (MatchCriteria or None for a legacy filter, Filter, expected (status, received probes)):
# the expectations are what Asterisk 22.10.1 answered; the real-server test re-checks them.
CASES: list[tuple[str | None, str, tuple[str, list[str]]]] = [
    # A legacy pattern is a regex over the whole text, also "Event: <name>" (no exact-name
    # shortcut): "Event: User" lets every UserEvent through.
    (None, "Event: User", ("Success", ALL)),
    (None, "Tag: b", ("Success", ["Probe0"])),
    (None, "!Tag: c", ("Success", ["Probe0", "Probe2", "Probe3", "Probe4"])),
    (None, "", ("Error", ALL)),
    (None, "!", ("Error", ALL)),
    (None, "bad(", ("Error", ALL)),
    # POSIX extended regex: "\d" is a plain "d", "$" the end of the text, "." any character
    # (CR and LF too), bracket classes work, a backslash in brackets is literal.
    (None, "Tag: \\d", ("Success", ["Probe3"])),
    (None, "Tag: a..Tag: b", ("Success", ["Probe0"])),
    (None, "Tag: c$", ("Success", [])),
    (None, "Num: [[:digit:]]", ("Success", ["Probe3"])),
    (None, "Text: x[.]y", ("Success", ["Probe4"])),
    (None, "Tag: e[$]", ("Success", ["Probe4"])),
    (None, "Tag: e\\$", ("Success", ["Probe4"])),
    (None, "Tag: \\(c", ("Success", [])),
    (None, "Tag: (c|b)", ("Success", ["Probe0", "Probe1"])),
    (None, "Tag: ()c{1}", ("Success", ["Probe1"])),
    (None, "a||Tag: c", ("Success", ALL)),  # an empty alternative matches anywhere
    (None, "Tag: c+?", ("Success", ALL)),  # (c+)?, not a lazy c+
    (None, "Tag: (d|c)*+", ("Success", ALL)),
    (None, "Tag: [a-]", ("Success", ["Probe0"])),
    (None, "Tag: [^-[:alpha:]]", ("Success", ["Probe2"])),
    (None, "(?i)tag: c", ("Error", ALL)),
    (None, "*Tag: c", ("Error", ALL)),
    (None, "Tag: c{1", ("Error", ALL)),
    (None, "Tag: c{2,1}", ("Error", ALL)),
    (None, "Tag: c)?$", ("Success", [])),
    (None, "Tag: c)?", ("Success", ["Probe1"])),  # a ')' closing no group is a character
    (None, "Tag: [z-a]", ("Error", ALL)),
    (None, "Tag: [[:alpha:]-z]", ("Error", ALL)),
    (None, "Tag: [a-[:alpha:]]", ("Error", ALL)),
    # Advanced: a pattern needs an explicit method; "none" needs a name or a header.
    ("name(UserEvent)", "Tag: b", ("Error", ALL)),
    ("name(UserEvent)", "", ("Success", ALL)),
    ("name(userevent),method(none)", "", ("Success", [])),
    ("action(exclude)", "", ("Error", ALL)),
    ("name(UserEvent),method(regex)", "Tag: b", ("Success", ["Probe0"])),
    ("name(UserEvent),method(regex)", "", ("Error", ALL)),
    ("name(UserEvent) ,method(none)", "", ("Success", ALL)),
    ("name(UserEvent),bogus(x)", "", ("Error", ALL)),
    # header(): every line of that header is tried; case-sensitive; blanks skipped; empty
    # values never match.
    ("header(Tag),method(exact)", "b", ("Success", ["Probe0"])),
    ("header(Tag), method(exact)", "d", ("Success", ["Probe2"])),
    ("header(tag),method(exact)", "b", ("Success", [])),
    ("header(Tag:),method(starts_with)", "d", ("Success", ["Probe2", "Probe3"])),
    ("header(Tag),method(ends_with)", "$", ("Success", ["Probe4"])),
    ("header(Tag),method(contains)", "d", ("Success", ["Probe2", "Probe3"])),
    ("header(Tag),method(regex)", "^c$", ("Success", ["Probe1"])),
    ("header(Empty),method(none)", "", ("Success", [])),
    ("header(Num),method(none)", "", ("Success", ["Probe3"])),
    # The whole text ends with the blank line: ends_with on it never sees the last value.
    ("method(ends_with)", "Tag: c", ("Success", [])),
    ("method(contains)", "Tag: c", ("Success", ["Probe1"])),
    ("method(starts_with)", "Event: UserEvent", ("Success", ALL)),
    # "!" excludes, unless action() says otherwise; the "!" is dropped either way.
    ("header(Tag),method(exact)", "!b", ("Success", ["Probe1", "Probe2", "Probe3", "Probe4"])),
    ("action(include),header(Tag),method(exact)", "!b", ("Success", ["Probe0"])),
    ("action(exclude),header(Tag),method(exact)", "c", ("Success", ["Probe0", "Probe2",
                                                                   "Probe3", "Probe4"])),
    # Option values are case-sensitive.
    ("header(Tag),method(Regex)", "b", ("Error", ALL)),
    ("action(Include),header(Tag),method(exact)", "b", ("Error", ALL)),
    ("method(nope)", "x", ("Error", ALL)),
    ("method(regex)", "x[", ("Error", ALL)),
]  # fmt: skip


async def _send_userevents(d: Driver, probes: list[tuple[str, list[tuple[str, str]]]]) -> str:
    """Send one UserEvent per probe (headers repeated as given), each tagged with a new run
    id so that other sessions' events on a shared server are told apart; the run id."""
    run = uuid.uuid4().hex
    for i, (name, extra) in enumerate(probes):
        aid = f"{run}-{i}"
        action = Action("UserEvent", [("UserEvent", name), ("Run", run), *extra])
        await d.stream.send(serialize_action(action, aid))

        def answered(m: Message, aid: str = aid) -> bool:
            return isinstance(m, Response) and m.action_id == aid

        await d.until(answered)
    return run


async def _probe(d: Driver, criteria: str | None, pattern: str) -> tuple[str, str, list[str]]:
    """Add one filter on a fresh session, send the probes from it, see which come back."""
    await d.login()
    fields = {"Operation": "Add", "Filter": pattern}
    if criteria is not None:
        fields["MatchCriteria"] = criteria
    r = await d.call("Filter", **fields)
    run = await _send_userevents(d, PROBES)
    # Asterisk hands a session its queued events before it reads the next action, and the
    # simulator queues them as they happen: after this response, every probe is in.
    await d.call("Ping")
    await d.call("Logoff")
    await d.aclose()
    got = [e["UserEvent"] for e in d.events("UserEvent") if e.get("Run") == run]
    return r.status, r.get("Message", ""), got


async def _simulated(criteria: str | None, pattern: str) -> tuple[str, str, list[str]]:
    async with Simulator() as sim:
        d = Driver(sim.connect_memory())
        await d.read_banner()
        return await _probe(d, criteria, pattern)


# ---- without Asterisk --------------------------------------------------------------------


@pytest.mark.anyio
@pytest.mark.parametrize(("criteria", "pattern", "expected"), CASES)
async def test_filter_action_selects_like_asterisk(
    criteria: str | None, pattern: str, expected: tuple[str, list[str]]
) -> None:
    with anyio.fail_after(5):
        status, message, got = await _simulated(criteria, pattern)
    assert (status, got) == expected
    if status == "Error":
        compiled = (criteria is None and pattern not in ("", "!")) or pattern == "x["
        what = "did not compile" if compiled else "was formatted incorrectly"
        assert message == f"Filter {what}.  Check the syntax of the filter given."


@pytest.mark.parametrize(
    ("line", "reason", "words"),
    [
        ("eventfilter = ", "format", "without a pattern"),
        ("eventfilter() = X", "format", "no filter option"),
        ("eventfilter(name(X = ", "format", "not formatted correctly"),
        ("eventfilter(nnnn(yyy)) = X", "format", "unknown filter option 'nnnn(yyy'"),
        ("eventfilter(action) = ", "format", "'action' not formatted correctly"),
        ("eventfilter(name()) = ", "format", "'name' not formatted correctly"),
        ("eventfilter(header(),method(exact)) = X", "format", "'header' not formatted"),
        ("eventfilter(action(maybe),name(X)) = ", "format", "unknown filter action 'maybe'"),
        ("eventfilter(method(none)) = ", "format", "without name, header or pattern"),
        ("eventfilter(name(X),method(none)) = Y", "format", "method other than 'none'"),
        ("eventfilter(name(X),method(exact)) = ", "format", "method 'exact' needs a pattern"),
        ("eventfilter = a\\", "compile", "trailing backslash"),
        ("eventfilter = [[:nope:]]", "compile", "unknown class [:nope:]"),
        ("eventfilter = [[:digit:]", "compile", "unmatched ["),
        ("eventfilter = [[.ab.]]", "compile", "bad collating element"),
        ("eventfilter = [[=a]", "compile", "unmatched [="),
        ("eventfilter = (?i)x", "compile", "'(?' is not POSIX"),
        ("eventfilter = a{x}", "compile", "starts no interval"),
        ("eventfilter = a{3,1}", "compile", "does not compile"),
        ("filter = X", "format", "not an eventfilter line"),
        ("eventfilterX", "format", "not an eventfilter line"),
    ],
)
def test_rules_asterisk_refuses(line: str, reason: str, words: str) -> None:
    with pytest.raises(FilterSyntaxError, match=None) as info:
        EventFilter.from_config(line)
    assert info.value.reason == reason
    assert words in str(info.value)


def _ev(*pairs: tuple[str, str]) -> Event:
    return Event([("Event", "UserEvent"), ("Privilege", "user,all"), *pairs])


def test_parsed_rule_holds_what_asterisk_holds() -> None:
    rule = EventFilter.from_config(
        "eventfilter(name(VarSet),header(Channel:),method(starts_with)) = !Local/"
    )
    assert (rule.include, rule.name, rule.header, rule.method, rule.expression) == (
        False,
        "VarSet",
        "Channel",
        "starts_with",
        "Local/",
    )
    legacy = EventFilter.legacy("Event: Hangup")
    assert (legacy.include, legacy.name, legacy.method) == (True, None, "regex")
    # A regex, not an exact name: HangupRequest matches too.
    assert legacy.matches(Event([("Event", "HangupRequest"), ("Privilege", "call,all")]))


@pytest.mark.parametrize(
    ("pattern", "value", "hit"),
    [
        ("^[]x]$", "]", True),  # a leading ']' is a member
        ("^[^]x]$", "y", True),
        ("^[^]x]$", "]", False),
        ("^[a-c-]+$", "b-a", True),
        ("^[\\d]+$", "\\d", True),  # a backslash is literal inside brackets
        ("^[\\d]+$", "5", False),
        ("^[[:alpha:][:digit:]]+$", "ab12", True),
        ("^[[:alpha:]]$", "1", False),
        ("^a[[:space:]x]b$", "a\tb", True),
        ("^[[:xdigit:]]+$", "fF09", True),
        ("^[[:punct:]]+$", "[]\\^-", True),
        ("^[[:punct:]]$", "a", False),
        ("^[[.-.]a]+$", "-a-", True),
        ("^[[=e=]]$", "e", True),
        ("\\<wor", "a word", True),
        ("\\<ord", "a word", False),
        ("ord\\>", "a word", True),
        ("wor\\>", "a word", False),
        ("\\`ab", "abc", True),
        ("\\`bc", "abc", False),
        ("bc\\'", "abc", True),
        ("(a)\\1", "xaa", True),
        ("(a)\\1", "ab", False),
        ("\\w\\s\\S", "a b", True),
        ("\\n", "n", True),  # "\\n" is a plain "n"
    ],
)
def test_posix_regex_in_header_filters(pattern: str, value: str, hit: bool) -> None:
    rule = EventFilter.advanced("header(V),method(regex)", pattern)
    assert rule.matches(_ev(("V", value))) is hit


# ---- against the real Asterisk 22 --------------------------------------------------------


@pytest.mark.asterisk
@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_filter_actions_match_asterisk(asterisk: AsteriskServer) -> None:
    # All cases in one test: a session each, a few milliseconds apiece on the real server.
    problems = []
    for criteria, pattern, _ in CASES:
        with anyio.fail_after(10):
            real = await _probe(await Driver.tcp(asterisk.host, asterisk.ami_port), criteria,
                                pattern)  # fmt: skip
            simulated = await _simulated(criteria, pattern)
        if real != simulated:
            problems.append(f"{criteria!r} = {pattern!r}: real {real}, simulator {simulated}")
    assert problems == []


# UserEvents the ``advanced`` user sends in the scenario, and which of them it gets back.
ADVANCED_PROBES: list[tuple[str, list[tuple[str, str]]]] = [
    ("KeepPlain", []),
    ("KeepDropped", [("Tag", "x-drop-x")]),
    ("KeepSecret", [("Tag", "other"), ("Tag", "secret")]),
    ("KeepTagged", [("Tag", "Secret")]),
    ("Other", []),
]
ADVANCED_GETS = ["KeepPlain", "KeepTagged"]


async def _advanced_scenario(user: Driver, admin: Driver) -> tuple[list[str], dict[str, list[str]]]:
    await admin.login()
    await user.login("advanced", USERS["advanced"])
    run = await _send_userevents(user, ADVANCED_PROBES)
    await originate_dial_short(user)
    await finish_call(admin, user)  # the unfiltered admin session tells when it is over
    names = [e["UserEvent"] for e in user.events("UserEvent") if e.get("Run") == run]
    calls = call_event_names(user)
    return names, calls


def test_simulator_advanced_user_is_the_servers() -> None:
    user = default_users()["advanced"]
    assert (
        user.eventfilters
        == User(username="advanced", secret="x", eventfilters=ADVANCED_USER_RULES).eventfilters
    )
    assert user.secret == USERS["advanced"]


@pytest.mark.anyio
async def test_advanced_user_in_a_call() -> None:
    names, calls = await simulated(_advanced_scenario)
    assert names == ADVANCED_GETS
    # Newchannel of the dial-short pair only (the Originate dials ;1, ;2 dials wait-2); the
    # Dial events; Hangups with Cause 16.
    assert calls["Local/dial-short@ami-test;1"] == ["Newchannel", "DialBegin", "DialEnd",
                                                    "Hangup"]  # fmt: skip
    assert calls["Local/dial-short@ami-test;2"] == ["Newchannel", "DialBegin", "DialEnd",
                                                    "Hangup"]  # fmt: skip
    assert all(n in ("DialBegin", "DialEnd", "Hangup") for c, ns in calls.items()
               if "dial-short" not in c for n in ns)  # fmt: skip


@pytest.mark.asterisk
@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_advanced_user_matches_asterisk(asterisk: AsteriskServer) -> None:
    simulated, real = await simulated_and_real(_advanced_scenario, asterisk)
    assert real == simulated


def test_user_takes_rules_in_three_forms() -> None:
    rule = EventFilter.advanced("name(Hangup)", "")
    user = User(
        username="u",
        secret="s",
        eventfilters=[rule, "Event: UserEvent", "  eventfilter = !Tag: drop", "!Event: Newexten"],
    )
    assert user.eventfilters[0] is rule
    assert [(r.include, r.expression) for r in user.eventfilters[1:]] == [
        (True, "Event: UserEvent"),
        (False, "Tag: drop"),
        (False, "Event: Newexten"),
    ]
    with pytest.raises(FilterSyntaxError, match="does not compile"):
        User(username="u", secret="s", eventfilters=["bad("])
