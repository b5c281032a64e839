"""ami-client: an async client SDK for the Asterisk Manager Interface (AMI).

Layers, bottom up: :mod:`ami_client.protocol` (sans-IO: bytes in, messages out), the anyio
connection layer, and the typed catalogue in :mod:`ami_client.actions` / :mod:`ami_client.events`.
"""

from ami_client import actions, events, protocol, tracking
from ami_client._private.client import (
    AMIClient,
    EventFactory,
    ListStream,
    connect,
    generic_events,
)
from ami_client._private.errors import (
    ActionError,
    AMIConnectionError,
    AMIError,
    AuthenticationError,
    ClientClosed,
    ConnectionLost,
    ConnectTimeout,
    EventListError,
    KeepaliveTimeout,
    LimitExceeded,
    LocalProtocolError,
    PermissionDenied,
    ProtocolError,
    RemoteProtocolError,
    SubscriptionOverflow,
)
from ami_client._private.http_transport import http_transport_factory
from ami_client._private.limits import DEFAULT_LIMITS, Limits
from ami_client._private.message import Banner, Event, Message, Response
from ami_client._private.reconnect import Keepalive, ReconnectPolicy
from ami_client._private.results import (
    ClientStatistics,
    ConnectionState,
    EventListResult,
    OriginateResult,
)
from ami_client._private.serializer import Action
from ami_client._private.subscription import Overflow, Subscription, SubscriptionStatistics
from ami_client._private.tracking.tracker import Tracker, track

__version__ = "0.1.0.dev0"

__all__ = [
    "__version__",
    # modules
    "actions",
    "events",
    "protocol",
    "tracking",
    # the client
    "connect",
    "generic_events",
    "http_transport_factory",
    "AMIClient",
    "ConnectionState",
    "EventFactory",
    "EventListResult",
    "ListStream",
    "OriginateResult",
    "ReconnectPolicy",
    "Keepalive",
    "Subscription",
    "Overflow",
    "ClientStatistics",
    "SubscriptionStatistics",
    # lifetime tracking (more in ami_client.tracking)
    "track",
    "Tracker",
    # messages
    "Action",
    "Banner",
    "Event",
    "Message",
    "Response",
    # limits
    "DEFAULT_LIMITS",
    "Limits",
    # errors
    "AMIError",
    "ProtocolError",
    "LocalProtocolError",
    "RemoteProtocolError",
    "LimitExceeded",
    "AMIConnectionError",
    "ConnectionLost",
    "KeepaliveTimeout",
    "ClientClosed",
    "ConnectTimeout",
    "AuthenticationError",
    "ActionError",
    "PermissionDenied",
    "EventListError",
    "SubscriptionOverflow",
]
