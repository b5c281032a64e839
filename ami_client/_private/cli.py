"""The ``ami-client`` command line (also ``python -m ami_client``).

Commands: ``events`` (stream events as text or JSON lines), ``action`` (send one action, print
the answer), ``channels`` (a live table of channels and bridges) and ``demo`` (the library's
main job against the built-in simulator, or a real server).

Connection settings come from flags, then environment variables (``AMI_URL``, ``AMI_HOST``,
``AMI_PORT``, ``AMI_USERNAME``, ``AMI_SECRET``, ``AMI_SECRET_FILE``, ``AMI_CA_FILE``,
``AMI_AUTH``), then a config file (``--config``, ``$AMI_CONFIG`` or
``~/.config/ami-client/config.ini``, section ``--profile``, default ``default``). The secret is
never taken from the command line: environment, a file, the config file, or a prompt.
"""

from __future__ import annotations

import argparse
import configparser
import getpass
import json
import logging
import os
import ssl
import sys
import time
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TextIO
from urllib.parse import urlsplit

import anyio
import attrs

from ami_client._private.client import AMIClient, connect
from ami_client._private.errors import AMIError, LocalProtocolError
from ami_client._private.message import Message, Response
from ami_client._private.reconnect import ReconnectPolicy
from ami_client._private.results import EventListResult
from ami_client._private.serializer import Action

if TYPE_CHECKING:
    from ami_client._private.tracking.tracker import Tracker

__all__ = ["Settings", "main", "resolve_settings"]

_ENV = {
    "url": "AMI_URL",
    "host": "AMI_HOST",
    "port": "AMI_PORT",
    "username": "AMI_USERNAME",
    "secret": "AMI_SECRET",
    "secret_file": "AMI_SECRET_FILE",
    "ca_file": "AMI_CA_FILE",
    "auth": "AMI_AUTH",
}
_DEFAULT_CONFIG = Path("~/.config/ami-client/config.ini")


class UsageError(Exception):
    """Bad settings or arguments: printed without a traceback, exit status 2."""


@attrs.frozen(kw_only=True)
class Settings:
    """Where and how to connect, once flags, environment and config file are merged."""

    url: str | None = None
    host: str = "127.0.0.1"
    port: int | None = None
    username: str | None = None
    secret: str | None = attrs.field(default=None, repr=False)
    tls: bool = False
    ca_file: str | None = None
    auth: str = "plain"

    def connect_kwargs(self) -> dict[str, Any]:
        """Arguments for :func:`ami_client.connect` (the secret must be known)."""
        if not self.username:
            raise UsageError("no username: use --username, AMI_USERNAME or the config file")
        if self.secret is None:
            raise UsageError("no secret: use AMI_SECRET, --secret-file or the config file")
        host, port, tls = self.host, self.port, self.tls
        http = False
        if self.url:
            parts = urlsplit(self.url)
            try:
                url_port = parts.port
            except ValueError as exc:  # not a number, or out of range
                raise UsageError(f"bad port in {self.url!r}: {exc}") from exc
            if parts.scheme in ("http", "https"):
                if not parts.hostname:
                    raise UsageError(f"no host in {self.url!r}")
                host, port, http = self.url, 0, True
                tls = parts.scheme == "https"
            elif parts.scheme in ("tcp", "tls", "ami", "amis"):
                host = parts.hostname or host
                port = url_port or port
                tls = parts.scheme in ("tls", "amis")
            else:
                raise UsageError(f"unsupported URL scheme in {self.url!r} (tcp, tls, http, https)")
        if not http and port is not None and not 0 < port < 65536:
            raise UsageError(f"port must be 1 to 65535, not {port}")
        context: ssl.SSLContext | bool | None = None
        if tls:
            context = _ssl_context(self.ca_file) if self.ca_file else True
        return {
            "host": host,
            "port": port if port is not None else (5039 if tls else 5038),
            "username": self.username,
            "secret": self.secret,
            "ssl": context,
            "auth": self.auth,
        }


