"""Test your AMI application without an Asterisk: an in-process server simulator.

It speaks AMI like Asterisk 22 (banner, Login and MD5 challenge, read/write classes,
eventfilters, Local channel calls with their real event sequences, event lists...) over TCP on
loopback or in memory, and can be scripted to misbehave (inject events, fail or drop responses,
send garbage, cut connections, replay a recorded session). See docs/testing.md.
"""

from ami_client._private.simulator.auth import User, default_users
from ami_client._private.simulator.channels import Bridge, Channel
from ami_client._private.simulator.dialplan import Dialplan, default_dialplan
from ami_client._private.simulator.eventfilter import EventFilter, FilterSyntaxError
from ami_client._private.simulator.memory import MemoryByteStream, memory_stream_pair
from ami_client._private.simulator.replay import Transcript
from ami_client._private.simulator.server import Simulator, serve
from ami_client._private.simulator.session import ReceivedAction, Session

__all__ = [
    "Simulator",
    "serve",
    "User",
    "default_users",
    "Dialplan",
    "default_dialplan",
    "EventFilter",
    "FilterSyntaxError",
    "Session",
    "ReceivedAction",
    "Channel",
    "Bridge",
    "Transcript",
    "MemoryByteStream",
    "memory_stream_pair",
]
