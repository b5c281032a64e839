"""The command line as a terminal user meets it: ``python -m ami_client``, the secret prompt,
Ctrl-C, and a reader that goes away (``ami-client events | head``)."""

from __future__ import annotations

import contextlib
import importlib
import io
import os
import runpy
import select
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import IO

import pytest

from ami_client._private.cli import main

from .helpers import env_for

ROOT = Path(__file__).parents[2]


def child_env(host: str, port: int, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AMI_")}
    return env | {"PYTHONPATH": str(ROOT)} | env_for(host, port) | extra


def test_python_dash_m_exits_with_the_status_of_main(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # `python -m ami_client` as the interpreter runs it: a usage error is exit status 2.
    monkeypatch.setattr(sys, "argv", ["ami_client", "action", "Ping", "no-equals-sign"])
    monkeypatch.setenv("AMI_USERNAME", "admin")
    monkeypatch.setenv("AMI_SECRET", "s")
    with pytest.raises(SystemExit) as exited:
        runpy.run_module("ami_client", run_name="__main__", alter_sys=True)
    assert exited.value.code == 2
    assert capsys.readouterr().err == "ami-client: fields are key=value, not 'no-equals-sign'\n"


def test_importing_the_entry_module_runs_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    # Tools import every module of a package (pydoc, documentation generators): importing
    # ami_client.__main__ must not start the command line.
    monkeypatch.setattr(sys, "argv", ["pydoc", "--no-such-option"])
    monkeypatch.delitem(sys.modules, "ami_client.__main__", raising=False)
    module = importlib.import_module("ami_client.__main__")
    assert module.main is main


class Terminal(io.StringIO):
    """Standard input as a terminal (so the secret may be asked for)."""

    def isatty(self) -> bool:
        return True


def test_the_secret_is_asked_for_on_a_terminal_only(
    simulator: tuple[str, int], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    prompts: list[str] = []
    typed = ["ami-admin-secret"]

    def getpass(prompt: str) -> str:  # the terminal: the user types the secret (or Ctrl-D)
        prompts.append(prompt)
        if not typed:
            raise EOFError
        return typed.pop()

    monkeypatch.setattr("getpass.getpass", getpass)
    environ = env_for(*simulator)
    del environ["AMI_SECRET"]
    out = io.StringIO()
    monkeypatch.setattr(sys, "stdin", Terminal())
    assert main(["action", "Ping"], stdout=out, environ=environ) == 0
    assert prompts == ["AMI secret for admin: "]
    assert "Ping: Pong" in out.getvalue()
    # Ctrl-D at the prompt: no secret, a clear message.
    assert main(["action", "Ping"], stdout=out, environ=environ) == 2
    assert capsys.readouterr().err == "ami-client: no secret typed\n"
    # Not a terminal (a script, a pipe): never prompted, told where a secret can come from.
    monkeypatch.setattr(sys, "stdin", io.StringIO("ami-admin-secret\n"))
    assert main(["action", "Ping"], stdout=out, environ=environ) == 2
    assert len(prompts) == 2
    assert "no secret: use AMI_SECRET, --secret-file or the config file" in capsys.readouterr().err


def test_the_secret_typed_at_a_real_terminal_logs_in(simulator: tuple[str, int]) -> None:
    # A pseudo-terminal as the controlling terminal of `python -m ami_client`: getpass reads
    # the secret from it without echo, exactly as from a user's terminal.
    master, slave = os.openpty()
    code = (
        "import fcntl, os, runpy, sys, termios; os.setsid(); "
        "fcntl.ioctl(0, termios.TIOCSCTTY, 0); sys.argv = ['ami_client', 'action', 'Ping']; "
        "runpy.run_module('ami_client', run_name='__main__', alter_sys=True)"
    )
    env = child_env(*simulator)
    del env["AMI_SECRET"]
    child = subprocess.Popen(
        [sys.executable, "-c", code], stdin=slave, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, env=env,
    )  # fmt: skip
    os.close(slave)
    try:
        seen = b""
        deadline = time.monotonic() + 20
        while b"AMI secret for admin: " not in seen:
            assert time.monotonic() < deadline, seen
            if select.select([master], [], [], 0.5)[0]:
                seen += os.read(master, 1024)
        os.write(master, b"ami-admin-secret\n")
        out, err = child.communicate(timeout=20)
    finally:
        os.close(master)
        if child.poll() is None:
            child.kill()
    assert child.returncode == 0, err
    assert b"Ping: Pong" in out
    assert b"ami-admin-secret" not in seen  # not echoed


def wait_for_line(stream: IO[bytes] | None, timeout: float = 20) -> bytes:
    assert stream is not None
    ready = select.select([stream], [], [], timeout)[0]
    assert ready, "no output in time"
    return stream.readline()


@pytest.mark.parametrize("command", [["channels"]])
def test_ctrl_c_ends_a_running_command_with_status_130(
    command: list[str], simulator: tuple[str, int]
) -> None:
    child = subprocess.Popen(
        [sys.executable, "-m", "ami_client", *command], stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, env=child_env(*simulator),
    )  # fmt: skip
    try:
        assert wait_for_line(child.stdout)  # connected: a table, or the first event
        child.send_signal(signal.SIGINT)
        _, err = child.communicate(timeout=20)
    finally:
        if child.poll() is None:
            child.kill()
    assert child.returncode == 130
    assert b"Traceback" not in err


def test_ctrl_c_in_process_returns_130(simulator: tuple[str, int]) -> None:
    # main() itself (the code `python -m` runs): SIGINT once the live table is up.
    out = io.StringIO()
    main_thread = threading.main_thread().ident
    assert main_thread == threading.get_ident()
    finished = threading.Event()

    def interrupt_when_drawn() -> None:
        deadline = time.monotonic() + 20
        while "channel(s)" not in out.getvalue():
            if finished.is_set() or time.monotonic() > deadline:
                return
            time.sleep(0.01)
        if not finished.is_set():
            signal.pthread_kill(main_thread, signal.SIGINT)

    interrupter = threading.Thread(target=interrupt_when_drawn)
    interrupter.start()
    try:
        status = main(["channels"], stdout=out, environ=env_for(*simulator))
    except KeyboardInterrupt:  # main() must have caught it
        pytest.fail("Ctrl-C escaped main()")
    finally:
        finished.set()
        interrupter.join(20)
    assert status == 130
    assert out.getvalue().startswith("0 channel(s), 0 bridge(s)")


def test_a_reader_that_goes_away_ends_the_command_quietly(simulator: tuple[str, int]) -> None:
    # `ami-client action CoreShowChannels | head -c0`: stdout is closed before anything is
    # written. The command stops (status 141, as a program killed by SIGPIPE) without a
    # traceback, and without Python's "Exception ignored" when it flushes stdout at exit.
    child = subprocess.Popen(
        [sys.executable, "-m", "ami_client", "action", "CoreShowChannels"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=child_env(*simulator),
    )  # fmt: skip
    assert child.stdout is not None
    child.stdout.close()
    try:
        _, err = child.communicate(timeout=20)
    finally:
        if child.poll() is None:
            child.kill()
    assert child.returncode == 141, err
    assert b"Traceback" not in err
    assert b"Exception ignored" not in err


def test_a_closed_stdout_in_process_gives_141_and_silences_stdout(
    simulator: tuple[str, int], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # main() writing to the process's stdout, a pipe whose reader has gone.
    read, write = os.pipe()
    os.close(read)
    with os.fdopen(write, "w") as pipe:
        monkeypatch.setattr(sys, "stdout", pipe)
        status = main(["action", "CoreShowChannels"], environ=env_for(*simulator))
        assert status == 141
        assert capsys.readouterr().err == ""
        # stdout now leads nowhere: what is left in its buffer flushes without an error.
        print("x" * 100_000, file=pipe, flush=True)


def test_a_closed_stream_given_by_the_caller_gives_141_and_is_left_alone(
    simulator: tuple[str, int], capsys: pytest.CaptureFixture[str]
) -> None:
    # main(stdout=...) from a program of one's own: its stream is its business, not redirected.
    read, write = os.pipe()
    os.close(read)
    pipe = os.fdopen(write, "w")
    try:
        status = main(["action", "CoreShowChannels"], stdout=pipe, environ=env_for(*simulator))
        assert status == 141
        assert capsys.readouterr().err == ""
        with pytest.raises(BrokenPipeError):
            print("x" * 100_000, file=pipe, flush=True)
    finally:
        with contextlib.suppress(BrokenPipeError):
            pipe.close()
