"""The message model: read-only, case-insensitive, wire order kept, no silent ''."""

from __future__ import annotations

import copy
import pickle

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ami_client.protocol import Event, Message, Response

EVENT = Event(
    [("Event", "VarSet"), ("Channel", "Local/a;1"), ("Variable", "X"), ("variable", "Y"),
     ("Value", "1")]
)  # fmt: skip


def test_mapping_of_first_values_case_insensitive() -> None:
    assert EVENT["Channel"] == "Local/a;1"
    assert EVENT["CHANNEL"] == "Local/a;1"
    assert EVENT["variable"] == "Y"  # exact casing wins for an exact key
    assert EVENT["VARIABLE"] == "X"  # otherwise the first value, case-insensitively
    assert EVENT.get("missing") is None
    assert EVENT.get("missing", "d") == "d"
    assert EVENT.get("value") == "1"
    assert "CHANNEL" in EVENT
    assert "Nope" not in EVENT
    assert 3 not in EVENT  # type: ignore[comparison-overlap]


def test_missing_key_raises_and_no_attribute_access() -> None:
    with pytest.raises(KeyError, match="Chanel"):
        EVENT["Chanel"]
    with pytest.raises(AttributeError):
        EVENT.chanel  # type: ignore[attr-defined]  # noqa: B018


def test_read_only() -> None:
    with pytest.raises(TypeError):
        EVENT["Channel"] = "x"
    with pytest.raises(TypeError):
        del EVENT["Channel"]
    for method in ("clear", "pop", "popitem", "setdefault", "update"):
        with pytest.raises(TypeError):
            getattr(EVENT, method)("Channel")
    event = EVENT
    with pytest.raises(TypeError):
        event |= {"a": "b"}
    with pytest.raises(AttributeError):
        EVENT.anything = 1
    mutable = EVENT.copy()
    mutable["Channel"] = "changed"
    assert EVENT["Channel"] == "Local/a;1"


def test_fields_keep_wire_order_and_repeats() -> None:
    assert EVENT.fields[2:4] == (("Variable", "X"), ("variable", "Y"))
    assert EVENT.get_all("VARIABLE") == ["X", "Y"]
    assert EVENT.get_all("nothing") == []
    assert list(EVENT) == ["Event", "Channel", "Variable", "variable", "Value"]
    repeated = Event([("Event", "UserEvent"), ("V", "1"), ("V", "2")])
    assert repeated["V"] == "1"
    assert len(repeated) == 2
    assert repeated.fields == (("Event", "UserEvent"), ("V", "1"), ("V", "2"))


def test_kinds() -> None:
    assert EVENT.name == "VarSet"
    response = Response([("Response", "Error"), ("ActionID", "9"), ("Message", "No")])
    assert response.is_error
    assert response.status == "Error"
    assert response.action_id == "9"
    assert EVENT.action_id is None


def test_equality_hash_repr_pickle_copy() -> None:
    same = Event(EVENT.fields)
    assert same == EVENT
    assert hash(same) == hash(EVENT)
    assert Response(EVENT.fields) != EVENT  # kind matters
    assert Event(reversed(EVENT.fields)) != EVENT  # order matters
    assert repr(EVENT).startswith("Event((('Event', 'VarSet'), ('Channel', 'Local/a;1')")
    assert eval(repr(EVENT), {"Event": Event}) == EVENT  # noqa: S307
    assert pickle.loads(pickle.dumps(EVENT)) == EVENT  # noqa: S301
    assert copy.deepcopy(EVENT) is EVENT
    assert {EVENT: 1}[same] == 1


def test_constructor_checks_types() -> None:
    with pytest.raises(TypeError):
        Message([("a", 1)])  # type: ignore[list-item]


def test_to_plain_dict() -> None:
    assert dict(EVENT)["Channel"] == "Local/a;1"
    assert EVENT.raw_fields()[0] == (b"Event", b"VarSet")
    assert not EVENT.has_undecodable_bytes


# Enough distinct keys for messages above the scan's size bound too.
KEYS = [f"K{i}" for i in range(12)]


@given(
    fields=st.lists(
        st.tuples(
            st.sampled_from(["ActionID", "actionid", "EventList", "Eventlist", "A", "a", *KEYS]),
            st.text(max_size=3),
        ),
        max_size=20,
    ),
    wanted=st.sampled_from(["ActionID", "ACTIONID", "eventlist", "EventList", "A", "b"]),
)
def test_any_casing_finds_the_first_value_small_or_large(
    fields: list[tuple[str, str]], wanted: str
) -> None:
    # Small messages answer a miss by scanning their keys, large ones from a lowered copy:
    # both must give what the wire order says.
    message = Event([("Event", "X"), *fields])
    exact = [v for k, v in message.fields if k == wanted]
    loose = [v for k, v in message.fields if k.lower() == wanted.lower()]
    expected = exact[0] if exact else loose[0] if loose else None
    assert message.get(wanted) == expected
    assert (wanted in message) == (expected is not None)
    if expected is None:
        with pytest.raises(KeyError):
            message[wanted]
    else:
        assert message[wanted] == expected
    ids = [v for k, v in message.fields if k == "ActionID"] or [
        v for k, v in message.fields if k.lower() == "actionid"
    ]
    assert message.action_id == (ids[0] if ids else None)
