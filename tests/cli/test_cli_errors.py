"""Every way a command can fail ends in one clear line on stderr and a non-zero exit status:
2 for bad settings or arguments, 1 for what the server (or the network) did. Never a traceback.
"""

from __future__ import annotations

import io
import logging
import socket
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from ami_client import Message
from ami_client._private.cli import main
from tests.client.fakeserver import Peer, fake_server, response

from .helpers import env_for, server_in_thread
from .test_cli_terminal import child_env

COMMANDS = [["events"], ["action", "Ping"], ["channels", "--once"], ["demo", "--calls", "1"]]


def run(
    argv: list[str], environ: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> tuple[int, str, str]:
    """Run the command line in-process: (exit status, stdout, stderr)."""
    out = io.StringIO()
    status = main(argv, stdout=out, environ=environ)
    return status, out.getvalue(), capsys.readouterr().err


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def assert_one_clear_line(err: str, text: str) -> None:
    assert "Traceback" not in err
    assert err.startswith("ami-client: ")
    assert text in err


# -- bad settings and arguments: status 2, nothing sent --------------------------------------


def settings_cases(tmp: Path) -> list[tuple[list[str], dict[str, str], str]]:
    """(extra argv, environment, what the message must say)."""
    no_section = tmp / "no-section.ini"
    no_section.write_text("host = 127.0.0.1\n")
    latin1 = tmp / "latin1.ini"
    latin1.write_bytes(b"[default]\nusername = Jos\xe9\n")
    lost_secret = tmp / "lost-secret.ini"
    lost_secret.write_text(f"[default]\nsecret-file = {tmp / 'gone.secret'}\n")
    not_pem = tmp / "not-a-ca.pem"
    not_pem.write_text("hello\n")
    user = {"AMI_USERNAME": "admin", "AMI_SECRET": "s"}
    return [
        ([], {"AMI_SECRET": "s"}, "no username"),
        ([], {"AMI_USERNAME": "admin"}, "no secret"),
        ([], user | {"AMI_PORT": "fifty"}, "port must be a number, not 'fifty'"),
        (["--port", "70000"], user, "port must be 1 to 65535, not 70000"),
        ([], user | {"AMI_AUTH": "sha1"}, "auth must be plain or md5, not 'sha1'"),
        ([], user | {"AMI_URL": "ftp://127.0.0.1/"}, "unsupported URL scheme"),
        ([], user | {"AMI_URL": "tcp://127.0.0.1:99999"}, "bad port in 'tcp://127.0.0.1:99999'"),
        ([], user | {"AMI_URL": "http://"}, "no host in 'http://'"),
        ([], {"AMI_USERNAME": "admin", "AMI_SECRET_FILE": str(tmp / "gone")}, "secret file"),
        (["--config", str(tmp / "gone.ini")], user, "does not exist"),
        (["--config", str(no_section)], user, "cannot read"),
        (["--config", str(latin1)], user, "cannot read"),
        (["--config", str(no_section), "--profile", "lab"], user, "cannot read"),
        (["--config", str(lost_secret)], {"AMI_USERNAME": "a"}, "secret-file of the config file"),
        (["--tls", "--ca-file", str(tmp / "gone.pem")], user, "cannot use the CA file"),
        (["--tls", "--ca-file", str(not_pem)], user, "cannot use the CA file"),
    ]


@pytest.mark.parametrize("command", [c[:1] if c[0] != "action" else c for c in COMMANDS])
def test_bad_settings_exit_2_with_one_line(
    command: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    port = closed_port()
    for extra, environ, text in settings_cases(tmp_path):
        if command == ["demo"] and "AMI_URL" not in environ:
            environ = environ | {"AMI_HOST": "127.0.0.1"}  # (else the simulator is the server)
        environ = {"AMI_PORT": str(port)} | environ
        status, out, err = run([*command, *extra], environ, capsys)
        assert (status, out) == (2, ""), (command, extra, environ, err)
        assert_one_clear_line(err, text)


def test_an_explicit_profile_missing_from_the_config_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "ami.ini"
    config.write_text("[lab]\nusername = admin\nsecret = s\n")
    status, _, err = run(["action", "Ping", "--config", str(config)], {}, capsys)
    assert status == 2
    assert_one_clear_line(err, f"{config} has no [default] section")
    status, _, err = run(
        ["action", "Ping", "--profile", "pbx9"], {"AMI_CONFIG": str(config)}, capsys
    )
    assert status == 2
    assert_one_clear_line(err, "has no [pbx9] section")


def test_the_default_config_file_may_lack_a_default_section(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # ~/.config/ami-client/config.ini with only named profiles: without --profile, it is not
    # an error (the settings may all come from the environment).
    config = tmp_path / ".config" / "ami-client" / "config.ini"
    config.parent.mkdir(parents=True)
    config.write_text(f"[lab]\nusername = admin\nsecret = s\nport = {closed_port()}\n")
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("AMI_CONFIG", raising=False)
    status, _, err = run(["action", "Ping"], {}, capsys)
    assert status == 2
    assert_one_clear_line(err, "no username")  # the [lab] profile was not used
    status, _, err = run(["action", "Ping", "--profile", "lab"], {}, capsys)
    assert status == 1
    assert_one_clear_line(err, "AMIConnectionError: cannot connect to 127.0.0.1:")


@pytest.mark.parametrize(
    ("argv", "text"),
    [
        (["action", "Bad Name"], "Action 'Bad Name' is not a valid AMI key"),
        (["action", "Ping", "no-equals-sign"], "fields are key=value, not 'no-equals-sign'"),
        (["action", "Ping", "=v"], "fields are key=value, not '=v'"),
        (["action", "Ping", "Caller ID=x"], "'Caller ID' is not a valid AMI key"),
        (["action", "Ping", "Channel=x\r\nAction: Originate"], "it would inject AMI lines"),
        (["action", "Ping", "Action=Originate"], "give the action's name as `name`"),
        (["action", "Ping", "Data=" + "x" * 1100], "Asterisk's action line buffer holds 1024"),
    ],
)
def test_a_bad_action_is_refused_before_connecting(
    argv: list[str], text: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # The port has no server: had the command connected first, the error would be another.
    status, out, err = run(argv, env_for("127.0.0.1", closed_port()), capsys)
    assert (status, out) == (2, "")
    assert_one_clear_line(err, text)


# -- the server: unreachable, refusing the login, cancelling a list: status 1 ---------------


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: c[0])
def test_an_unreachable_server_exits_1_naming_it(
    command: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    port = closed_port()
    status, _, err = run(command, env_for("127.0.0.1", port), capsys)
    assert status == 1
    assert_one_clear_line(err, f"AMIConnectionError: cannot connect to 127.0.0.1:{port}")


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: c[0])
def test_a_refused_login_exits_1_naming_it(
    command: list[str], simulator: tuple[str, int], capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, err = run(command, env_for(*simulator, secret="wrong"), capsys)
    assert status == 1
    assert_one_clear_line(err, "AuthenticationError: ")
    assert "wrong" not in err  # the secret is never shown
    assert "Pong" not in out


async def cancel_lists(peer: Peer) -> None:
    # A server that gives up every list: Asterisk writes `EventList: cancelled` when a list
    # cannot be completed (here after two items, or at once in the response).
    await peer.login()
    while True:
        action = await peer.read_action()
        aid = ("ActionID", action.action_id or "")
        if action["Action"] == "Logoff":
            await peer.reply(action, status="Goodbye")
            return
        if action.get("Now"):
            await peer.send(response(action, ("EventList", "cancelled"), ("Message", "busy")))
            continue
        await peer.send(
            response(action, ("EventList", "start")),
            *(Message([("Event", "Item"), aid, ("N", str(n))]) for n in range(2)),
            Message([("Event", "ItemsComplete"), aid, ("EventList", "cancelled")]),
        )


@asynccontextmanager
async def cancelling_server() -> AsyncIterator[tuple[str, int]]:
    async with fake_server(cancel_lists) as (port, _):
        yield "127.0.0.1", port


@pytest.mark.parametrize("now", [False, True], ids=["after-items", "in-the-response"])
def test_a_cancelled_list_prints_what_came_and_exits_1(
    now: bool, capsys: pytest.CaptureFixture[str]
) -> None:
    with server_in_thread(cancelling_server) as (host, port):
        environ = env_for(host, port, secret="s3cr3t-for-tests")
        status, out, err = run(["action", "Lister", *(["Now=1"] if now else [])], environ, capsys)
    assert status == 1  # the list is incomplete: not a success
    assert "Traceback" not in err
    if now:
        assert "EventList: cancelled\nMessage: busy" in out
    else:
        assert out.count("Event: Item\n") == 2
        assert "Event: ItemsComplete" in out
        assert "EventList: cancelled" in out


# -- the client's own log: hidden unless -v asks for it -------------------------------------


async def login_then_close(peer: Peer) -> None:
    await peer.login()  # then the server goes: the stream of events ends, the link lost


@asynccontextmanager
async def closing_server() -> AsyncIterator[tuple[str, int]]:
    async with fake_server(login_then_close) as (port, _):
        yield "127.0.0.1", port


def test_a_lost_connection_is_one_line_without_the_clients_own_log() -> None:
    # In a process of its own: under pytest a handler on the root logger would catch the
    # client's records, where a plain `ami-client` run prints them bare on stderr (logging's
    # last resort) before its own line.
    with server_in_thread(closing_server) as (host, port):
        run = subprocess.run(
            [sys.executable, "-m", "ami_client", "events"],
            capture_output=True,
            text=True,
            timeout=60,
            env=child_env(host, port, AMI_SECRET="s3cr3t-for-tests"),
        )
    assert run.returncode == 1
    assert run.stderr == "ami-client: ConnectionLost: the server closed the connection\n"


@pytest.mark.parametrize(
    ("flags", "levels"),
    [
        (["-v"], {"error"}),
        (["-vv"], {"info", "error"}),
        (["-v", "-v", "-v"], {"debug", "info", "error"}),
    ],
    ids=["v", "vv", "vvv"],
)
def test_verbose_shows_the_clients_log_in_the_commands_shape(
    flags: list[str], levels: set[str], capsys: pytest.CaptureFixture[str]
) -> None:
    log = logging.getLogger("ami_client")
    before = (log.level, log.propagate, log.handlers[:])
    with server_in_thread(closing_server) as (host, port):
        environ = env_for(host, port, "s3cr3t-for-tests")
        status, _, err = run(["events", *flags], environ, capsys)
    assert status == 1
    lines = err.splitlines()
    assert lines[-1] == "ami-client: ConnectionLost: the server closed the connection"
    shown = {line.split(": ")[1] for line in lines[:-1]}
    assert shown == levels, lines
    assert (
        f"ami-client: error: connection to 127.0.0.1:{port} lost for good: "
        "the server closed the connection"
    ) in lines
    if "info" in levels:
        assert f"ami-client: info: logged in to 127.0.0.1:{port} as 'admin'" in lines
    assert "s3cr3t-for-tests" not in err  # not even in the DEBUG lines of the login
    assert (log.level, log.propagate, log.handlers) == before


def test_a_misspelt_event_name_is_one_warning_line_and_the_command_goes_on(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with server_in_thread(closing_server) as (host, port):
        environ = env_for(host, port, "s3cr3t-for-tests")
        status, _, err = run(["events", "Newchanel", "Hangup"], environ, capsys)
    assert status == 1  # (this server then goes away)
    assert err.splitlines() == [
        "ami-client: warning: subscribe('Newchanel'): no Asterisk 22 event is called that;"
        " did you mean 'Newchannel'? (If your server does send 'Newchanel', ignore this.)",
        "ami-client: ConnectionLost: the server closed the connection",
    ]
