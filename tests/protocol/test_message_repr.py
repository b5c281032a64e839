"""A message's repr never shows a credential, and otherwise reads as its constructor call.

Asterisk 22 sends credentials in events (PJSIPShowAuths' AuthDetail: Password, Md5Cred,
OauthSecret...; VoicemailPasswordChange: NewPassword), and the simulator receives Login actions
with their Secret: logging any of them with ``%r`` must not write the value.
"""

from __future__ import annotations

import ast
import logging

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ami_client import Event, Response
from ami_client._private.message import CREDENTIAL_KEYS
from ami_client.protocol import Message, Parser

SECRET = "S3CR3T"


@pytest.mark.parametrize(
    "key", ["Password", "password", "Md5Cred", "OauthSecret", "PasswordDigest", "RefreshToken",
            "NewPassword", "Secret", "SECRET"]
)  # fmt: skip
def test_credential_fields_are_hidden(key: str, caplog: pytest.LogCaptureFixture) -> None:
    event = Event([("Event", "AuthDetail"), ("ObjectName", "alice"), (key, SECRET)])
    text = repr(event)
    assert SECRET not in text
    assert f"({key!r}, <hidden>)" in text
    assert "('ObjectName', 'alice')" in text
    with caplog.at_level(logging.DEBUG):
        logging.getLogger("ami_client.test").warning("got %r", event)
    assert SECRET not in caplog.text
    assert event[key] == SECRET  # hidden from the repr only


def test_login_key_hidden_but_a_database_key_shown() -> None:
    login = Message([("Action", "Login"), ("AuthType", "MD5"), ("Username", "u"), ("Key", SECRET)])
    assert SECRET not in repr(login)
    assert "('Key', <hidden>)" in repr(login)
    db = Event([("Event", "DBGetResponse"), ("Family", "cidname"), ("Key", "5551234")])
    assert (
        repr(db) == "Event((('Event', 'DBGetResponse'), ('Family', 'cidname'), ('Key', '5551234')))"
    )


def test_a_parsed_auth_detail_hides_its_password() -> None:
    parser = Parser(expect_banner=False)
    parser.receive_data(
        b"Event: AuthDetail\r\nActionID: 1\r\nObjectType: auth\r\nObjectName: alice\r\n"
        b"Username: alice\r\nPassword: " + SECRET.encode() + b"\r\nMd5Cred: \r\n\r\n"
    )
    (event,) = parser.next_events()
    assert isinstance(event, Event)
    assert SECRET not in repr(event)
    assert event.get_raw("Password") == SECRET.encode()


_PLAIN_KEYS = st.sampled_from(["Event", "Channel", "Key", "Uniqueid", "Value", "Output", "X-Y"])
_CREDENTIALS = st.sampled_from(sorted(CREDENTIAL_KEYS)).flatmap(
    lambda key: st.sampled_from([key, key.upper(), key.title()])
)
_PLAIN_VALUES = st.text(alphabet="abcdefgh 0123456789:", max_size=12)


@given(
    fields=st.lists(
        st.one_of(
            st.tuples(_PLAIN_KEYS, _PLAIN_VALUES),
            st.tuples(_CREDENTIALS, st.just(SECRET)),
        ),
        max_size=8,
    ),
    kind=st.sampled_from([Event, Response, Message]),
)
def test_repr_hides_exactly_the_credentials(fields: list[tuple[str, str]], kind: type) -> None:
    message = kind(fields)
    text = repr(message)
    assert SECRET not in text
    if not any(key.lower() in CREDENTIAL_KEYS for key, _ in fields):
        # Nothing to hide: the constructor call, which rebuilds an equal message.
        assert text == f"{kind.__name__}({tuple(fields)!r})"
        inner = text[len(kind.__name__) + 1 : -1]
        assert kind(ast.literal_eval(inner)) == message
    else:
        # Every field still shown in order; only credentials' values replaced.
        assert text.count("<hidden>") == sum(k.lower() in CREDENTIAL_KEYS for k, _ in fields)
        for key, value in fields:
            assert repr(key) in text
            if key.lower() not in CREDENTIAL_KEYS:
                assert repr((key, value)) in text
