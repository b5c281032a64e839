#!/usr/bin/env python3
"""Record raw AMI byte transcripts from the real test Asterisk into tests/data/transcripts/.

Each scenario writes two files:

* ``NAME.ami``  -- every byte received on the connection, exactly as received
  (banner included), from connect to close.
* ``NAME.json`` -- what we sent and when: ``sent`` is a list of
  ``{"offset": N, "data": "..."}``, where ``offset`` is how many bytes of
  ``NAME.ami`` had been received when ``data`` was written; plus the scenario's
  description, the Asterisk version and the user.

For HTTP scenarios the ``.http`` file holds the raw HTTP responses one after
the other (one connection per request), and ``sent`` lists the raw requests.

Plain blocking sockets, standard library only.  Needs the server running
(``python tests/asterisk/server.py start``); ``--start`` starts (and afterwards
stops) it.  Re-runnable: every run overwrites the files; Uniqueids, times and
challenges differ from run to run.

    python tests/asterisk/record_transcripts.py [--start] [--only NAME ...] [--out DIR]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import socket
import sys
import time
import urllib.parse
from collections.abc import Callable, Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.asterisk.server import FILTERED_USER_RULES, AsteriskError, AsteriskServer

DEFAULT_OUT = Path(__file__).resolve().parents[1] / "data" / "transcripts"

Fields = list[tuple[str, str]]


#: What each transcript shows (also written into its .json sidecar).
DESCRIPTIONS: dict[str, str] = {
    "login_ping_logoff": (
        "Login (plain secret): Response: Success, then the FullyBooted event and a "
        "SuccessfulAuth security event; Ping (Response: Success, Ping: Pong, Timestamp); Logoff "
        "answered by Response: Goodbye (Message: Thanks for all the fish.), then the server "
        "closes the connection."
    ),
    "login_bad_secret": (
        "Login with a wrong secret: Response: Error, Message: Authentication failed (after a "
        "deliberate delay of about 1 s), then the server closes the connection."
    ),
    "core_show_channels": (
        "CoreShowChannels while 2 Local calls (4 channels: Local/wait@ami-test-XXXX;1 running "
        "Wait(60), ;2 running extension wait) are up: Response: Success + EventList: start, 4 "
        "CoreShowChannel events with the same ActionID, CoreShowChannelsComplete (EventList: "
        "Complete, ListItems: 4). Channel events carry ChanVariable: AMI_TEST_VAR=."
    ),
    "command": (
        "Command 'core show version' (Response: Success, Message: Command output follows, one "
        "Output: line), an unknown command 'core show nonsense' (Response: Error, Output: No "
        "such command...), and a multi-line output 'dialplan show hangup@ami-test' (repeated "
        "Output: fields, some empty)."
    ),
    "originate": (
        "Originate Local/dial-short@ami-test (Async: true) into ami-test,wait-3,1: Response: "
        "Success at once, then Newchannel, Newstate, NewCallerid, Newexten, VarSet, "
        "LocalBridge, DialBegin/DialEnd (ANSWER), "
        "BridgeCreate/BridgeEnter/BridgeLeave/BridgeDestroy, OriginateResponse (an event that "
        "also has a Response: Success field, same ActionID), HangupRequest/SoftHangupRequest "
        "and Hangup for all 4 Local channels (dial-short dials Local/wait-2@ami-test/n, which "
        "hangs up after 2 s). Debian builds Asterisk with TEST_FRAMEWORK, so TestEvent events "
        "appear too. Quirk: OriginateResponse names its channel variable with the channel, "
        '"ChanVariable(Local/dial-short@ami-test-00000002;1): AMI_TEST_VAR=from-originate", '
        'where other events say "ChanVariable: AMI_TEST_VAR=...".'
    ),
    "login_md5_challenge": (
        "Challenge (AuthType: MD5) answered with Response: Success + Challenge: <digits>; Login "
        "with AuthType: MD5 and Key = md5_hex(challenge + secret); Ping; Logoff."
    ),
    "restricted_permission_denied": (
        "User 'restricted' (read=call,reporting write=reporting): Originate and Command "
        "answered with Response: Error, Message: Permission denied; CoreShowChannels (class "
        "reporting) is allowed (an empty list: EventList start, CoreShowChannelsComplete with "
        "ListItems: 0)."
    ),
    "filtered_events": (
        "User 'filtered' with eventfilters (whitelist Event: Newchannel, Event: UserEvent, "
        "advanced name(Hangup); blacklist !UserEvent: Blocked). It sends UserEvent Allowed, "
        "Blocked, Allowed (responses always arrive; only the 2 Allowed UserEvents do; the "
        "UserEvent action copies its ActionID into the event), and an admin connection "
        "originates Local/hangup@ami-test: only Newchannel and Hangup events (2 each) reach it, "
        "no Newstate, HangupRequest, SuccessfulAuth, ... FullyBooted, which Asterisk sends to a "
        "session right after login, is NOT filtered."
    ),
    "queue_status": (
        "Login with Events: off; QueueStatus (one QueueParams item for ami-test-queue, no "
        "members), QueueStatus for an unknown queue (empty list); Logoff."
    ),
    "http_rawman": (
        "AMI over HTTP (/rawman, HTTP/1.1, one connection per request, Connection: close): "
        "login sets the mansession_id cookie; ping; originate Local/hangup@ami-test (Async); "
        "waitevent (timeout 2) returns the queued events after a Response: Success + Message: "
        "Waiting for Event completed, ended by Event: WaitEventComplete; logoff. The .http file "
        "is the raw HTTP responses one after the other."
    ),
}


class Message:
    """One parsed AMI message (only for deciding when to stop reading)."""

    def __init__(self, raw: bytes) -> None:
        self.raw = raw
        self.fields: Fields = []
        for line in raw.decode("utf-8", "replace").split("\r\n"):
            key, sep, value = line.partition(":")
            if sep:
                self.fields.append((key.strip(), value.lstrip(" ")))

    def get(self, key: str, default: str = "") -> str:
        k = key.lower()
        for name, value in self.fields:
            if name.lower() == k:
                return value
        return default

    @property
    def event(self) -> str:
        return self.get("Event")

    @property
    def response(self) -> str:
        return self.get("Response")

    @property
    def action_id(self) -> str:
        return self.get("ActionID")

    def __repr__(self) -> str:
        return f"Message({self.fields!r})"


class Transcript:
    """A blocking AMI connection that keeps every byte it receives."""

    def __init__(self, host: str, port: int, timeout: float = 10.0) -> None:
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.settimeout(0.2)
        self.received = bytearray()
        self.sent: list[dict[str, object]] = []
        self.messages: list[Message] = []
        self._parsed_upto = 0
        self._banner_done = False
        self.closed = False

    # -- I/O

    def _pump(self, deadline: float) -> bool:
        """Receive once (up to the deadline); False when the peer closed."""
        if self.closed:
            return False
        self.sock.settimeout(max(0.01, min(0.2, deadline - time.monotonic())))
        try:
            chunk = self.sock.recv(65536)
        except TimeoutError:
            return True
        except OSError:
            self.closed = True
            return False
        if not chunk:
            self.closed = True
            return False
        self.received += chunk
        self._parse()
        return True

    def _parse(self) -> None:
        if not self._banner_done:
            nl = self.received.find(b"\r\n", self._parsed_upto)
            if nl < 0:
                return
            self._parsed_upto = nl + 2
            self._banner_done = True
        while True:
            end = self.received.find(b"\r\n\r\n", self._parsed_upto)
            if end < 0:
                return
            self.messages.append(Message(bytes(self.received[self._parsed_upto : end + 2])))
            self._parsed_upto = end + 4

    def send(self, *fields: tuple[str, str]) -> None:
        data = "".join(f"{k}: {v}\r\n" for k, v in fields) + "\r\n"
        self.sent.append({"offset": len(self.received), "data": data})
        self.sock.sendall(data.encode("utf-8"))

    def banner(self, timeout: float = 5.0) -> bytes:
        deadline = time.monotonic() + timeout
        while not self._banner_done:
            if time.monotonic() > deadline or not self._pump(deadline):
                raise AsteriskError(f"no banner: {bytes(self.received)!r}")
        return bytes(self.received[: self._parsed_upto])

    def wait_for(
        self, pred: Callable[[Message], bool], timeout: float = 15.0, start: int = 0
    ) -> Message:
        """First message (from index ``start`` on) satisfying ``pred``."""
        deadline = time.monotonic() + timeout
        idx = start
        while True:
            while idx < len(self.messages):
                if pred(self.messages[idx]):
                    return self.messages[idx]
                idx += 1
            if time.monotonic() > deadline:
                raise AsteriskError(
                    f"timed out after {timeout} s; last messages: {self.messages[-5:]!r}"
                )
            if not self._pump(deadline) and idx >= len(self.messages):
                raise AsteriskError(f"connection closed; last messages: {self.messages[-5:]!r}")

    def response(self, action_id: str, timeout: float = 15.0) -> Message:
        return self.wait_for(lambda m: bool(m.response) and m.action_id == action_id, timeout)

    def drain(self, seconds: float) -> None:
        """Keep receiving for a while (to catch trailing events)."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline and self._pump(deadline):
            pass

    def until_closed(self, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self._pump(deadline):
                return
        raise AsteriskError(f"server did not close the connection within {timeout} s")

    def close(self) -> None:
        self.sock.close()

    # -- common exchanges

    def login(
        self, user: str, secret: str, action_id: str = "login-1", events: str | None = None
    ) -> Message:
        fields = [
            ("Action", "Login"),
            ("ActionID", action_id),
            ("Username", user),
            ("Secret", secret),
        ]
        if events is not None:
            fields.append(("Events", events))
        self.send(*fields)
        resp = self.response(action_id)
        if resp.response != "Success":
            raise AsteriskError(f"login as {user} failed: {resp!r}")
        return resp

    def logoff(self, action_id: str = "logoff-1") -> None:
        self.send(("Action", "Logoff"), ("ActionID", action_id))
        self.response(action_id)
        self.until_closed()


def _save(out: Path, name: str, data: bytes, meta: dict[str, object], ext: str = "ami") -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{name}.{ext}").write_bytes(data)
    meta = {
        **meta,
        "file": f"{name}.{ext}",
        "received_bytes": len(data),
        "received_sha256": hashlib.sha256(data).hexdigest(),
    }
    (out / f"{name}.json").write_text(
        json.dumps(meta, indent=2, ensure_ascii=True) + "\n", encoding="utf-8"
    )
    print(f"  {name}.{ext}: {len(data)} bytes")


class Recorder:
    def __init__(self, server: AsteriskServer, out: Path) -> None:
        self.server = server
        self.out = out
        self.version = server.version
        self.admin, self.admin_secret = server.admin

    def connect(self) -> Transcript:
        return Transcript(self.server.host, self.server.ami_port)

    def quiesce(self) -> None:
        """No channels left from an earlier scenario."""
        self.server.hangup_all()

    def save(self, name: str, t: Transcript, description: str, user: str, **extra: object) -> None:
        meta: dict[str, object] = {
            "description": description,
            "asterisk_version": self.version,
            "recorded_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "server": f"{self.server.host}:{self.server.ami_port}",
            "user": user,
            **extra,
            "sent": t.sent,
        }
        _save(self.out, name, bytes(t.received), meta)

    # -- scenarios ---------------------------------------------------------

    def login_ping_logoff(self) -> None:
        t = self.connect()
        t.banner()
        t.login(self.admin, self.admin_secret, "login-1")
        t.wait_for(lambda m: m.event == "FullyBooted", 5)
        t.send(("Action", "Ping"), ("ActionID", "ping-1"))
        t.response("ping-1")
        t.logoff("logoff-1")
        t.close()
        self.save(
            "login_ping_logoff",
            t,
            DESCRIPTIONS["login_ping_logoff"],
            self.admin,
        )

    def core_show_channels(self) -> None:
        self.quiesce()
        helper = self.connect()
        helper.banner()
        helper.login(self.admin, self.admin_secret, "helper-login")
        for i in (1, 2):
            helper.send(
                ("Action", "Originate"),
                ("ActionID", f"helper-originate-{i}"),
                ("Channel", f"Local/wait@{self.server.context}"),
                ("Application", "Wait"),
                ("Data", "60"),
                ("CallerID", f"Helper {i} <100{i}>"),
                ("Timeout", "10000"),
            )
            resp = helper.response(f"helper-originate-{i}", 20)
            if resp.response != "Success":
                raise AsteriskError(f"helper originate failed: {resp!r}")
        try:
            t = self.connect()
            t.banner()
            t.login(self.admin, self.admin_secret, "login-1")
            t.wait_for(lambda m: m.event == "FullyBooted", 5)
            t.send(("Action", "CoreShowChannels"), ("ActionID", "channels-1"))
            t.wait_for(
                lambda m: m.event == "CoreShowChannelsComplete" and m.action_id == "channels-1"
            )
            t.logoff("logoff-1")
            t.close()
        finally:
            helper.close()
            self.quiesce()
        self.save(
            "core_show_channels",
            t,
            DESCRIPTIONS["core_show_channels"],
            self.admin,
        )

    def command(self) -> None:
        t = self.connect()
        t.banner()
        t.login(self.admin, self.admin_secret, "login-1")
        t.send(("Action", "Command"), ("ActionID", "command-1"), ("Command", "core show version"))
        t.response("command-1")
        t.send(("Action", "Command"), ("ActionID", "command-2"), ("Command", "core show nonsense"))
        t.response("command-2")
        t.send(
            ("Action", "Command"),
            ("ActionID", "command-3"),
            ("Command", "dialplan show hangup@ami-test"),
        )
        t.response("command-3")
        t.logoff("logoff-1")
        t.close()
        self.save(
            "command",
            t,
            DESCRIPTIONS["command"],
            self.admin,
        )

    def originate(self) -> None:
        self.quiesce()
        t = self.connect()
        t.banner()
        t.login(self.admin, self.admin_secret, "login-1")
        t.wait_for(lambda m: m.event == "FullyBooted", 5)
        mark = len(t.messages)
        t.send(
            ("Action", "Originate"),
            ("ActionID", "originate-1"),
            ("Channel", f"Local/dial-short@{self.server.context}"),
            ("Context", self.server.context),
            ("Exten", "wait-3"),
            ("Priority", "1"),
            ("CallerID", "AMI Test <5551234>"),
            ("Variable", "AMI_TEST_VAR=from-originate"),
            ("Timeout", "10000"),
            ("Async", "true"),
        )
        t.response("originate-1")
        t.wait_for(
            lambda m: m.event == "OriginateResponse" and m.action_id == "originate-1", 15, mark
        )
        # Two Local pairs = 4 channels; wait until all are gone, then a little more for stragglers.
        deadline = time.monotonic() + 20
        while sum(1 for m in t.messages[mark:] if m.event == "Hangup") < 4:
            if time.monotonic() > deadline:
                raise AsteriskError("not all 4 channels hung up within 20 s")
            t.drain(0.2)
        t.drain(0.5)
        t.logoff("logoff-1")
        t.close()
        self.save(
            "originate",
            t,
            DESCRIPTIONS["originate"],
            self.admin,
        )

    def bad_secret(self) -> None:
        t = self.connect()
        t.banner()
        t.send(
            ("Action", "Login"),
            ("ActionID", "login-bad"),
            ("Username", self.admin),
            ("Secret", "wrong-secret"),
        )
        t.response("login-bad")
        try:
            t.until_closed(10)
            closed = True
        except AsteriskError:
            closed = False
        t.close()
        self.save(
            "login_bad_secret",
            t,
            DESCRIPTIONS["login_bad_secret"]
            + ("" if closed else " NOTE: this time the server did NOT close the connection."),
            self.admin,
            server_closed=closed,
        )

    def md5_challenge(self) -> None:
        t = self.connect()
        t.banner()
        t.send(("Action", "Challenge"), ("ActionID", "challenge-1"), ("AuthType", "MD5"))
        challenge = t.response("challenge-1").get("Challenge")
        key = hashlib.md5(
            (challenge + self.admin_secret).encode("ascii"), usedforsecurity=False
        ).hexdigest()  # what the AMI MD5 challenge prescribes
        t.send(
            ("Action", "Login"),
            ("ActionID", "login-1"),
            ("AuthType", "MD5"),
            ("Username", self.admin),
            ("Key", key),
        )
        resp = t.response("login-1")
        if resp.response != "Success":
            raise AsteriskError(f"MD5 login failed: {resp!r}")
        t.send(("Action", "Ping"), ("ActionID", "ping-1"))
        t.response("ping-1")
        t.logoff("logoff-1")
        t.close()
        self.save(
            "login_md5_challenge",
            t,
            DESCRIPTIONS["login_md5_challenge"],
            self.admin,
            challenge=challenge,
        )

    def restricted(self) -> None:
        user = "restricted"
        t = self.connect()
        t.banner()
        t.login(user, self.server.users[user], "login-1")
        t.send(
            ("Action", "Originate"),
            ("ActionID", "originate-denied"),
            ("Channel", f"Local/hangup@{self.server.context}"),
            ("Application", "Wait"),
            ("Data", "1"),
        )
        t.response("originate-denied")
        t.send(
            ("Action", "Command"), ("ActionID", "command-denied"), ("Command", "core show version")
        )
        t.response("command-denied")
        t.send(("Action", "CoreShowChannels"), ("ActionID", "channels-allowed"))
        t.wait_for(
            lambda m: m.event == "CoreShowChannelsComplete" and m.action_id == "channels-allowed"
        )
        t.logoff("logoff-1")
        t.close()
        self.save(
            "restricted_permission_denied",
            t,
            DESCRIPTIONS["restricted_permission_denied"],
            user,
        )

    def filtered(self) -> None:
        self.quiesce()
        user = "filtered"
        t = self.connect()
        t.banner()
        t.login(user, self.server.users[user], "login-1")
        admin = self.connect()
        admin.banner()
        admin.login(self.admin, self.admin_secret, "helper-login")
        try:
            for i, name in enumerate(("Allowed", "Blocked", "Allowed"), 1):
                action_id = f"userevent-{i}-{name.lower()}"
                t.send(("Action", "UserEvent"), ("ActionID", action_id), ("UserEvent", name),
                       ("Detail", "sent by the filtered user"))  # fmt: skip
                t.response(action_id)
            admin.send(
                ("Action", "Originate"),
                ("ActionID", "helper-originate"),
                ("Channel", f"Local/hangup@{self.server.context}"),
                ("Application", "Wait"),
                ("Data", "1"),
                ("Async", "true"),
            )
            admin.response("helper-originate")
            deadline = time.monotonic() + 15
            while sum(1 for m in t.messages if m.event == "Hangup") < 2:
                if time.monotonic() > deadline:
                    raise AsteriskError(
                        f"filtered user did not see 2 Hangup events: {t.messages!r}"
                    )
                t.drain(0.2)
            t.drain(0.5)
            t.logoff("logoff-1")
            t.close()
        finally:
            admin.close()
        self.save(
            "filtered_events",
            t,
            DESCRIPTIONS["filtered_events"],
            user,
            rules=list(FILTERED_USER_RULES),
        )

    def queue_status(self) -> None:
        t = self.connect()
        t.banner()
        t.login(self.admin, self.admin_secret, "login-1", events="off")
        t.send(("Action", "QueueStatus"), ("ActionID", "queuestatus-1"))
        t.wait_for(lambda m: m.event == "QueueStatusComplete" and m.action_id == "queuestatus-1")
        t.send(("Action", "QueueStatus"), ("ActionID", "queuestatus-2"), ("Queue", "no-such-queue"))
        t.wait_for(lambda m: m.event == "QueueStatusComplete" and m.action_id == "queuestatus-2")
        t.logoff("logoff-1")
        t.close()
        self.save(
            "queue_status",
            t,
            DESCRIPTIONS["queue_status"],
            self.admin,
        )

    def http_rawman(self) -> None:
        """AMI over HTTP: login (cookie), ping, an originate, waitevent, logoff."""
        host, port = self.server.host, self.server.http_port
        received = bytearray()
        sent: list[dict[str, object]] = []
        cookie = ""

        def get(params: Sequence[tuple[str, str]]) -> bytes:
            nonlocal cookie
            path = "/rawman?" + urllib.parse.urlencode(params)
            req = f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nConnection: close\r\n"
            if cookie:
                req += f"Cookie: mansession_id={cookie}\r\n"
            req += "\r\n"
            sent.append({"offset": len(received), "data": req})
            with socket.create_connection((host, port), timeout=30) as s:
                s.sendall(req.encode("ascii"))
                data = bytearray()
                while chunk := s.recv(65536):
                    data += chunk
            received.extend(data)
            for line in bytes(data).split(b"\r\n\r\n", 1)[0].split(b"\r\n"):
                if line.lower().startswith(b"set-cookie:") and b"mansession_id=" in line:
                    cookie = (
                        line.split(b"mansession_id=", 1)[1].split(b";", 1)[0].strip(b'"').decode()
                    )
            return bytes(data)

        self.quiesce()
        get([("action", "login"), ("username", self.admin), ("secret", self.admin_secret)])
        if not cookie:
            raise AsteriskError(f"no mansession_id cookie: {bytes(received)!r}")
        get([("action", "ping"), ("actionid", "ping-1")])
        get(
            [
                ("action", "originate"),
                ("actionid", "originate-1"),
                ("channel", f"Local/hangup@{self.server.context}"),
                ("application", "Wait"),
                ("data", "1"),
                ("async", "true"),
            ]
        )
        time.sleep(1.0)
        get([("action", "waitevent"), ("actionid", "waitevent-1"), ("timeout", "2")])
        get([("action", "logoff"), ("actionid", "logoff-1")])
        meta: dict[str, object] = {
            "description": DESCRIPTIONS["http_rawman"],
            "asterisk_version": self.version,
            "recorded_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "server": f"{host}:{port}",
            "user": self.admin,
            "sent": sent,
        }
        _save(self.out, "http_rawman", bytes(received), meta, ext="http")
        self.quiesce()


SCENARIOS: dict[str, Callable[[Recorder], None]] = {
    "login_ping_logoff": Recorder.login_ping_logoff,
    "core_show_channels": Recorder.core_show_channels,
    "command": Recorder.command,
    "originate": Recorder.originate,
    "login_bad_secret": Recorder.bad_secret,
    "login_md5_challenge": Recorder.md5_challenge,
    "restricted_permission_denied": Recorder.restricted,
    "filtered_events": Recorder.filtered,
    "queue_status": Recorder.queue_status,
    "http_rawman": Recorder.http_rawman,
}


def write_index(out: Path) -> None:
    """README.md in the transcript folder: what each file holds."""
    lines = [
        "# Raw AMI transcripts from a real Asterisk",
        "",
        "Recorded by `tests/asterisk/record_transcripts.py` (re-run it to refresh) from the",
        "test server of `tests/asterisk/server.py`. `NAME.ami` (or `.http`) is every byte",
        "received, exactly as received; `NAME.json` lists what was sent (`sent[].data`) and",
        "how many received bytes preceded each send (`sent[].offset`).",
        "",
    ]
    for name in SCENARIOS:
        meta_file = out / f"{name}.json"
        if not meta_file.exists():
            continue
        meta = json.loads(meta_file.read_text(encoding="utf-8"))
        lines += [
            f"## `{meta['file']}`",
            "",
            f"Asterisk {meta['asterisk_version']}, user `{meta['user']}`,"
            f" {meta['received_bytes']} bytes. {meta['description']}",
            "",
        ]
    (out / "README.md").write_text("\n".join(lines), encoding="utf-8")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--only", nargs="+", choices=sorted(SCENARIOS), help="record only these")
    parser.add_argument(
        "--start", action="store_true", help="start the server first and stop it after"
    )
    args = parser.parse_args(argv)
    server = AsteriskServer()
    started = False
    try:
        if args.start and not server.is_running():
            server.start()
            started = True
        if not server.is_running():
            print("error: the test Asterisk is not running (use --start)", file=sys.stderr)
            return 1
        recorder = Recorder(server, args.out)
        print(f"recording from Asterisk {recorder.version} into {args.out}")
        for name in args.only or list(SCENARIOS):
            SCENARIOS[name](recorder)
        write_index(args.out)
    except AsteriskError as exc:
        print(f"error: {exc}\n{server.log_tail()}", file=sys.stderr)
        return 1
    finally:
        if started:
            server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
