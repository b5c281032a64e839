"""Every exception ami_client raises survives pickle and copy, with its attributes.

Exceptions are pickled by multiprocessing (a worker's error sent back), by a logging
QueueHandler towards another process, and by copy.copy; the default rebuilds them as
``cls(*args)``, which fails for an exception whose ``__init__`` takes other arguments than its
message.
"""

from __future__ import annotations

import copy
import pickle
from collections.abc import Callable

import pytest

import ami_client
from ami_client._private import errors
from ami_client.protocol import Parser

Copier = Callable[[BaseException], BaseException]
COPIERS: dict[str, Copier] = {
    "pickle": lambda e: pickle.loads(pickle.dumps(e)),  # noqa: S301 (our own bytes)
    "copy": copy.copy,
    "deepcopy": copy.deepcopy,
}


def _error_response(message: str = "Permission denied") -> ami_client.Response:
    parser = Parser(expect_banner=False)
    parser.receive_data(f"Response: Error\r\nActionID: a-1\r\nMessage: {message}\r\n\r\n".encode())
    [response] = parser.next_events()
    assert isinstance(response, ami_client.Response)
    return response


def _limit_from_the_parser() -> errors.LimitExceeded:
    parser = Parser(expect_banner=False)
    parser.receive_data(b"Event: X\r\nKey: " + b"v" * 70_000 + b"\r\n\r\n")
    # (The first call may hand out what came before the error; the error is raised then or next.)
    with pytest.raises(errors.LimitExceeded) as caught:
        [parser.next_events() for _ in range(2)]
    return caught.value


def examples() -> list[BaseException]:
    response = _error_response()
    item = ami_client.Event([("Event", "CoreShowChannel"), ("ActionID", "a-1")])
    simple = [
        cls(f"{cls.__name__} text")
        for cls in (
            errors.AMIError,
            errors.ProtocolError,
            errors.LocalProtocolError,
            errors.RemoteProtocolError,
            errors.AMIConnectionError,
            errors.ConnectionLost,
            errors.KeepaliveTimeout,
            errors.ConnectTimeout,
            errors.ClientClosed,
            errors.AuthenticationError,
            errors.SubscriptionOverflow,
        )
    ]
    return [
        *simple,
        _limit_from_the_parser(),
        errors.LimitExceeded("max_fields", 1024, peer="client"),
        errors.ActionError(_error_response("No such channel")),
        errors.PermissionDenied(response),
        errors.EventListError(response, (item,)),
    ]


def test_every_public_error_is_covered() -> None:
    covered = {type(e) for e in examples()}
    public = {getattr(errors, name) for name in errors.__all__}
    assert covered == public
    assert all(getattr(ami_client, cls.__name__) is cls for cls in public)


ATTRIBUTES = ("limit", "value", "peer", "response", "message", "items")


@pytest.mark.parametrize("how", sorted(COPIERS))
@pytest.mark.parametrize("index", range(len(examples())))
def test_an_error_survives_pickle_and_copy(index: int, how: str) -> None:
    error = examples()[index]  # (a new one each time: the test adds to it)
    error.seen_by = "the application"  # type: ignore[attr-defined] # (as add_note does, 3.11+)
    again = COPIERS[how](error)
    assert type(again) is type(error)
    assert str(again) == str(error)
    assert again.args == error.args
    assert again.seen_by == "the application"  # type: ignore[attr-defined]
    for name in ATTRIBUTES:
        if hasattr(error, name):
            assert getattr(again, name) == getattr(error, name), name


def test_limit_exceeded_keeps_who_broke_it() -> None:
    error = errors.LimitExceeded("max_line_length", 65536, peer="client")
    again = pickle.loads(pickle.dumps(error))  # noqa: S301
    assert (again.limit, again.value, again.peer) == ("max_line_length", 65536, "client")
    assert str(again) == "client exceeded max_line_length=65536"
