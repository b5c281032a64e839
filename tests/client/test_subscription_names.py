"""A subscription by a misspelt event name would match nothing, for ever: subscribe() warns."""

from __future__ import annotations

import warnings

import pytest

import ami_client
from ami_client import events


def client() -> ami_client.AMIClient:
    return ami_client.connect(username="admin", secret="s")  # never entered: no connection


@pytest.mark.parametrize(
    ("name", "meant"),
    [("Newchanel", "Newchannel"), ("hangups", "Hangup"), ("DialBegins", "DialBegin")],
)
def test_a_misspelt_event_name_warns_naming_the_event_meant(name: str, meant: str) -> None:
    with pytest.warns(UserWarning, match="no Asterisk 22 event is called that") as record:
        subscription = client().subscribe(name, events.Hangup)
    [warning] = record
    assert str(warning.message) == (
        f"subscribe({name!r}): no Asterisk 22 event is called that; did you mean {meant!r}? "
        f"(If your server does send {name!r}, ignore this.)"
    )
    assert warning.filename == __file__  # the caller's line, not the library's
    assert subscription is not None  # a warning, not a refusal: the server may send it


@pytest.mark.parametrize(
    "names",
    [
        ("Newchannel", "Hangup"),
        ("newchannel", "HANGUP"),  # names are case-insensitive
        ("MyModuleEvent",),  # close to no event of the catalogue: someone else's event
        ("Item",),
    ],
)
def test_known_and_unrelated_names_are_quiet(names: tuple[str, ...]) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        client().subscribe(*names)
