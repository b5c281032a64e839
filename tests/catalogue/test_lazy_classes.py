"""The typed classes are imported on first use, and every way of reaching one gives the same class.

What ``import ami_client`` imports is checked in a fresh interpreter (this one has imported
classes already).
"""

from __future__ import annotations

import json
import pickle
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from ami_client import Event, actions, events
from ami_client._private.catalogue import _generated_actions, _generated_events
from ami_client._private.catalogue._lazy import LazyClasses

ROOT = Path(__file__).resolve().parents[2]

PRELUDE = """
import json, sys

from ami_client._private.catalogue._base import TypedAction, TypedEvent

_seen = {}


def seen(label):
    prefixes = ("ami_client._private.catalogue._events.", "ami_client._private.catalogue._actions.")
    _seen[label] = sorted(m for m in sys.modules if m.startswith(prefixes))
    # The generated classes built (not GenericEvent); once each (attrs makes a slotted copy).
    built = [*TypedEvent.__subclasses__(), *TypedAction.__subclasses__()]
    base = "ami_client._private.catalogue._base"
    _seen[label + " classes"] = sorted({c.__name__ for c in built if c.__module__ != base})
"""


def fresh(code: str) -> dict[str, list[str]]:
    """Run ``code`` in a new interpreter; it reports the class modules imported and the
    classes built at each point with ``seen(label)``. Returns what it reported."""
    script = PRELUDE + textwrap.dedent(code) + "\nprint(json.dumps(_seen))\n"
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60
    )
    result: dict[str, list[str]] = json.loads(out.stdout)
    return result


def short(modules: list[str]) -> list[str]:
    return [m.split(".", 3)[3] for m in modules]


def test_import_ami_client_imports_no_typed_class() -> None:
    seen = fresh(
        """
        import ami_client
        from ami_client import actions, events
        from ami_client.events import EVENT_CLASSES, from_message
        len(EVENT_CLASSES), list(EVENT_CLASSES), "Hangup" in EVENT_CLASSES
        seen("import")
        """
    )
    assert seen["import"] == []
    assert seen["import classes"] == []  # no typed class built (each costs about 1 ms)


def test_a_class_is_imported_when_first_read_and_only_it() -> None:
    seen = fresh(
        """
        from ami_client import actions, events
        events.Newchannel
        seen("event")
        from ami_client.actions import Ping
        seen("action")
        actions.CoreShowChannels
        seen("list action")
        """
    )
    assert short(seen["event"]) == ["_events.newchannel"]
    assert seen["event classes"] == ["Newchannel"]
    assert short(seen["action"]) == ["_actions.ping", "_events.newchannel"]
    # An EventList action names its item and completion classes: those come with it.
    assert short(seen["list action"]) == [
        "_actions.core_show_channels",
        "_actions.ping",
        "_events.core_show_channel",
        "_events.core_show_channels_complete",
        "_events.newchannel",
    ]


def test_typing_a_received_event_imports_its_class_only() -> None:
    seen = fresh(
        """
        from ami_client import Event
        from ami_client.events import EVENT_CLASSES, from_message
        typed = from_message(Event([("Event", "Hangup"), ("Channel", "PJSIP/a-1"),
                                    ("Cause", "16")]))
        assert type(typed).__name__ == "Hangup" and typed.cause == 16, typed
        assert list(EVENT_CLASSES.loaded) == ["Hangup"]
        seen("hangup")
        from_message(Event([("Event", "NoSuchEvent")]))
        from_message(Event([("Event", "newchannel")]))  # another casing: the same class
        seen("more")
        """
    )
    assert short(seen["hangup"]) == ["_events.hangup"]
    assert seen["hangup classes"] == ["Hangup"]
    assert short(seen["more"]) == ["_events.hangup", "_events.newchannel"]


def test_every_path_gives_the_same_class() -> None:
    for name, cls_name in (("Newchannel", "Newchannel"), ("AOC-D", "AOCD")):
        cls = events.EVENT_CLASSES[name]
        assert cls.__name__ == cls_name
        assert getattr(events, cls_name) is cls
        assert getattr(_generated_events, cls_name) is cls
        assert events.EVENT_CLASSES.get(name) is cls
        assert events.EVENT_CLASSES.loaded[name] is cls
        assert type(events.from_message(Event([("Event", name)]))) is cls
    assert actions.ACTION_CLASSES["Originate"] is actions.Originate
    assert _generated_actions.Originate is actions.Originate
    assert (events.CoreShowChannel,) == actions.CoreShowChannels.ITEM_EVENTS
    assert actions.CoreShowChannels.COMPLETE_EVENT is events.CoreShowChannelsComplete


