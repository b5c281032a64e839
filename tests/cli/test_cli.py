"""The ami-client command line, end to end against the simulator (and the real Asterisk)."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import anyio
import pytest

from ami_client._private.cli import (
    Settings,
    UsageError,
    build_parser,
    format_json,
    format_text,
    main,
    resolve_settings,
)
from ami_client.protocol import Event

from .helpers import env_for

ROOT = Path(__file__).parents[2]


def test_action_prints_the_response(simulator: tuple[str, int]) -> None:
    out = io.StringIO()
    status = main(["action", "Ping"], stdout=out, environ=env_for(*simulator))
    assert status == 0
    assert "Response: Success" in out.getvalue()
    assert "Ping: Pong" in out.getvalue()


def test_action_event_list_as_json_lines(simulator: tuple[str, int]) -> None:
    out = io.StringIO()
    status = main(["action", "CoreShowChannels", "--json"], stdout=out, environ=env_for(*simulator))
    assert status == 0
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert lines[0]["EventList"] == "start"
    assert lines[-1]["Event"] == "CoreShowChannelsComplete"
    assert int(lines[-1]["ListItems"]) == len(lines) - 2


def test_action_error_exit_status(simulator: tuple[str, int]) -> None:
    out = io.StringIO()
    status = main(["action", "NoSuchAction"], stdout=out, environ=env_for(*simulator))
    assert status == 1
    assert "Response: Error" in out.getvalue()


def test_events_filtered_with_count(simulator: tuple[str, int]) -> None:
    out = io.StringIO()
    env = env_for(*simulator)

    async def originate_soon() -> None:
        import ami_client

        await anyio.sleep(0.5)
        host, port = simulator
        async with ami_client.connect(
            host, port, username="admin", secret="ami-admin-secret"
        ) as ami:
            action = ami_client.Action(
                "Originate", Channel="Local/hangup@ami-test", Application="Wait", Data="1"
            )
            await ami.originate(action)

    thread = threading.Thread(target=anyio.run, args=(originate_soon,), daemon=True)
    thread.start()
    status = main(["events", "Newchannel", "--json", "--count", "2"], stdout=out, environ=env)
    thread.join(20)
    assert status == 0
    events = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [e["Event"] for e in events] == ["Newchannel", "Newchannel"]


def test_secret_never_from_the_command_line() -> None:
    parser = build_parser()
    with pytest.raises(SystemExit):
        parser.parse_args(["action", "Ping", "--secret", "x"])


def test_settings_flags_then_env_then_config(tmp_path: Path) -> None:
    config = tmp_path / "ami.ini"
    config.write_text(
        "[default]\nhost = 10.0.0.1\nusername = cfg\nsecret = from-config\n"
        "[pbx2]\nurl = tls://127.0.0.1:5039\nusername = other\nsecret = s2\n"
    )
    parser = build_parser()
    args = parser.parse_args(["action", "Ping", "--config", str(config)])
    settings = resolve_settings(args, {})
    assert (settings.host, settings.username, settings.secret) == ("10.0.0.1", "cfg", "from-config")
    args = parser.parse_args(["action", "Ping", "--config", str(config), "--host", "127.0.0.2"])
    settings = resolve_settings(args, {"AMI_USERNAME": "env", "AMI_SECRET": "from-env"})
    assert (settings.host, settings.username, settings.secret) == ("127.0.0.2", "env", "from-env")
    args = parser.parse_args(["action", "Ping", "--config", str(config), "--profile", "pbx2"])
    kwargs = resolve_settings(args, {}).connect_kwargs()
    assert (kwargs["host"], kwargs["port"], kwargs["ssl"]) == ("127.0.0.1", 5039, True)
    assert "s2" not in repr(resolve_settings(args, {}))
    secret_file = tmp_path / "secret"
    secret_file.write_text("from-file\n")
    args = parser.parse_args(["action", "Ping", "--config", str(config),
                              "--secret-file", str(secret_file)])  # fmt: skip
    assert resolve_settings(args, {}).secret == "from-file"


def test_missing_settings_are_usage_errors(tmp_path: Path) -> None:
    parser = build_parser()
    args = parser.parse_args(["action", "Ping", "--config", str(tmp_path / "none.ini")])
    with pytest.raises(UsageError, match="does not exist"):
        resolve_settings(args, {})
    with pytest.raises(UsageError, match="no username"):
        Settings().connect_kwargs()
    with pytest.raises(UsageError, match="no secret"):
        Settings(username="u").connect_kwargs()
    with pytest.raises(UsageError, match="scheme"):
        Settings(username="u", secret="s", url="ftp://x").connect_kwargs()


def test_bad_credentials_exit_status(simulator: tuple[str, int]) -> None:
    env = env_for(*simulator) | {"AMI_SECRET": "wrong"}
    assert main(["action", "Ping"], stdout=io.StringIO(), environ=env) == 1


def test_formats_keep_repeated_keys() -> None:
    event = Event([("Event", "UserEvent"), ("V", "1"), ("V", "2"), ("Name", "a b")])
    assert json.loads(format_json(event)) == {"Event": "UserEvent", "V": ["1", "2"], "Name": "a b"}
    text = format_text(event)
    assert "UserEvent" in text
    assert "V=1 V=2 Name='a b'" in text


def test_module_entry_point_help() -> None:
    env = os.environ | {"PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "ami_client", "--help"]
    run = subprocess.run(command, capture_output=True, text=True, timeout=60, check=True, env=env)
    for name in ("events", "action", "channels", "demo"):
        assert name in run.stdout


def test_demo_against_the_simulator() -> None:
    out = io.StringIO()
    assert main(["demo", "--calls", "2", "--time-scale", "0.05"], stdout=out, environ={}) == 0
    text = out.getvalue()
    assert "simulator listening on 127.0.0.1:" in text
    assert text.count("-> OriginateResponse success") == 2
    assert "event DialEnd" in text
    assert "dial_status=ANSWER" in text
    assert "state bridge" in text
    assert "all 2 calls ended" in text


def test_channels_once_shows_a_live_call(simulator: tuple[str, int]) -> None:
    import ami_client

    host, port = simulator
    out = io.StringIO()

    async def with_a_call() -> int:
        async with ami_client.connect(
            host, port, username="admin", secret="ami-admin-secret"
        ) as ami:
            await ami.originate(ami_client.Action(
                "Originate", Channel="Local/wait@ami-test", Application="Wait", Data="30"
            ))  # fmt: skip
            return await anyio.to_thread.run_sync(
                lambda: main(["channels", "--once"], stdout=out, environ=env_for(host, port))
            )

    assert anyio.run(with_a_call) == 0
    table = out.getvalue()
    assert table.startswith("2 channel(s)")
    assert table.count("Local/wait@ami-test-") == 2


@pytest.mark.asterisk
def test_demo_against_the_real_asterisk(asterisk: object) -> None:
    out = io.StringIO()
    env = {"AMI_URL": "tcp://127.0.0.1:15038", "AMI_USERNAME": "admin",
           "AMI_SECRET": "ami-admin-secret"}  # fmt: skip
    assert main(["demo", "--calls", "1"], stdout=out, environ=env) == 0
    text = out.getvalue()
    assert "connected to 127.0.0.1" in text
    assert "-> OriginateResponse success" in text
    assert "event DialEnd" in text
    assert "all 1 calls ended" in text


REAL_ENV = {"AMI_URL": "tcp://127.0.0.1:15038", "AMI_USERNAME": "admin",
            "AMI_SECRET": "ami-admin-secret"}  # fmt: skip


@pytest.mark.asterisk
def test_action_events_and_channels_against_the_real_asterisk(asterisk: object) -> None:
    import ami_client

    async def scenario() -> tuple[int, int, int, str, str, str]:
        async with ami_client.connect("127.0.0.1", 15038, username="admin",
                                      secret="ami-admin-secret") as ami:  # fmt: skip
            events_out, action_out, table_out = io.StringIO(), io.StringIO(), io.StringIO()

            def events() -> int:
                return main(["events", "Newchannel", "--json", "--count", "2"],
                            stdout=events_out, environ=REAL_ENV)  # fmt: skip

            async with anyio.create_task_group() as tg:
                statuses: list[int] = []

                async def run_events() -> None:
                    statuses.append(await anyio.to_thread.run_sync(events))

                tg.start_soon(run_events)
                await anyio.sleep(1.0)  # the events command is connected and subscribed
                await ami.originate(ami_client.Action(
                    "Originate", Channel="Local/wait@ami-test", Application="Wait", Data="30"
                ))  # fmt: skip
            action_status = await anyio.to_thread.run_sync(
                lambda: main(["action", "CoreShowChannels"], stdout=action_out, environ=REAL_ENV)
            )
            table_status = await anyio.to_thread.run_sync(
                lambda: main(["channels", "--once"], stdout=table_out, environ=REAL_ENV)
            )
            return (statuses[0], action_status, table_status, events_out.getvalue(),
                    action_out.getvalue(), table_out.getvalue())  # fmt: skip

    status_e, status_a, status_t, events, action, table = anyio.run(scenario)
    assert (status_e, status_a, status_t) == (0, 0, 0)
    names = [json.loads(line)["Channel"] for line in events.splitlines()]
    assert len(names) == 2
    assert all(name.startswith("Local/wait@ami-test-") for name in names)
    assert "EventList: start" in action
    assert all(f"Channel: {name}" in action for name in names)
    assert "Event: CoreShowChannelsComplete" in action
    assert all(name[:38] in table for name in names)
