"""Typed events and actions share one repr: attrs' format, with credentials hidden.

The generated classes leave their repr to the base classes (one function, not a few hundred
compiled at import). It must read as attrs' did, field by field, and never show a credential:
the generic Action hides ``Secret`` and ``Key``, and a typed one must not undo that, nor may a
PJSIPShowAuths item put an auth object's password in a log line.
"""

from __future__ import annotations

import logging

import attrs
import pytest

from ami_client import Event, actions, events
from ami_client._private.catalogue._base import TypedAction, TypedEvent
from ami_client._private.message import CREDENTIAL_KEYS
from ami_client._private.serializer import SECRET_KEYS

from .helpers import action_values


def _attrs_style(obj: TypedEvent | TypedAction, hidden: set[str]) -> str:
    shown = []
    for field in attrs.fields(type(obj)):
        if not field.repr:
            continue
        value = getattr(obj, field.name)
        text = "<hidden>" if field.name in hidden and value is not None else repr(value)
        shown.append(f"{field.name}={text}")
    return f"{type(obj).__name__}({', '.join(shown)})"


@pytest.mark.parametrize("name", sorted(actions.ACTION_CLASSES))
def test_typed_action_repr(name: str) -> None:
    cls = actions.ACTION_CLASSES[name]
    assert "__repr__" not in cls.__dict__  # the shared one (see the module docstring)
    secret = {attr for attr, key in cls.parameter_keys() if key.lower() in SECRET_KEYS}
    typed = cls(**action_values(cls, every=True))  # type: ignore[arg-type]
    assert repr(typed) == _attrs_style(typed, secret)
    # And with only what it requires: absent credentials read None, not <hidden>.
    bare = cls(**action_values(cls, every=False))  # type: ignore[arg-type]
    assert repr(bare) == _attrs_style(bare, secret)


def test_login_secret_never_shown(caplog: pytest.LogCaptureFixture) -> None:
    login = actions.Login(username="admin", secret="s3cr3t-value", key="k3y-value")
    text = repr(login)
    assert "s3cr3t" not in text
    assert "k3y" not in text
    assert "secret=<hidden>" in text
    assert "key=<hidden>" in text
    assert "username='admin'" in text
    assert "s3cr3t" not in repr(login.to_action())  # as the generic one it becomes
    with caplog.at_level(logging.DEBUG):
        logging.getLogger("ami_client.test").debug("sending %r", login)
    assert "s3cr3t" not in caplog.text
    # Still there for sending: hidden is not lost.
    assert login.secret == "s3cr3t-value"
    assert login.to_action().get("Secret") == "s3cr3t-value"


@pytest.mark.parametrize("name", sorted(events.EVENT_CLASSES))
def test_typed_event_repr(name: str) -> None:
    cls = events.EVENT_CLASSES[name]
    assert "__repr__" not in cls.__dict__
    keys = cls.field_keys()
    fields = [("Event", cls.EVENT_NAME), ("Privilege", "call,all")]
    fields += [(key, f"value-of-{attr}") for attr, key in keys.items() if key]
    typed = events.from_message(Event(fields))
    assert type(typed) is cls
    hidden = {attr for attr, key in keys.items() if key.lower() in CREDENTIAL_KEYS}
    text = repr(typed)
    assert text == _attrs_style(typed, hidden)
    for attr in hidden:
        assert f"value-of-{attr}" not in text
        assert getattr(typed, attr) == f"value-of-{attr}"  # hidden from the repr only


def test_auth_detail_password_hidden() -> None:
    message = Event(
        [("Event", "AuthDetail"), ("ObjectName", "alice"), ("Password", "hunter2"), ("Md5Cred", "")]
    )
    typed = events.from_message(message)
    assert isinstance(typed, events.AuthDetail)
    text = repr(typed)
    assert "hunter2" not in text
    assert "password=<hidden>" in text
    assert "object_name='alice'" in text
    assert "md5_cred=<hidden>" in text  # present, though empty: still a credential's field


def test_generic_and_subclassed_events_use_the_shared_repr() -> None:
    generic = events.from_message(Event([("Event", "NoSuchEvent"), ("Password", "x")]))
    assert repr(generic) == "GenericEvent(privilege=frozenset(), chan_variables=mappingproxy({}))"

    @attrs.frozen(kw_only=True, eq=False)
    class Mine(TypedEvent):
        extra: int = 3

    mine = Mine(message=Event([("Event", "Mine")]), extra=5)
    assert repr(mine) == "Mine(privilege=frozenset(), chan_variables=mappingproxy({}), extra=5)"

    @attrs.frozen(kw_only=True, repr=False)
    class MyLogin(TypedAction):
        ACTION_NAME = "Login"
        _PARAMS = (("secret", "Secret"),)
        secret: str | None = None

    assert repr(MyLogin(secret="pw")) == "MyLogin(action_id=None, secret=<hidden>)"
