"""How much a server may make us buffer before we give up on it."""

from __future__ import annotations

import attrs

__all__ = ["DEFAULT_LIMITS", "Limits"]


def _positive(_instance: object, attribute: attrs.Attribute[int], value: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{attribute.name} must be a positive int, not {value!r}")


@attrs.frozen(kw_only=True)
class Limits:
    """Limits on what the server can make the parser hold in memory.

    Exceeding one raises :class:`~ami_client.LimitExceeded` naming it. ``max_message_size``
    bounds the receive buffer at every moment; ``max_line_length`` and ``max_fields`` are
    checked when a message is complete. The error raised is the same whatever the chunking.

    Attributes:
        max_line_length: Longest line (one ``Key: Value`` field) in bytes, line ending excluded.
        max_message_size: Largest message in bytes, from its first byte to the end of its last line.
        max_fields: Most lines (fields) in one message.
    """

    # Asterisk reads *actions* into a 1,024-byte buffer, but writes *events* with no line limit:
    # a VarSet or UserEvent value can carry a whole SIP header or a JSON document. 64 KiB is
    # far above any line in the recorded Asterisk 22 traffic (tests/data/, longest < 300 bytes)
    # while keeping one line from eating memory.
    max_line_length: int = attrs.field(default=64 * 1024, validator=_positive)
    # The largest single message Asterisk sends is the answer to a `Command` action: the whole
    # CLI output in one response (`dialplan show` or `pjsip show endpoints` on big systems runs
    # to some hundreds of KiB). 4 MiB leaves ample room and bounds a connection's buffer.
    max_message_size: int = attrs.field(default=4 * 1024 * 1024, validator=_positive)
    # Asterisk 14+ returns CLI output as one `Output:` field per line, so a Command response is
    # the message with the most fields; 20,000 lines covers very large dialplans, and bounds
    # the per-field object overhead (~150 bytes each) that the size limit alone would not.
    max_fields: int = attrs.field(default=20_000, validator=_positive)


DEFAULT_LIMITS = Limits()
