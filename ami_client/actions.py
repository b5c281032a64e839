"""Actions to send to the server.

:class:`Action` is the generic action: any name, any fields, validated against AMI injection.
The typed catalogue of every Asterisk action builds on it.
"""

from ami_client._private.serializer import Action

__all__ = ["Action"]
