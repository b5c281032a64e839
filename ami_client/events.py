"""Events the server sends.

:class:`Event` is the generic event: every field, in wire order, looked up case-insensitively.
The typed catalogue of every Asterisk event builds on it.
"""

from ami_client._private.message import Event

__all__ = ["Event"]
