"""A batch offered at once (``Subscription._offer_all``, what the reader does with a read's
events) leaves every subscription exactly as offering the events one by one would."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from ami_client import Overflow, SubscriptionOverflow
from ami_client._private.subscription import Subscription, compile_filters


def read(sub: Subscription[int]) -> object:
    try:
        return sub.receive_nowait()
    except SubscriptionOverflow as error:
        return type(error)


def state(sub: Subscription[int]) -> tuple[object, ...]:
    error = sub._error
    return (
        list(sub._buffer),
        sub._delivered,
        sub._dropped,
        sub._closed,
        type(error) if error is not None else None,
        sub.statistics(),
    )


@given(
    max_buffer=st.integers(1, 12),
    overflow=st.sampled_from(list(Overflow)),
    batches=st.lists(st.integers(0, 30), max_size=6),
    reads=st.lists(st.integers(0, 12), max_size=6),
)
def test_a_batch_is_the_same_as_one_by_one(
    max_buffer: int, overflow: Overflow, batches: list[int], reads: list[int]
) -> None:
    one = Subscription[int](compile_filters(()), max_buffer=max_buffer, overflow=overflow)
    many = Subscription[int](compile_filters(()), max_buffer=max_buffer, overflow=overflow)
    counter = 0
    for n, size in enumerate(batches):
        events = list(range(counter, counter + size))
        counter += size
        for event in events:
            one._offer(event)
        many._offer_all(events)
        assert state(many) == state(one)
        # The subscriber reads some in between.
        for _ in range(reads[n] if n < len(reads) else 0):
            assert read(one) == read(many)
    if overflow is Overflow.FAIL and one._closed:
        assert isinstance(many._error, SubscriptionOverflow)
