"""Every event and action of the extract has its class, and every class round-trips."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attrs
import pytest

from ami_client import Action, Event, LocalProtocolError, actions, events
from ami_client._private.catalogue._base import (
    BridgeSnapshot,
    ChannelSnapshot,
    TypedAction,
    TypedEvent,
)
from ami_client.protocol import Message, Parser, serialize_action

from .helpers import ROOT, action_values, expected, facts, sample_text

EVENT_FACTS = {e["name"]: e for e in facts()["events"]}
ACTION_FACTS = {a["name"]: a for a in facts()["actions"]}


def _event_class(name: str) -> type[TypedEvent]:
    for cls in events.EVENT_CLASSES.values():
        doc_name = cls.__doc__ or ""
        if cls.EVENT_NAME.lower() == name.lower() or f"AMI_Events/{name}/" in doc_name:
            return cls
    raise AssertionError(f"no class for event {name}")


def test_extract_records_the_asterisk_version() -> None:
    assert facts()["asterisk_version"]["upstream"] == "22.10.1"
    header = (ROOT / "ami_client/_private/catalogue/_generated_events.py").read_text()
    assert "(Asterisk 22.10.1)" in header.splitlines()[0]


def test_every_documented_event_has_a_class() -> None:
    assert len(EVENT_FACTS) > 150
    assert len(events.EVENT_CLASSES) == len(EVENT_FACTS)
    for name in EVENT_FACTS:
        cls = _event_class(name)
        assert getattr(events, cls.__name__) is cls
        assert cls.__name__ in events.__all__
        assert attrs.has(cls)


def test_every_documented_action_has_a_class() -> None:
    for name in ACTION_FACTS:
        cls = getattr(actions, name.replace("-", ""))
        assert issubclass(cls, TypedAction)
        assert name == cls.ACTION_NAME
    assert (
        len([n for n in actions.__all__ if n not in {"Action", "TypedAction"}])
        == len(ACTION_FACTS) + 1
    )  # + ACTION_CLASSES


@pytest.mark.parametrize("name", sorted(EVENT_FACTS))
def test_event_class_records_facts(name: str) -> None:
    cls = _event_class(name)
    fact = EVENT_FACTS[name]
    assert tuple(fact["since"]) == cls.SINCE
    assert frozenset(fact["privilege"]) == cls.PRIVILEGE_CLASSES
    keys = {k.lower() for k in cls.field_keys().values()}
    for item in fact["fields"]:
        if "snapshot" in item:
            assert item["prefix"].lower() in keys
        elif item["name"].lower() not in {"event", "actionid", "privilege"}:
            # Either its own attribute or a field of one of the event's snapshots.
            covered = item["name"].lower() in keys or any(
                item["name"].lower() == (prefix + sub).lower()
                for attr, prefix in cls.field_keys().items()
                if isinstance(getattr(cls, attr, None), (ChannelSnapshot, BridgeSnapshot))
                or attr in {"channel", "bridge"}
                for sub, _ in _snapshot_fields(cls, attr)
            )
            assert covered, item["name"]


def _snapshot_fields(cls: type[TypedEvent], attr: str) -> list[tuple[str, object]]:
    spec = cls._FIELDS[attr]
    from ami_client._private.catalogue._base import bridge_snapshot, channel_snapshot

    if spec[1] is channel_snapshot:
        return list(ChannelSnapshot._FIELDS.values())
    if spec[1] is bridge_snapshot:
        return list(BridgeSnapshot._FIELDS.values())
    return []


def _full_message(cls: type[TypedEvent]) -> tuple[Event, dict[str, tuple[str, object, str]]]:
    """A message with every typed field of ``cls``; attr -> (key, converter, raw)."""
    pairs = [("Event", cls.EVENT_NAME), ("Privilege", "call,all")]
    plan: dict[str, tuple[str, object, str]] = {}
    for attr, (key, convert) in cls._FIELDS.items():
        if attr in {"privilege", "chan_variables"}:
            continue
        sub = _snapshot_fields(cls, attr)
        if sub:
            for index, (subkey, subconvert) in enumerate(sub):
                if subkey:
                    pairs.append((key + subkey, f"{sample_text(subconvert)}{index}"[:8]))
            pairs.append((key + "ChanVariable", "V=a\\tb"))
            continue
        raw = sample_text(convert)
        pairs.append((key, raw))
        plan[attr] = (key, convert, raw)
    return Event(pairs), plan


@pytest.mark.parametrize("name", sorted(EVENT_FACTS))
def test_event_round_trip(name: str) -> None:
    cls = _event_class(name)
    message, plan = _full_message(cls)
    typed = events.from_message(message)
    assert type(typed) is cls
    assert typed.message is message
    assert typed.name == cls.EVENT_NAME
    assert typed.privilege == frozenset({"call", "all"})
    for attr, (_key, convert, raw) in plan.items():
        assert getattr(typed, attr) == expected(convert, raw), attr
        assert getattr(typed, attr) is not None
    for attr in cls.field_keys():
        value = getattr(typed, attr)
        if isinstance(value, (ChannelSnapshot, BridgeSnapshot)):
            assert value.present
            assert value.message is message
            for sub_attr, (subkey, subconvert) in type(value)._FIELDS.items():
                if subkey:
                    raw = message[value.prefix + subkey]
                    assert getattr(value, sub_attr) == expected(subconvert, raw)
            if isinstance(value, ChannelSnapshot):
                assert value.variables == {"V": "a\tb"}
    # Value semantics follow the message; repr and evolve work on every class.
    assert typed == events.from_message(Event(message.fields))
    assert hash(typed) == hash(events.from_message(Event(message.fields)))
    assert cls.__name__ in repr(typed)


@pytest.mark.parametrize("name", sorted(ACTION_FACTS))
def test_action_round_trip(name: str) -> None:
    cls = actions.ACTION_CLASSES[name]
    values = action_values(cls, every=True)
    typed = cls(**values)  # type: ignore[arg-type]
    action = typed.to_action()
    assert isinstance(action, Action)
    assert action.name == name
    parser = Parser(expect_banner=False)
    parser.receive_data(serialize_action(action, "id-1"))
    (message,) = parser.next_events()
    assert isinstance(message, Message)
    assert message["Action"] == name
    assert message.action_id == "id-1"
    params = dict(cls.parameter_keys())
    for attr, value in values.items():
        key = params[attr]
        if key == "*":  # headers of the caller's own, each its own line
            assert isinstance(value, Mapping)
            for k, v in value.items():
                assert message.get_all(k) == [v]
        elif isinstance(value, Mapping):
            assert message.get_all(key) == [f"{k}={v}" for k, v in value.items()]
        elif isinstance(value, list):
            for index, item in enumerate(value):
                numbered = (
                    key.replace("000000", f"{index:06d}")
                    if "000000" in key
                    else key.replace("(0)", f"({index})")
                )
                assert message[numbered] == item
        elif isinstance(value, bool):
            assert message[key] == "true"
        else:
            assert message[key] == str(value)


@pytest.mark.parametrize("name", sorted(ACTION_FACTS))
def test_action_requires_documented_required_parameters(name: str) -> None:
    cls = actions.ACTION_CLASSES[name]
    required = {
        f["name"]
        for f in ACTION_FACTS[name]["fields"]
        if f.get("required") and "name" in f and f["name"].lower() != "actionid"
    }
    params = dict(cls.parameter_keys())
    needed = {params[f.name] for f in attrs.fields(cls) if f.default is attrs.NOTHING}
    assert {k.lower() for k in needed} == {k.lower() for k in required}
    if needed:
        with pytest.raises(TypeError):
            cls()
    else:
        assert cls().to_action().fields == ()


def test_user_event_takes_headers_of_its_own() -> None:
    action = actions.UserEvent(
        user_event="Hello", headers={"Greeting": "world", "X-Ticket": "42"}
    ).to_action()
    assert action.fields == (("UserEvent", "Hello"), ("Greeting", "world"), ("X-Ticket", "42"))
    # Its own headers may not pose as parameters, nor carry an injection.
    for bad in ({"ActionID": "mine"}, {"userevent": "Other"}, {"Action": "Command"}):
        with pytest.raises(LocalProtocolError):
            actions.UserEvent(user_event="Hello", headers=bad).to_action()
    with pytest.raises(LocalProtocolError):
        actions.UserEvent(user_event="Hello", headers={"A": "1\r\nAction: Command"}).to_action()
    with pytest.raises(LocalProtocolError):
        actions.UserEvent(user_event="Hello", headers={"Bad Key": "1"}).to_action()


def test_action_refuses_injection() -> None:
    with pytest.raises(LocalProtocolError):
        actions.Originate(channel="Local/1@x\r\nAction: Command", exten="1").to_action()
    with pytest.raises(LocalProtocolError):
        actions.Originate(channel="Local/1@x", variables={"A": "1\r\nB"}).to_action()


def test_list_actions_know_their_events() -> None:
    assert (events.CoreShowChannel,) == actions.CoreShowChannels.ITEM_EVENTS
    assert actions.CoreShowChannels.COMPLETE_EVENT is events.CoreShowChannelsComplete
    assert actions.CoreShowChannels.is_list()
    assert (events.Status,) == actions.Status.ITEM_EVENTS
    assert actions.QueueStatus.ITEM_EVENT_NAMES == ("QueueParams", "QueueMember", "QueueEntry")
    assert actions.QueueStatus.COMPLETE_EVENT_NAME == "QueueStatusComplete"
    assert not actions.Ping.is_list()
    assert actions.Ping.COMPLETE_EVENT is None
    for cls in actions.ACTION_CLASSES.values():
        for item in cls.ITEM_EVENTS:
            assert item.EVENT_NAME in cls.ITEM_EVENT_NAMES
        if cls.COMPLETE_EVENT is not None:
            assert cls.COMPLETE_EVENT.EVENT_NAME == cls.COMPLETE_EVENT_NAME


def _load_generator() -> Any:
    path = ROOT / "tools" / "catalogue" / "generate.py"
    spec = importlib.util.spec_from_file_location("catalogue_generate", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_committed_files_match_the_generator() -> None:
    generator = _load_generator()
    outputs = generator.render(facts())
    for path, text in outputs.items():
        assert Path(path).read_text(encoding="utf-8") == text, f"{path} is stale"
    assert generator.main(["--check"]) == 0


@pytest.mark.parametrize("name", sorted(ACTION_FACTS))
def test_no_parameter_shadows_a_method_of_typed_actions(name: str) -> None:
    # QueueReload has a `Parameters` key: a method of that name would be replaced by its
    # attribute, so the generator renames parameters that collide (ACTION_RESERVED).
    cls = actions.ACTION_CLASSES[name]
    assert cls.parameter_keys() == cls._PARAMS
    assert callable(cls.is_list)
    assert callable(cls.to_action)