def test_the_mappings_cover_every_public_class() -> None:
    event_names = {n for n in events.__all__ if isinstance(getattr(events, n), type)}
    mapped = {cls.__name__ for cls in events.EVENT_CLASSES.values()}
    assert mapped <= event_names
    assert len(mapped) == len(events.EVENT_CLASSES) == 181
    for name, cls in events.EVENT_CLASSES.items():
        assert name == cls.EVENT_NAME
    for name, action in actions.ACTION_CLASSES.items():
        assert name == action.ACTION_NAME
        assert action.__name__ in dir(actions)
    assert "Newchannel" in dir(events)
    assert len(actions.ACTION_CLASSES) == 154


def test_a_mapping_reads_like_a_read_only_dict() -> None:
    classes = events.EVENT_CLASSES
    assert isinstance(classes, LazyClasses)
    assert "Hangup" in classes
    assert "hangup" not in classes  # exact names, as on the wire
    assert classes.get("NoSuchEvent") is None
    with pytest.raises(KeyError):
        classes["NoSuchEvent"]
    with pytest.raises(TypeError):
        classes["Hangup"] = events.Hangup  # type: ignore[index]
    assert sorted(classes) == sorted(dict(classes.items()))
    assert "typed classes" in repr(classes)


def test_a_name_that_is_no_class_is_an_attribute_error() -> None:
    # For type checkers too: the modules' __getattr__ is hidden from them, so a misspelt class
    # is a mypy error. (`nox -s typecheck` fails on an unused ignore: these three would be, if
    # mypy took any name.)
    with pytest.raises(AttributeError, match=r"ami_client.events.* no attribute 'Newchanel'"):
        events.Newchanel  # type: ignore[attr-defined] # noqa: B018
    with pytest.raises(AttributeError, match="EVENT_CLASSES"):
        actions.EVENT_CLASSES  # type: ignore[attr-defined] # noqa: B018
    with pytest.raises(ImportError):
        from ami_client.events import NoSuchEvent  # type: ignore[attr-defined] # noqa: F401
    assert not hasattr(events, "__wrapped__")  # (dunder probes import nothing)


def test_typed_values_pickle_by_their_class_module() -> None:
    originate = actions.Originate(channel="Local/100@default", exten="100", context="default")
    copy = pickle.loads(pickle.dumps(originate))  # noqa: S301 (our own bytes)
    assert copy == originate
    assert type(copy) is actions.Originate
    hangup = events.from_message(Event([("Event", "Hangup"), ("Cause", "16")]))
    assert type(pickle.loads(pickle.dumps(hangup))) is events.Hangup  # noqa: S301


def test_a_star_import_gives_every_class() -> None:
    namespace: dict[str, object] = {}
    exec("from ami_client.events import *", namespace)  # noqa: S102 (fixed code)
    assert namespace["Newchannel"] is events.Newchannel
    assert len([v for v in namespace.values() if isinstance(v, type)]) >= 181


def test_a_class_that_fails_to_import_does_not_stop_the_reader() -> None:
    # A class module that does not import the first time an event needs it (left out of a
    # frozen application, a package replaced under a running process, no file descriptor
    # left...) must not end the connection from inside the reader task, failing the actions
    # in flight: the event is delivered untyped, as GenericEvent, with all its fields.
    script = textwrap.dedent(
        """
        import sys

        sys.modules["ami_client._private.catalogue._events.hangup"] = None  # import fails

        import anyio

        from ami_client import Action
        from ami_client.events import GenericEvent, Newchannel, TypedEvent, from_message
        from ami_client.protocol import Event
        from tests.client.fakeserver import connect_to, event, fake_server, response


        async def handler(peer):
            await peer.login()
            ping = await peer.read_action()
            await peer.send(
                event("Hangup", ("Channel", "PJSIP/a-1"), ("Cause", "16")),
                event("Newchannel", ("Channel", "PJSIP/b-1")),
                response(ping, ("Ping", "Pong")),
            )
            await peer.serve_forever()


        async def main():
            async with fake_server(handler) as (port, _), connect_to(port) as ami:
                async with ami.subscribe() as events:
                    with anyio.fail_after(5):
                        answer = await ami.send(Action("Ping"))
                        hangup = await events.__anext__()
                        newchannel = await events.__anext__()
            assert answer["Ping"] == "Pong", answer
            assert type(hangup) is GenericEvent and hangup.message["Cause"] == "16", hangup
            assert type(newchannel) is Newchannel, newchannel
            typed = from_message(Event([("Event", "hangup"), ("Cause", "17")]))
            assert type(typed) is GenericEvent and isinstance(typed, TypedEvent)
            print("ok")


        anyio.run(main)
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, cwd=ROOT
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"
    assert "ami_client._private.catalogue._events.hangup" in out.stderr  # logged, once
    assert out.stderr.count("Traceback") == 1, out.stderr