def _ssl_context(ca_file: str) -> ssl.SSLContext:
    try:
        return ssl.create_default_context(cafile=ca_file)
    except (OSError, ssl.SSLError) as exc:  # missing, unreadable, or no certificate in it
        raise UsageError(f"cannot use the CA file {ca_file}: {exc}") from exc


def _read_file(path: str, what: str) -> str:
    try:
        return Path(path).expanduser().read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read the {what}: {exc}") from exc


def _read_config(path: Path | None, profile: str, environ: Mapping[str, str]) -> Mapping[str, str]:
    explicit = path is not None
    if path is None:
        env = environ.get("AMI_CONFIG")
        explicit = env is not None
        path = Path(env) if env else _DEFAULT_CONFIG.expanduser()
    if not path.exists():
        if explicit:
            raise UsageError(f"config file {path} does not exist")
        return {}
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read(path, encoding="utf-8")
    except (configparser.Error, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read {path}: {exc}") from exc
    if not parser.has_section(profile):
        if explicit or profile != "default":
            raise UsageError(f"{path} has no [{profile}] section")
        return {}
    return dict(parser.items(profile))


def resolve_settings(
    args: argparse.Namespace, environ: Mapping[str, str] | None = None
) -> Settings:
    """Merge flags, then environment variables, then the config file."""
    env = os.environ if environ is None else environ
    config = _read_config(args.config, args.profile, env)

    def pick(name: str) -> str | None:
        flag = getattr(args, name, None)
        if flag is not None:
            return str(flag)
        if _ENV.get(name) and env.get(_ENV[name]):
            return env[_ENV[name]]
        return config.get(name.replace("_", "-")) or config.get(name)

    secret = env.get("AMI_SECRET")
    secret_file = getattr(args, "secret_file", None) or env.get("AMI_SECRET_FILE")
    if secret_file:
        secret = _read_file(secret_file, "secret file")
    if secret is None:
        secret = config.get("secret")
    if secret is None and config.get("secret-file"):
        secret = _read_file(config["secret-file"], "secret-file of the config file")
    port = pick("port")
    tls_text = pick("tls") if not args.tls else "yes"
    auth = pick("auth") or "plain"
    if auth not in ("plain", "md5"):
        raise UsageError(f"auth must be plain or md5, not {auth!r}")
    try:
        port_number = int(port) if port else None
    except ValueError as exc:
        raise UsageError(f"port must be a number, not {port!r}") from exc
    return Settings(
        url=pick("url"),
        host=pick("host") or "127.0.0.1",
        port=port_number,
        username=pick("username"),
        secret=secret,
        tls=(tls_text or "").lower() in ("1", "yes", "true", "on"),
        ca_file=pick("ca_file"),
        auth=auth,
    )


def _ask_secret(settings: Settings, stdin: TextIO) -> Settings:
    if settings.secret is not None or not settings.username:
        return settings
    if not stdin.isatty():
        return settings
    try:
        secret = getpass.getpass(f"AMI secret for {settings.username}: ")
    except EOFError as exc:  # Ctrl-D at the prompt
        raise UsageError("no secret typed") from exc
    return attrs.evolve(settings, secret=secret)


# -- output ----------------------------------------------------------------------------------


def _fields_of(event: object) -> tuple[tuple[str, str], ...]:
    message = getattr(event, "message", event)
    return message.fields if isinstance(message, Message) else ()


def format_text(event: object) -> str:
    """One readable line: time, event name, then its fields."""
    fields = _fields_of(event)
    name = next((v for k, v in fields if k.lower() == "event"), "?")
    rest = " ".join(f"{k}={v!r}" if " " in v or not v else f"{k}={v}" for k, v in fields[1:])
    return f"{time.strftime('%H:%M:%S')} {name:<22} {rest}"


def format_json(item: object) -> str:
    """One JSON object: keys once, a repeated key's values as a list, in wire order."""
    out: dict[str, Any] = {}
    for key, value in _fields_of(item):
        if key in out:
            prev = out[key]
            out[key] = [*prev, value] if isinstance(prev, list) else [prev, value]
        else:
            out[key] = value
    return json.dumps(out, ensure_ascii=False)


# -- commands --------------------------------------------------------------------------------


async def cmd_events(ami: AMIClient, args: argparse.Namespace, out: TextIO) -> int:
    fmt = format_json if args.json else format_text
    count = 0
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        subscription = ami.subscribe(*args.names)
    for warning in caught:  # a misspelt event name: said in the command's own shape
        print(f"ami-client: warning: {warning.message}", file=sys.stderr)
    async with subscription as events:
        async for event in events:
            print(fmt(event), file=out, flush=True)
            count += 1
            if args.count and count >= args.count:
                break
    return 0


def client_options(args: argparse.Namespace, settings: Settings) -> dict[str, Any]:
    """The arguments of :func:`ami_client.connect` for a command (not ``demo``)."""
    kwargs = settings.connect_kwargs()
    if getattr(args, "reconnect", False):  # (events and channels only)
        kwargs["reconnect"] = ReconnectPolicy()
    return kwargs


def action_of(args: argparse.Namespace) -> Action:
    """The action the ``action`` command sends: checked before connecting (UsageError)."""
    fields = []
    for pair in args.fields:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise UsageError(f"fields are key=value, not {pair!r}")
        fields.append((key, value))
    try:
        return Action(args.name, fields)
    except LocalProtocolError as exc:  # a bad name or key, CR/LF in a value, a line too long
        raise UsageError(str(exc)) from exc


async def cmd_action(ami: AMIClient, args: argparse.Namespace, out: TextIO) -> int:
    action = action_of(args)
    result = await ami.send(action, raise_on_error=False)
    fmt = format_json if args.json else _format_block
    if isinstance(result, EventListResult):
        print(fmt(result.response), file=out)
        for item in result.items:
            print(fmt(item), file=out)
        if result.complete is not None:
            print(fmt(result.complete), file=out)
        return 1 if result.response.is_error or result.cancelled else 0
    print(fmt(result), file=out)
    return 1 if isinstance(result, Response) and result.is_error else 0


def _format_block(item: object) -> str:
    return "\n".join(f"{k}: {v}" for k, v in _fields_of(item)) + "\n"


def render_table(channels: Mapping[str, Any], bridges: Mapping[str, Any]) -> str:
    """The channels and bridges as a plain-text table."""
    lines = [f"{len(channels)} channel(s), {len(bridges)} bridge(s)", ""]
    lines.append(f"{'CHANNEL':<38} {'STATE':<8} {'CALLER':<16} {'WHERE':<26} {'BRIDGE':<8}")
    for channel in sorted(channels.values(), key=lambda c: c.name):
        state = channel.state_desc or (channel.state.name if channel.state is not None else "?")
        caller = channel.caller_id_num or ""
        where = f"{channel.exten or ''}@{channel.context or ''}"
        if channel.application:
            where = f"{channel.application}({(channel.application_data or '')[:12]})"
        bridge = (channel.bridge_id or "")[:8]
        lines.append(
            f"{channel.name[:38]:<38} {state[:8]:<8} {caller[:16]:<16} {where[:26]:<26} {bridge}"
        )
    for bridge in sorted(bridges.values(), key=lambda b: b.unique_id):
        lines.append(
            f"bridge {bridge.unique_id[:8]} {bridge.technology or '?'}: "
            + ", ".join(channels[m].name if m in channels else m for m in bridge.members)
        )
    return "\n".join(lines)


async def cmd_channels(ami: AMIClient, args: argparse.Namespace, out: TextIO) -> int:
    from ami_client._private.tracking.tracker import track

    async with track(ami) as tracker:  # entering waits for the first sync
        if not args.once:
            await _redraw_on_changes(tracker, args.interval, out)
        print(render_table(tracker.channels, tracker.bridges), file=out)
        return 0


async def _redraw_on_changes(tracker: Tracker, interval: float, out: TextIO) -> NoReturn:
    """Redraw the table on every change, until tracking fails (the tracker ends its changes
    only with an error: ConnectionLost, ClientClosed...) or the user presses Ctrl-C."""
    clear = "\x1b[H\x1b[2J" if out.isatty() else ""
    async with tracker.changes() as changes:
        while True:
            print(clear + render_table(tracker.channels, tracker.bridges), file=out, flush=True)
            await anext(changes)
            with anyio.move_on_after(interval):
                await anyio.sleep_forever()  # coalesce a burst of changes into one redraw


# -- the demo --------------------------------------------------------------------------------


async def run_demo(
    connect_kwargs: Mapping[str, Any],
    *,
    calls: int,
    channel: str,
    context: str,
    exten: str,
    out: TextIO,
) -> int:
    """Originate ``calls`` calls, print responses, typed events and tracked state until all end."""
    from ami_client import events as typed
    from ami_client._private.tracking.tracker import track

    def say(text: str) -> None:
        print(text, file=out, flush=True)

    async with connect(**connect_kwargs, event_factory=typed.from_message) as ami:
        pong = await ami.send(Action("Ping"))
        assert isinstance(pong, Response)
        say(f"connected to {connect_kwargs['host']}; Ping -> {pong.status} ({pong.action_id})")
        async with (
            track(ami) as tracker,
            ami.subscribe(
                typed.Newchannel, typed.DialBegin, typed.DialEnd, typed.BridgeEnter, typed.Hangup
            ) as stream,
            anyio.create_task_group() as tg,
        ):

            async def show_events() -> None:
                async for event in stream:
                    say("  event " + _describe(event))

            async def show_state() -> None:
                async with tracker.changes() as changes:
                    async for change in changes:
                        text = _describe_change(change)
                        if text:
                            say("  state " + text)

            tg.start_soon(show_events)
            tg.start_soon(show_state)
            results = []
            for n in range(calls):
                action = Action(
                    "Originate",
                    Channel=channel,
                    Context=context,
                    Exten=exten,
                    Priority=1,
                    CallerID=f'"Demo {n + 1}" <{1000 + n}>',
                    Async=True,
                )
                result = await ami.originate(action)
                results.append(result)
                say(
                    f"originate #{n + 1}: {result.response.status} (ActionID "
                    f"{result.response.action_id}) -> OriginateResponse "
                    f"{'success' if result.success else 'failure'}"
                )
            with anyio.fail_after(120):
                await tracker.wait_until(lambda state: not state.channels)
            await anyio.sleep(0.2)  # let the last events print
            tg.cancel_scope.cancel()
        stats = ami.statistics()
        say(
            f"all {calls} calls ended; {stats.events_received} events received, "
            f"{sum(r.success for r in results)} originates succeeded"
        )
    return 0


def _describe(event: object) -> str:
    name = getattr(event, "EVENT_NAME", None) or getattr(event, "name", "?")
    parts = [str(name)]
    for attr in ("channel", "dest", "bridge"):
        value = getattr(event, attr, None)
        label = getattr(value, "channel", None) or getattr(value, "unique_id", None)
        if isinstance(label, str) and label:
            parts.append(f"{attr}={label}")
    for attr in ("dial_status", "cause_txt"):
        value = getattr(event, attr, None)
        if value:
            parts.append(f"{attr}={value}")
    return " ".join(parts)


def _describe_change(change: object) -> str | None:
    """A line for the changes a person watching calls cares about; None for the rest."""
    old, new = getattr(change, "old", None), getattr(change, "new", None)
    thing = new or old
    if thing is None:
        return None
    label = getattr(thing, "name", None) or getattr(thing, "unique_id", "?")
    kind = type(thing).__name__.lower()
    if kind not in ("channel", "bridge"):
        return None
    if old is None:
        return f"{kind} {label} created"
    if new is None:
        return f"{kind} {label} gone"
    if kind == "bridge":
        if old.members == new.members:
            return None
        return f"bridge {label}: {len(new.members)} member(s)"
    if old.state_desc != new.state_desc:
        return f"channel {label}: {old.state_desc or '?'} -> {new.state_desc}"
    if old.bridge_id != new.bridge_id:
        where = f"in bridge {new.bridge_id}" if new.bridge_id else "left its bridge"
        return f"channel {label}: {where}"
    return None


async def cmd_demo(args: argparse.Namespace, settings: Settings | None, out: TextIO) -> int:
    if settings is None:  # no server given: the built-in simulator
        from ami_client._private.simulator.server import serve

        async with serve(time_scale=args.time_scale) as sim:
            print(f"simulator listening on {sim.host}:{sim.port} (ami_client.testing)", file=out)
            kwargs = {
                "host": sim.host,
                "port": sim.port,
                "username": "admin",
                "secret": sim.users["admin"].secret,
            }
            return await run_demo(
                kwargs,
                calls=args.calls,
                channel=args.channel,
                context=args.context,
                exten=args.exten,
                out=out,
            )
    return await run_demo(
        settings.connect_kwargs(),
        calls=args.calls,
        channel=args.channel,
        context=args.context,
        exten=args.exten,
        out=out,
    )


# -- the client's log ----------------------------------------------------------------------

# -v, -vv, -vvv: the least level of the client's log records shown on stderr.
_VERBOSITY = (logging.WARNING, logging.INFO, logging.DEBUG)


class _LogFormatter(logging.Formatter):
    """``ami-client: warning: <message>``, the shape of the command's own error lines."""

    def format(self, record: logging.LogRecord) -> str:
        text = f"ami-client: {record.levelname.lower()}: {record.getMessage()}"
        if record.exc_info:
            text = f"{text}\n{self.formatException(record.exc_info)}"
        return text


@contextmanager
def _client_log(verbose: int) -> Iterator[None]:
    """Show the client's log records on stderr at the level ``-v`` asks for, or none.

    Without ``-v`` the command reports a failure itself, in one line: the client's records
    (which say the same, e.g. a connection lost for good) would only repeat it, and without a
    handler Python's last resort would print them bare. Restores the logger when done (tests
    call ``main`` many times in one process).
    """
    log = logging.getLogger("ami_client")
    saved = (log.level, log.propagate, log.handlers[:])
    handler: logging.Handler
    if verbose:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(_LogFormatter())
        log.setLevel(_VERBOSITY[min(verbose, len(_VERBOSITY)) - 1])
    else:
        handler = logging.NullHandler()
        log.setLevel(logging.CRITICAL + 1)
    log.handlers = [handler]
    log.propagate = False
    try:
        yield
    finally:
        log.setLevel(saved[0])
        log.propagate = saved[1]
        log.handlers = saved[2]


# -- argument parsing ------------------------------------------------------------------------


_RECONNECT_HELP = (
    "when the connection is lost, log in again (backoff 0.5 s to 30 s) and go on, "
    "instead of exiting with status 1"
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ami-client",
        allow_abbrev=False,  # `--secret` must not silently mean `--secret-file`
        description="Talk to an Asterisk Manager Interface (AMI) server.",
        epilog="The secret comes from AMI_SECRET, --secret-file, the config file or a prompt.",
    )
    common = argparse.ArgumentParser(add_help=False, allow_abbrev=False)
    group = common.add_argument_group("connection")
    group.add_argument("--url", help="tcp://HOST:PORT, tls://HOST:PORT, http(s)://HOST:PORT/")
    group.add_argument("--host", help="server address (default 127.0.0.1)")
    group.add_argument("--port", type=int, help="AMI port (default 5038, TLS 5039)")
    group.add_argument("--username", "-u", help="manager.conf user")
    group.add_argument("--secret-file", help="read the secret from this file")
    group.add_argument("--tls", action="store_true", help="AMI over TLS, verified")
    group.add_argument("--ca-file", help="CA certificates to verify the server with")
    group.add_argument("--auth", choices=["plain", "md5"], help="login method")
    group.add_argument("--config", type=Path, help=f"config file (default {_DEFAULT_CONFIG})")
    group.add_argument("--profile", default="default", help="config file section")
    common.add_argument(
        "--verbose",
        "-v",
        action="count",
        default=0,
        help="the client's own log on stderr: -v warnings, -vv connection states, -vvv actions",
    )

    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    events = commands.add_parser(
        "events", parents=[common], allow_abbrev=False, help="stream events"
    )
    events.add_argument("names", nargs="*", help="only these events (default: all)")
    events.add_argument("--json", action="store_true", help="JSON lines instead of text")
    events.add_argument("--count", type=int, default=0, help="stop after this many")
    events.add_argument("--reconnect", action="store_true", help=_RECONNECT_HELP)

    action = commands.add_parser(
        "action", parents=[common], allow_abbrev=False, help="send one action"
    )
    action.add_argument("name", help="the action, e.g. CoreShowChannels")
    action.add_argument("fields", nargs="*", help="key=value fields (repeat a key to repeat it)")
    action.add_argument("--json", action="store_true", help="JSON lines instead of text")

    channels = commands.add_parser(
        "channels", parents=[common], allow_abbrev=False, help="live channels table"
    )
    channels.add_argument("--once", action="store_true", help="print once and exit")
    channels.add_argument("--interval", type=float, default=0.2, help="redraw at most this often")
    channels.add_argument("--reconnect", action="store_true", help=_RECONNECT_HELP)

    demo = commands.add_parser(
        "demo",
        parents=[common],
        allow_abbrev=False,
        help="originate calls and show responses, events and live state",
        description="Without --url/--host: against the built-in simulator.",
    )
    demo.add_argument("--calls", type=int, default=3, help="how many calls (default 3)")
    demo.add_argument("--channel", default="Local/dial-short@ami-test", help="Originate Channel")
    demo.add_argument("--context", default="ami-test", help="Originate Context")
    demo.add_argument("--exten", default="wait-3", help="Originate Exten")
    demo.add_argument(
        "--time-scale", type=float, default=0.3, help="simulator: speed of dialplan waits"
    )
    return parser


def main(
    argv: Sequence[str] | None = None,
    *,
    stdout: TextIO | None = None,
    environ: Mapping[str, str] | None = None,
) -> int:
    """Run the command line; returns the exit status."""
    out = stdout or sys.stdout
    parser = build_parser()
    args = parser.parse_args(argv)
    env = os.environ if environ is None else environ
    with _client_log(args.verbose):
        return _run(args, env, out)


def _run(args: argparse.Namespace, env: Mapping[str, str], out: TextIO) -> int:
    try:
        runner: Callable[[], Any]
        if args.command == "demo" and not (
            args.url or args.host or env.get("AMI_URL") or env.get("AMI_HOST")
        ):

            async def runner() -> int:
                return await cmd_demo(args, None, out)

        else:
            settings = _ask_secret(resolve_settings(args, env), sys.stdin)
            if args.command == "demo":

                async def runner() -> int:
                    return await cmd_demo(args, settings, out)

            else:
                command = {"events": cmd_events, "action": cmd_action, "channels": cmd_channels}
                run = command[args.command]
                kwargs = client_options(args, settings)
                if args.command == "action":
                    action_of(args)  # bad arguments fail here, without connecting

                async def runner() -> int:
                    async with connect(**kwargs) as ami:
                        return await run(ami, args, out)

        status = int(anyio.run(runner))
        out.flush()  # a reader gone (a closed pipe) shows here at the latest: handled below
        return status
    except UsageError as exc:
        print(f"ami-client: {exc}", file=sys.stderr)
        return 2
    except AMIError as exc:
        print(f"ami-client: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader went away (`ami-client events | head`): stop quietly, as a program killed
        # by SIGPIPE does, and keep Python from failing again flushing stdout at exit.
        if out is sys.stdout:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, out.fileno())
            os.close(devnull)
        return 141
