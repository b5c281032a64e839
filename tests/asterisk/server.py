#!/usr/bin/env python3
"""A real Asterisk 22 for the test suite, in a throw-away root file system.

Asterisk 22 comes from Debian's unstable (sid) packages, installed with
``mmdebstrap`` into a directory (default ``/var/tmp/ami-client-asterisk/root``,
overridable with ``AMI_ASTERISK_ROOT``; the state directory with the TLS
material and logs is ``/var/tmp/ami-client-asterisk``, overridable with
``AMI_ASTERISK_HOME``).  The stock configuration is replaced by our own small
one, listening on 127.0.0.1 only.  Asterisk runs chrooted, in its own mount
namespace (so the ``/proc`` it needs is unmounted by the kernel however it
ends, even after ``kill -9``).

Needs root.  Standard library only: it is both a script and a module::

    python tests/asterisk/server.py provision|configure|start|stop|kill|restart|status
    python tests/asterisk/server.py cli "core show channels"

    from tests.asterisk.server import AsteriskServer
    server = AsteriskServer()
    server.start()          # provisions first if needed
    server.cli("core show version")
    server.stop()
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import fcntl
import hashlib
import json
import os
import re
import shutil
import signal
import socket
import ssl
import stat
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from types import MappingProxyType

# --------------------------------------------------------------------------
# Fixed facts that tests rely on.
# --------------------------------------------------------------------------

HOST = "127.0.0.1"
AMI_PORT = 15038
AMI_TLS_PORT = 15039
HTTP_PORT = 18088
HTTPS_PORT = 18089

#: AMI users configured in manager.conf: name -> secret.
USERS: Mapping[str, str] = MappingProxyType(
    {
        # read=all, write=all
        "admin": "ami-admin-secret",
        # read=call,reporting write=reporting: Originate and Command are refused
        "restricted": "ami-restricted-secret",
        # read=all, write=all, with event filters (see FILTERED_USER_RULES)
        "filtered": "ami-filtered-secret",
        # read=all, write=all, with Asterisk 22's advanced event filters (ADVANCED_USER_RULES)
        "advanced": "ami-advanced-secret",
    }
)

#: The eventfilter lines of user ``filtered``, in order, as written to manager.conf.
#: Result: only Newchannel, Hangup (exact name) and UserEvent events reach that user,
#: and of the UserEvents not those named "Blocked".  Responses are never filtered.
FILTERED_USER_RULES: tuple[str, ...] = (
    "eventfilter = Event: Newchannel",
    "eventfilter = Event: UserEvent",
    "eventfilter(action(include),name(Hangup)) =",
    "eventfilter = !UserEvent: Blocked",
)

#: The eventfilter lines of user ``advanced`` (Asterisk 21+ syntax, and one legacy line), as
#: written to manager.conf.  Result: UserEvents whose UserEvent starts with "Keep" unless a
#: Tag header contains "drop" or is exactly "secret" (the "!" makes that rule exclude);
#: Newchannel of Local/dial-short channels only; DialBegin and DialEnd (a legacy pattern is a
#: regex, so "Event: Dial" matches them); Hangups whose Cause ends with "6".
ADVANCED_USER_RULES: tuple[str, ...] = (
    "eventfilter(action(include),name(UserEvent),header(UserEvent),method(starts_with)) = Keep",
    "eventfilter(action(exclude),header(Tag),method(contains)) = drop",
    "eventfilter(name(UserEvent),header(Tag),method(exact)) = !secret",
    "eventfilter(name(Newchannel),header(Channel),method(regex)) = ^Local/dial-short@",
    "eventfilter = Event: Dial",
    "eventfilter(name(Hangup),header(Cause),method(ends_with)) = 6",
)

#: Channel variable reported as ``ChanVariable: AMI_TEST_VAR=...`` in every channel event.
CHANNEL_VARIABLE = "AMI_TEST_VAR"

#: The dialplan context with the test extensions (see EXTENSIONS_CONF).
CONTEXT = "ami-test"

ENV_HOME = "AMI_ASTERISK_HOME"
ENV_ROOT = "AMI_ASTERISK_ROOT"
DEFAULT_HOME = Path("/var/tmp/ami-client-asterisk")

SUITE = "sid"
REQUIRED_MAJOR = 22
#: Bump when the provisioned tree must be rebuilt (package set changed).
PROVISION_SCHEMA = 1
MARKER_NAME = ".ami-client-provisioned.json"

# Paths inside the chroot.
CHROOT_CERT = "/etc/asterisk/keys/ami-client-server.pem"
CHROOT_KEY = "/etc/asterisk/keys/ami-client-server.key"
CHROOT_RUNDIR = "/run/asterisk"
CHROOT_LOGDIR = "/var/log/asterisk"

APT_TIMEOUT = 900.0
MMDEBSTRAP_TIMEOUT = 1800.0
LOCK_TIMEOUT = 2400.0


class AsteriskError(RuntimeError):
    """Asterisk could not be provisioned, started, stopped or spoken to."""


class AsteriskUnavailableError(AsteriskError):
    """This machine cannot run the test Asterisk at all (e.g. not root)."""


# --------------------------------------------------------------------------
# Configuration files.  ``configure()`` replaces /etc/asterisk entirely.
# --------------------------------------------------------------------------

MODULES: tuple[str, ...] = (
    # Manager, HTTP, Local channels, bridging core, CDR/CEL core are built in.
    "pbx_config.so",  # extensions.conf
    "app_dial.so",
    "app_echo.so",
    "app_milliwatt.so",  # a media source: Local channel optimization needs frames flowing
    "app_bridgewait.so",
    "app_confbridge.so",
    "app_stack.so",  # Gosub, hangup handlers, Dial's U()/b() options
    "app_userevent.so",
    "app_verbose.so",  # Verbose(), Log()
    "app_senddtmf.so",  # SendDTMF() and the PlayDTMF action's helpers
    "app_queue.so",  # QueueStatus / QueueSummary event lists
    "bridge_simple.so",
    "bridge_softmix.so",  # ConfBridge mixing
    "bridge_holding.so",  # BridgeWait
    "bridge_builtin_features.so",  # Atxfer / BlindTransfer feature hooks
    "res_timing_timerfd.so",  # softmix needs a timing source
    "codec_ulaw.so",
    "codec_gsm.so",  # Debian's prompts are GSM: the attended transfer plays pbx-transfer
    "format_gsm.so",
    "codec_alaw.so",
    "codec_resample.so",  # slin8 <-> slin16 for softmix
    "res_clioriginate.so",  # `channel originate` on the CLI
    "func_logic.so",
    "func_strings.so",
    "func_channel.so",
    "func_callerid.so",
    "func_global.so",
    "func_math.so",
    "func_cut.so",
    "func_hangupcause.so",
)


def _asterisk_conf(moddir: str) -> str:
    return f"""\
; ami-client test server -- written by tests/asterisk/server.py, do not edit.
[directories]
astcachedir => /var/cache/asterisk
astetcdir => /etc/asterisk
astmoddir => {moddir}
astvarlibdir => /var/lib/asterisk
astdbdir => /var/lib/asterisk
astkeydir => /var/lib/asterisk
astdatadir => /usr/share/asterisk
astagidir => /usr/share/asterisk/agi-bin
astspooldir => /var/spool/asterisk
astrundir => {CHROOT_RUNDIR}
astlogdir => {CHROOT_LOGDIR}
astsbindir => /usr/sbin

[options]
documentation_language = en_US
; no systemname: it would prefix every Uniqueid ("name-1795799193.2") and add a
; SystemName field to events over HTTP; most servers run without one
; no colours, no pager: output of `asterisk -rx` stays plain text
nocolor = yes
; the machine is shared with the tests: don't let Asterisk refuse calls on load
maxload = 0
"""


def _modules_conf() -> str:
    loads = "\n".join(f"load => {m}" for m in MODULES)
    return f"""\
; ami-client test server -- written by tests/asterisk/server.py, do not edit.
[modules]
autoload = no
{loads}
"""


LOGGER_CONF = """\
; ami-client test server -- written by tests/asterisk/server.py, do not edit.
[general]
dateformat = %F %T.%3q

[logfiles]
console => notice,warning,error
messages.log => notice,warning,error,verbose(3)
"""


def _manager_conf() -> str:
    filters = "\n".join(FILTERED_USER_RULES)
    advanced = "\n".join(ADVANCED_USER_RULES)
    return f"""\
; ami-client test server -- written by tests/asterisk/server.py, do not edit.
[general]
enabled = yes
webenabled = yes
bindaddr = {HOST}
port = {AMI_PORT}
tlsenable = yes
tlsbindaddr = {HOST}:{AMI_TLS_PORT}
tlscertfile = {CHROOT_CERT}
tlsprivatekey = {CHROOT_KEY}
displayconnects = no
timestampevents = no
allowmultiplelogin = yes
; default 60: HTTP (rawman/mxml) session lifetime and WaitEvent's upper bound (-10 s)
httptimeout = 60
authtimeout = 30
authlimit = 50
channelvars = {CHANNEL_VARIABLE}

[admin]
secret = {USERS["admin"]}
deny = 0.0.0.0/0.0.0.0
permit = 127.0.0.1/255.255.255.255
read = all
write = all

[restricted]
secret = {USERS["restricted"]}
deny = 0.0.0.0/0.0.0.0
permit = 127.0.0.1/255.255.255.255
read = call,reporting
write = reporting

[filtered]
secret = {USERS["filtered"]}
deny = 0.0.0.0/0.0.0.0
permit = 127.0.0.1/255.255.255.255
read = all
write = all
{filters}

[advanced]
secret = {USERS["advanced"]}
deny = 0.0.0.0/0.0.0.0
permit = 127.0.0.1/255.255.255.255
read = all
write = all
{advanced}
"""


HTTP_CONF = f"""\
; ami-client test server -- written by tests/asterisk/server.py, do not edit.
; Session defaults are kept (sessionlimit = 100, session_inactivity = 30000 ms,
; session_keep_alive = 15000 ms); the AMI-over-HTTP session lifetime is
; manager.conf's httptimeout (60 s).
[general]
enabled = yes
bindaddr = {HOST}
bindport = {HTTP_PORT}
tlsenable = yes
tlsbindaddr = {HOST}:{HTTPS_PORT}
tlscertfile = {CHROOT_CERT}
tlsprivatekey = {CHROOT_KEY}
"""

EXTENSIONS_CONF = f"""\
; ami-client test server -- written by tests/asterisk/server.py, do not edit.
; No SIP: tests originate Local channels into [{CONTEXT}].
[general]
static = yes
writeprotect = yes
clearglobalvars = no

[globals]

[{CONTEXT}]
; answer and echo media back until hung up
exten => echo,1,Answer()
 same => n,Echo()
 same => n,Hangup()

; answer, wait 30 s, hang up
exten => wait,1,Answer()
 same => n,Wait(30)
 same => n,Hangup()

; wait-N: answer, wait N seconds (fractions allowed), hang up
exten => _wait-.,1,Answer()
 same => n,Wait(${{EXTEN:5}})
 same => n,Hangup()

; ring without answering for 30 s
exten => ring,1,Ringing()
 same => n,Wait(30)
 same => n,Hangup()

; answer and hang up at once (cause 16, normal clearing)
exten => hangup,1,Answer()
 same => n,Hangup(16)

exten => busy,1,Busy(1)
 same => n,Hangup(17)

exten => congestion,1,Congestion(1)
 same => n,Hangup(34)

; Local channel optimization: originate Local/optimize@ (no /n) into dial-local. Both halves
; end up bridged and Milliwatt's frames flow through them, so Asterisk optimizes them away
; (LocalOptimizationBegin/End); without media Asterisk 22 never tries.
exten => optimize,1,Dial(Local/milliwatt@{CONTEXT}/n,30)
 same => n,Hangup()
exten => milliwatt,1,Answer()
 same => n,Milliwatt()

; attended transfer: the dialling side may transfer (Dial option T), so the Atxfer action's
; feature code works on the `atxfer` Local channel's second half
exten => atxfer,1,Dial(Local/wait@{CONTEXT}/n,30,T)
 same => n,Hangup()
; its transfer target: the Atxfer action sends the extension as DTMF, so it must be digits
exten => 7000,1,Answer()
 same => n,Wait(30)
 same => n,Hangup()

; dial another Local channel: DialBegin/DialEnd, LocalBridge, BridgeCreate/Enter
exten => dial-local,1,Set({CHANNEL_VARIABLE}=dial-local)
 same => n,Dial(Local/wait@{CONTEXT}/n,30)
 same => n,Hangup()

; like dial-local but the callee hangs up by itself after 2 s
exten => dial-short,1,Set({CHANNEL_VARIABLE}=dial-short)
 same => n,Dial(Local/wait-2@{CONTEXT}/n,30)
 same => n,Hangup()

; DialEnd with DialStatus BUSY / NOANSWER
exten => dial-busy,1,Dial(Local/busy@{CONTEXT}/n,10)
 same => n,Hangup()
exten => dial-noanswer,1,Dial(Local/ring@{CONTEXT}/n,2)
 same => n,Hangup()

; into a holding bridge named ami-test (no music: none is installed)
exten => bridge-wait,1,Answer()
 same => n,BridgeWait({CONTEXT},participant,e(n))
 same => n,Hangup()

; into conference "ami-test" (quiet: no sound files are installed)
exten => confbridge,1,Answer()
 same => n,ConfBridge(ami-test,ami_bridge,ami_user)
 same => n,Hangup()

; VarSet events, including an inherited variable
exten => setvar,1,Answer()
 same => n,Set({CHANNEL_VARIABLE}=set-by-dialplan)
 same => n,Set(__AMI_INHERITED=yes)
 same => n,Set(CALLERID(name)=AMI Test)
 same => n,Wait(1)
 same => n,Hangup()

; a UserEvent from the dialplan
exten => userevent,1,Answer()
 same => n,UserEvent(AmiTest,Source: dialplan,Channel: ${{CHANNEL}})
 same => n,Wait(1)
 same => n,Hangup()

; DTMFBegin/DTMFEnd events
exten => dtmf,1,Answer()
 same => n,SendDTMF(123#)
 same => n,Wait(1)
 same => n,Hangup()

; a caller waiting in queue ami-test-queue (no members) for 5 s
exten => queue,1,Answer()
 same => n,Queue(ami-test-queue,,,,5)
 same => n,Hangup()

; priority labels: Goto a label of this extension, then one of another extension; a
; UserEvent AmiLabel at each step shows the path (Originate/Redirect may start at a label)
exten => labels,1,Answer()
 same => n,Goto(retry)
 same => n,UserEvent(AmiLabel,Step: skipped)
 same => n(retry),UserEvent(AmiLabel,Step: retry)
 same => n,Goto(label-target,landing)
 same => n,Hangup()
exten => label-target,1,Answer()
 same => n,UserEvent(AmiLabel,Step: target-start)
 same => n(landing),UserEvent(AmiLabel,Step: landing)
 same => n,Wait(1)
 same => n,Hangup()
; Goto a label the extension does not have: Goto fails, the channel hangs up
exten => label-missing,1,Answer()
 same => n,Goto(nowhere)
 same => n,UserEvent(AmiLabel,Step: after-missing)
 same => n,Hangup()
"""

CONFBRIDGE_CONF = """\
; ami-client test server -- written by tests/asterisk/server.py, do not edit.
[general]

[ami_bridge]
type = bridge
max_members = 20

[ami_user]
type = user
quiet = yes
announce_user_count = no
announce_only_user = no
music_on_hold_when_empty = no
dtmf_passthrough = yes

[sample_default_menu]
type = menu
"""

FEATURES_CONF = """\
; ami-client test server -- written by tests/asterisk/server.py, do not edit.
[general]
transferdigittimeout = 3
atxfernoanswertimeout = 15

[featuremap]
blindxfer = #1
atxfer = *2
disconnect = *0
"""

QUEUES_CONF = """\
; ami-client test server -- written by tests/asterisk/server.py, do not edit.
[general]
persistentmembers = no

[ami-test-queue]
strategy = ringall
timeout = 5
musicclass = none
"""

INDICATIONS_CONF = """\
; ami-client test server -- written by tests/asterisk/server.py, do not edit.
[general]
country = us

[us]
description = United States / North America
ringcadence = 2000,4000
dial = 350+440
busy = 480+620/500,0/500
ring = 440+480/2000,0/4000
congestion = 480+620/250,0/250
callwaiting = 440/300,0/10000
dialrecall = !350+440/100,!0/100,!350+440/100,!0/100,!350+440/100,!0/100,350+440
record = 1400/500,0/15000
info = !950/330,!1400/330,!1800/330,0
stutter = !350+440/100,!0/100,!350+440/100,!0/100,!350+440/100,!0/100,350+440
"""

CDR_CONF = """\
; ami-client test server -- written by tests/asterisk/server.py, do not edit.
[general]
enable = no
"""

CEL_CONF = """\
; ami-client test server -- written by tests/asterisk/server.py, do not edit.
[general]
enable = no
"""

STASIS_CONF = """\
; ami-client test server -- written by tests/asterisk/server.py, do not edit.
[taskpool]
minimum_size = 5
initial_size = 5
idle_timeout_sec = 20
max_size = 50
"""

#: Files whose absence Asterisk reports as an ERROR on every start (acl.conf
#: must not even have a [general] section).
EMPTY_CONF = """\
; ami-client test server -- written by tests/asterisk/server.py, do not edit.
"""

CLI_PERMISSIONS_CONF = """\
; ami-client test server -- written by tests/asterisk/server.py, do not edit.
[general]
default_perm = permit
"""


# --------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------


def _tail(path: Path, lines: int) -> str:
    try:
        with path.open("rb") as f:
            f.seek(0, os.SEEK_END)
            size = f.tell()
            f.seek(max(0, size - 64 * 1024))
            data = f.read()
    except OSError:
        return ""
    text = data.decode("utf-8", "replace")
    return "\n".join(text.splitlines()[-lines:])


def _run(
    argv: Sequence[str],
    *,
    timeout: float,
    log: Path | None = None,
    check: bool = True,
) -> subprocess.CompletedProcess[str]:
    """Run a command with a timeout; its output goes to ``log`` (appended) or is captured."""
    try:
        if log is not None:
            log.parent.mkdir(parents=True, exist_ok=True)
            with log.open("a", encoding="utf-8") as out:
                out.write(f"\n$ {' '.join(argv)}\n")
                out.flush()
                proc = subprocess.run(
                    list(argv),
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    timeout=timeout,
                    check=False,
                    text=True,
                )
        else:
            proc = subprocess.run(
                list(argv),
                stdin=subprocess.DEVNULL,
                capture_output=True,
                timeout=timeout,
                check=False,
                text=True,
                errors="replace",
            )
    except subprocess.TimeoutExpired as exc:
        where = f"; see {log}:\n{_tail(log, 30)}" if log is not None else ""
        raise AsteriskError(f"`{' '.join(argv)}` timed out after {timeout:.0f} s{where}") from exc
    except OSError as exc:
        raise AsteriskError(f"`{' '.join(argv)}` could not run: {exc}") from exc
    if check and proc.returncode != 0:
        if log is not None:
            detail = f"; see {log}:\n{_tail(log, 30)}"
        else:
            detail = f":\n{(proc.stdout or '')[-3000:]}{(proc.stderr or '')[-3000:]}"
        raise AsteriskError(f"`{' '.join(argv)}` exited with {proc.returncode}{detail}")
    return proc


def _write_if_changed(path: Path, content: str | bytes, mode: int = 0o644) -> None:
    data = content.encode("utf-8") if isinstance(content, str) else content
    try:
        if path.read_bytes() == data:
            path.chmod(mode)
            return
    except OSError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    tmp.chmod(mode)
    tmp.replace(path)


def _port_open(host: str, port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def read_banner(host: str, port: int, timeout: float = 5.0) -> bytes:
    """Connect to an AMI TCP port and return its first line (with ``\\r\\n``)."""
    with socket.create_connection((host, port), timeout=timeout) as sock:
        sock.settimeout(timeout)
        buf = b""
        deadline = time.monotonic() + timeout
        while b"\n" not in buf:
            if time.monotonic() > deadline:
                raise TimeoutError(f"no banner from {host}:{port} within {timeout} s")
            chunk = sock.recv(1024)
            if not chunk:
                raise ConnectionError(f"{host}:{port} closed before sending a banner: {buf!r}")
            buf += chunk
        return buf[: buf.index(b"\n") + 1]


def _process_state(pid: int) -> str | None:
    """The one-letter state of a process (``Z`` for a zombie), or None if it is gone."""
    try:
        data = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
    except OSError:
        return None
    # "pid (comm) S ..." -- comm may hold spaces and parentheses
    after = data.rsplit(")", 1)[-1].split()
    return after[0] if after else None


# --------------------------------------------------------------------------
# The server
# --------------------------------------------------------------------------


class AsteriskServer:
    """One Asterisk 22 in a chroot, listening on 127.0.0.1 only.

    All methods take the state directory's lock, so several processes (pytest
    workers, the CLI) can use one instance safely; they never hang: every wait
    has a timeout and failures raise :class:`AsteriskError` with the log tail.
    """

    host: str = HOST
    ami_port: int = AMI_PORT
    ami_tls_port: int = AMI_TLS_PORT
    http_port: int = HTTP_PORT
    https_port: int = HTTPS_PORT
    users: Mapping[str, str] = USERS
    context: str = CONTEXT

    def __init__(
        self, root: str | os.PathLike[str] | None = None, home: str | os.PathLike[str] | None = None
    ) -> None:
        self.home = Path(
            home if home is not None else os.environ.get(ENV_HOME) or DEFAULT_HOME
        ).absolute()
        self.root = Path(
            root if root is not None else os.environ.get(ENV_ROOT) or self.home / "root"
        ).absolute()
        self.tls_dir = self.home / "tls"
        #: PEM of the CA that signed the server certificate: give it to clients to verify TLS.
        self.ca_file = self.tls_dir / "ca.pem"
        self.cert_file = self.tls_dir / "server.pem"
        self.key_file = self.tls_dir / "server.key"
        #: Asterisk's stdout/stderr (appended to on every start).
        self.console_log = self.home / "asterisk-console.log"
        #: Asterisk's own log (notice, warning, error, verbose level 3).
        self.messages_log = self.root / CHROOT_LOGDIR.lstrip("/") / "messages.log"
        self.provision_log = self.home / "provision.log"
        self._pid_file = self.home / "asterisk.pid"
        self._config_hash_file = self.home / "running-config.sha256"
        self._lock_file = self.home / "lock"
        self._proc: subprocess.Popen[bytes] | None = None
        self._lock_depth = 0
        self._lock_fd: int | None = None

    # ---- public facts ----------------------------------------------------

    @property
    def admin(self) -> tuple[str, str]:
        """(username, secret) of the all-powerful user."""
        return "admin", self.users["admin"]

    @property
    def marker(self) -> Path:
        return self.root / MARKER_NAME

    def provisioned_info(self) -> dict[str, object] | None:
        """The marker written after a successful provision, or None."""
        try:
            info = json.loads(self.marker.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if not isinstance(info, dict) or info.get("schema") != PROVISION_SCHEMA:
            return None
        if not (self.root / "usr/sbin/asterisk").exists():
            return None
        return info

    @property
    def version(self) -> str:
        """Asterisk's version, e.g. ``22.10.1`` (from the provision marker)."""
        info = self.provisioned_info()
        if info is None:
            raise AsteriskError(f"Asterisk is not provisioned in {self.root}")
        return str(info["version"])

    def ssl_context(self) -> ssl.SSLContext:
        """A client SSL context that trusts our CA (hostname ``localhost`` or 127.0.0.1)."""
        return ssl.create_default_context(cafile=str(self.ca_file))

    # ---- locking -----------------------------------------------------------

    @contextlib.contextmanager
    def _locked(self, timeout: float = LOCK_TIMEOUT) -> Iterator[None]:
        if self._lock_depth:
            self._lock_depth += 1
            try:
                yield
            finally:
                self._lock_depth -= 1
            return
        self.home.mkdir(parents=True, exist_ok=True)
        fd = os.open(self._lock_file, os.O_RDWR | os.O_CREAT, 0o644)
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as exc:
                if exc.errno not in (errno.EAGAIN, errno.EACCES):
                    os.close(fd)
                    raise
                if time.monotonic() > deadline:
                    os.close(fd)
                    raise AsteriskError(
                        f"timed out waiting for the lock {self._lock_file}"
                    ) from exc
                time.sleep(0.2)
        self._lock_fd = fd
        self._lock_depth = 1
        try:
            yield
        finally:
            self._lock_depth = 0
            self._lock_fd = None
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    # ---- provisioning ------------------------------------------------------

    @staticmethod
    def check_root() -> None:
        if os.geteuid() != 0:
            raise AsteriskUnavailableError(
                "the test Asterisk needs root (mmdebstrap, chroot, mount)"
            )
        if not sys.platform.startswith("linux"):
            raise AsteriskUnavailableError("the test Asterisk needs Linux")

    def _ensure_host_tools(self) -> None:
        missing = [
            pkg
            for tool, pkg in (("mmdebstrap", "mmdebstrap"), ("openssl", "openssl"))
            if not shutil.which(tool)
        ]
        if not missing:
            return
        if not shutil.which("apt-get"):
            raise AsteriskUnavailableError(
                f"{', '.join(missing)} missing and there is no apt-get to install them"
            )
        env_cmd = ["env", "DEBIAN_FRONTEND=noninteractive"]
        install = [*env_cmd, "apt-get", "install", "-y", *missing]
        if _run(install, timeout=APT_TIMEOUT, log=self.provision_log, check=False).returncode != 0:
            _run([*env_cmd, "apt-get", "update"], timeout=APT_TIMEOUT, log=self.provision_log)
            _run(install, timeout=APT_TIMEOUT, log=self.provision_log)

    def provision(self, force: bool = False) -> str:
        """Build the root file system with Asterisk 22 (reused if built); return the version."""
        self.check_root()
        with self._locked():
            if not force:
                info = self.provisioned_info()
                if info is not None:
                    self._ensure_tls()
                    return str(info["version"])
            if self.is_running():
                self.stop()
            started = time.monotonic()
            self.home.mkdir(parents=True, exist_ok=True)
            self._ensure_host_tools()
            self._ensure_tls()
            partial = self.root.with_name(self.root.name + ".partial")
            for old in (partial, self.root):
                self._remove_tree(old)
            self.root.parent.mkdir(parents=True, exist_ok=True)
            _run(
                [
                    "mmdebstrap",
                    "--variant=apt",
                    '--aptopt=Acquire::Check-Valid-Until "false"',
                    '--aptopt=Acquire::Retries "3"',
                    "--include=asterisk",
                    SUITE,
                    str(partial),
                ],
                timeout=MMDEBSTRAP_TIMEOUT,
                log=self.provision_log,
            )
            partial.replace(self.root)
            package = _run(
                ["chroot", str(self.root), "dpkg-query", "-W", "-f", "${Version}", "asterisk"],
                timeout=60,
            ).stdout.strip()
            banner = _run(
                ["chroot", str(self.root), "/usr/sbin/asterisk", "-V"], timeout=60
            ).stdout.strip()
            m = re.match(r"Asterisk (\d+)\.(\d+)\.(\d+)\S*", banner)
            if m is None or int(m.group(1)) != REQUIRED_MAJOR:
                raise AsteriskError(
                    f"expected Asterisk {REQUIRED_MAJOR}.x from {SUITE}, got {banner!r} ({package})"
                )
            version = f"{m.group(1)}.{m.group(2)}.{m.group(3)}"
            info = {
                "schema": PROVISION_SCHEMA,
                "version": version,
                "banner": banner,
                "package_version": package,
                "suite": SUITE,
                "provisioned_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                "provision_seconds": round(time.monotonic() - started, 1),
            }
            _write_if_changed(self.marker, json.dumps(info, indent=2) + "\n")
            return version

    def _remove_tree(self, path: Path) -> None:
        if not path.exists() and not path.is_symlink():
            return
        resolved = path.resolve()
        if resolved == Path("/") or len(resolved.parts) < 3:
            raise AsteriskError(f"refusing to remove {resolved}")
        # Never recurse into a mounted /proc, /dev or /sys left by someone else.
        for sub in ("proc", "sys", "dev/pts", "dev"):
            mnt = resolved / sub
            if os.path.ismount(mnt):
                _run(["umount", "-l", str(mnt)], timeout=30, check=False)
        shutil.rmtree(resolved)

    # ---- TLS material ------------------------------------------------------

    def _ensure_tls(self) -> None:
        """A CA and a server certificate for localhost/127.0.0.1 (kept outside the chroot)."""
        names = ("ca.pem", "ca.key", "server.pem", "server.key")
        if all((self.tls_dir / n).exists() for n in names) and self._cert_valid_long_enough():
            return
        if not shutil.which("openssl"):
            self._ensure_host_tools()
        self.tls_dir.mkdir(parents=True, exist_ok=True)
        ca_key, ca_pem = self.tls_dir / "ca.key", self.ca_file
        ext = self.tls_dir / "server.ext"
        ext.write_text(
            "basicConstraints = critical, CA:FALSE\n"
            "keyUsage = critical, digitalSignature, keyEncipherment\n"
            "extendedKeyUsage = serverAuth\n"
            "subjectAltName = DNS:localhost, IP:127.0.0.1\n"
            "subjectKeyIdentifier = hash\n"
            "authorityKeyIdentifier = keyid:always\n",
            encoding="ascii",
        )
        log = self.provision_log
        _run(
            [
                "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-sha256",
                "-days", "3650",
                "-subj", "/CN=ami-client test CA",
                "-addext", "basicConstraints=critical,CA:TRUE",
                "-addext", "keyUsage=critical,keyCertSign,cRLSign",
                "-keyout", str(ca_key), "-out", str(ca_pem),
            ],
            timeout=120,
            log=log,
        )  # fmt: skip
        csr = self.tls_dir / "server.csr"
        _run(
            [
                "openssl", "req", "-new", "-newkey", "rsa:2048", "-nodes", "-sha256",
                "-subj", "/CN=localhost",
                "-keyout", str(self.key_file), "-out", str(csr),
            ],
            timeout=120,
            log=log,
        )  # fmt: skip
        _run(
            [
                "openssl", "x509", "-req", "-in", str(csr),
                "-CA", str(ca_pem), "-CAkey", str(ca_key),
                "-CAcreateserial", "-days", "3650", "-sha256", "-extfile", str(ext),
                "-out", str(self.cert_file),
            ],
            timeout=120,
            log=log,
        )  # fmt: skip
        csr.unlink(missing_ok=True)
        for p in (ca_key, self.key_file):
            p.chmod(0o600)
        for p in (ca_pem, self.cert_file):
            p.chmod(0o644)

    def _cert_valid_long_enough(self) -> bool:
        proc = _run(
            ["openssl", "x509", "-checkend", str(30 * 86400), "-noout", "-in", str(self.cert_file)],
            timeout=30,
            check=False,
        )
        return proc.returncode == 0

    # ---- configuration -----------------------------------------------------

    def config_files(self) -> dict[str, str]:
        """Our configuration: file name in /etc/asterisk -> content."""
        return {
            "asterisk.conf": _asterisk_conf(self._moddir()),
            "modules.conf": _modules_conf(),
            "logger.conf": LOGGER_CONF,
            "manager.conf": _manager_conf(),
            "http.conf": HTTP_CONF,
            "extensions.conf": EXTENSIONS_CONF,
            "confbridge.conf": CONFBRIDGE_CONF,
            "features.conf": FEATURES_CONF,
            "queues.conf": QUEUES_CONF,
            "indications.conf": INDICATIONS_CONF,
            "cdr.conf": CDR_CONF,
            "cel.conf": CEL_CONF,
            "cli_permissions.conf": CLI_PERMISSIONS_CONF,
            "stasis.conf": STASIS_CONF,
            "acl.conf": EMPTY_CONF,
            "udptl.conf": EMPTY_CONF,
            "ccss.conf": EMPTY_CONF,
        }

    def _moddir(self) -> str:
        found = sorted(self.root.glob("usr/lib/*/asterisk/modules"))
        if not found:
            raise AsteriskError(f"no Asterisk module directory under {self.root}/usr/lib")
        return "/" + str(found[0].relative_to(self.root))

    def _config_digest(self) -> str:
        h = hashlib.sha256()
        for name, text in sorted(self.config_files().items()):
            h.update(name.encode() + b"\0" + text.encode() + b"\0")
        with contextlib.suppress(OSError):
            h.update(self.cert_file.read_bytes())
        return h.hexdigest()

    def configure(self) -> None:
        """Replace the chroot's /etc/asterisk with our configuration and certificates."""
        self.check_root()
        with self._locked():
            if self.provisioned_info() is None:
                raise AsteriskError(
                    f"Asterisk is not provisioned in {self.root}; run provision first"
                )
            self._ensure_tls()
            etc = self.root / "etc/asterisk"
            stock = self.root / "etc/asterisk.stock"
            if etc.exists() and not stock.exists():
                etc.replace(stock)  # keep Debian's set for reference, out of Asterisk's way
            wanted = self.config_files()
            etc.mkdir(parents=True, exist_ok=True)
            for entry in etc.iterdir():
                if entry.name != "keys" and entry.name not in wanted:
                    if entry.is_dir() and not entry.is_symlink():
                        shutil.rmtree(entry)
                    else:
                        entry.unlink()
            for name, text in wanted.items():
                _write_if_changed(etc / name, text)
            keys = etc / "keys"
            keys.mkdir(exist_ok=True)
            _write_if_changed(self.root / CHROOT_CERT.lstrip("/"), self.cert_file.read_bytes())
            _write_if_changed(self.root / CHROOT_KEY.lstrip("/"), self.key_file.read_bytes(), 0o600)
            self._prepare_runtime()

    def _prepare_runtime(self) -> None:
        """Directories and device nodes Asterisk expects; no stale control socket."""
        for d in (
            CHROOT_RUNDIR,
            CHROOT_LOGDIR,
            "/var/lib/asterisk",
            "/var/spool/asterisk",
            "/var/cache/asterisk",
            "/tmp",
            "/proc",
        ):
            (self.root / d.lstrip("/")).mkdir(parents=True, exist_ok=True)
        (self.root / "tmp").chmod(0o1777)
        # mmdebstrap (root mode) creates these; make sure, since Asterisk reads /dev/urandom.
        for name, major, minor in (
            ("null", 1, 3),
            ("zero", 1, 5),
            ("random", 1, 8),
            ("urandom", 1, 9),
        ):
            node = self.root / "dev" / name
            try:
                st = node.lstat()
            except FileNotFoundError:
                node.parent.mkdir(parents=True, exist_ok=True)
                os.mknod(node, 0o666 | stat.S_IFCHR, os.makedev(major, minor))
                continue
            if not stat.S_ISCHR(st.st_mode):
                raise AsteriskError(f"{node} is not a character device")

    # ---- running -----------------------------------------------------------

    def _run_dir(self) -> Path:
        return self.root / CHROOT_RUNDIR.lstrip("/")

    def pid(self) -> int | None:
        """PID of the running Asterisk (host PID namespace), or None."""
        if self._proc is not None and self._proc.poll() is not None:
            self._proc = None  # reaped
        if self._proc is not None:
            # Our own child: alive until reaped (it is unshare/chroot/sh for a moment
            # before it execs Asterisk, so the checks below would not know it yet).
            return self._proc.pid
        candidates: list[int] = []
        for f in (self._pid_file, self._run_dir() / "asterisk.pid"):
            with contextlib.suppress(OSError, ValueError):
                candidates.append(int(f.read_text(encoding="ascii").split()[0]))
        for pid in candidates:
            if self._is_our_asterisk(pid):
                return pid
        return None

    def _is_our_asterisk(self, pid: int) -> bool:
        state = _process_state(pid)
        if state is None or state in ("Z", "X"):
            return False
        try:
            comm = Path(f"/proc/{pid}/comm").read_text(encoding="ascii", errors="replace").strip()
            proc_root = Path(f"/proc/{pid}/root").readlink()
        except OSError:
            return False
        return comm == "asterisk" and proc_root == self.root.resolve()

    def is_running(self) -> bool:
        """Whether the Asterisk process of this root is alive (not necessarily booted)."""
        return self.pid() is not None

    def start(self, timeout: float = 90.0, provision: bool = True, fresh: bool = False) -> None:
        """Start Asterisk and wait until it is fully booted and AMI sends its banner.

        A running server is reused if its configuration is current (restarted
        otherwise, or always with ``fresh=True``).  Provisions first when needed
        (unless ``provision=False``).
        """
        self.check_root()
        with self._locked():
            if provision:
                self.provision()
            self.configure()
            digest = self._config_digest()
            if self.is_running():
                current = ""
                with contextlib.suppress(OSError):
                    current = self._config_hash_file.read_text(encoding="ascii").strip()
                if not fresh and current == digest:
                    self.wait_ready(timeout)
                    return
                self.stop()
            self._cleanup_after_exit()
            for port in (self.ami_port, self.ami_tls_port, self.http_port, self.https_port):
                if _port_open(self.host, port):
                    raise AsteriskError(
                        f"{self.host}:{port} is taken by another process; cannot start Asterisk"
                    )
            self.home.mkdir(parents=True, exist_ok=True)
            self._rotate_logs()
            with self.console_log.open("ab") as out:
                out.write(f"\n===== start {time.strftime('%Y-%m-%d %H:%M:%S')} =====\n".encode())
                out.flush()
                # Own mount namespace with /proc mounted in the chroot: the mount goes
                # away with Asterisk however it ends (also after kill -9), and nothing
                # leaks into the host's mount table.  unshare and chroot exec, so the
                # PID we get is Asterisk's.  (The chroot has no mount binary.)
                argv = [
                    "unshare", "--mount", "--propagation", "private",
                    f"--mount-proc={self.root / 'proc'}",
                    "chroot", str(self.root), "/usr/sbin/asterisk", "-f", "-n",
                ]  # fmt: skip
                try:
                    self._proc = subprocess.Popen(
                        argv,
                        stdin=subprocess.DEVNULL,
                        stdout=out,
                        stderr=subprocess.STDOUT,
                        start_new_session=True,  # a Ctrl-C in the terminal is not for Asterisk
                        env={
                            "PATH": "/usr/sbin:/usr/bin:/sbin:/bin",
                            "LANG": "C.UTF-8",
                            "HOME": "/root",
                        },
                    )
                except OSError as exc:
                    raise AsteriskError(f"could not run {argv[0]}: {exc}") from exc
            _write_if_changed(self._pid_file, f"{self._proc.pid}\n")
            _write_if_changed(self._config_hash_file, digest + "\n")
            try:
                self.wait_ready(timeout)
            except AsteriskError:
                with contextlib.suppress(AsteriskError):
                    self.kill()
                raise

    def _rotate_logs(self) -> None:
        """A fresh messages.log per start (so a failure's log tail is about that start)."""
        with contextlib.suppress(FileNotFoundError):
            self.messages_log.replace(self.messages_log.with_name("messages.log.prev"))
        with contextlib.suppress(FileNotFoundError):
            if self.console_log.stat().st_size > 1024 * 1024:
                self.console_log.replace(
                    self.console_log.with_name(self.console_log.name + ".prev")
                )

    def wait_ready(self, timeout: float = 90.0) -> None:
        """Wait until `core waitfullybooted` returns and the AMI port sends its banner."""
        deadline = time.monotonic() + timeout
        ctl = self._run_dir() / "asterisk.ctl"
        last = ""
        booted = False
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AsteriskError(
                    f"Asterisk not ready within {timeout:.0f} s ({last})\n{self.log_tail()}"
                )
            if not self.is_running():
                raise AsteriskError(f"Asterisk exited while starting\n{self.log_tail()}")
            if not booted:
                if not ctl.exists():
                    last = "no control socket yet"
                    time.sleep(0.1)
                    continue
                try:
                    self._rasterisk("core waitfullybooted", timeout=max(1.0, remaining))
                    booted = True
                except AsteriskError as exc:
                    last = str(exc)
                    time.sleep(0.2)
                    continue
            try:
                banner = read_banner(
                    self.host, self.ami_port, timeout=min(5.0, max(0.5, remaining))
                )
            except OSError as exc:
                last = f"AMI port: {exc}"
                time.sleep(0.2)
                continue
            if not banner.startswith(b"Asterisk Call Manager/"):
                raise AsteriskError(f"unexpected AMI banner {banner!r}")
            if not _port_open(self.host, self.http_port):
                last = f"HTTP port {self.http_port} not listening"
                time.sleep(0.2)
                continue
            try:
                for port in (self.ami_tls_port, self.https_port):
                    self._tls_handshake(port, timeout=min(5.0, max(0.5, remaining)))
            except ssl.SSLError as exc:  # a real problem, not a slow start
                raise AsteriskError(f"TLS handshake failed: {exc}\n{self.log_tail()}") from exc
            except OSError as exc:
                last = f"TLS: {exc}"
                time.sleep(0.2)
                continue
            return

    def _tls_handshake(self, port: int, timeout: float) -> None:
        """Connect to a TLS port and verify the certificate against ``ca_file`` as ``localhost``."""
        ctx = self.ssl_context()
        with (
            socket.create_connection((self.host, port), timeout=timeout) as raw,
            ctx.wrap_socket(raw, server_hostname="localhost") as tls,
        ):
            tls.settimeout(timeout)
            if port == self.ami_tls_port:
                tls.recv(256)  # the banner
            else:
                tls.sendall(b"HEAD /httpstatus HTTP/1.0\r\nHost: localhost\r\n\r\n")
                tls.recv(256)
            with contextlib.suppress(OSError):  # close_notify, so Asterisk logs no SSL error
                tls.unwrap()

    def _rasterisk(self, command: str, timeout: float) -> str:
        argv = ["chroot", str(self.root), "/usr/sbin/asterisk", "-rx", command]
        try:
            proc = subprocess.run(
                argv,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                timeout=timeout,
                check=False,
                env={
                    "PATH": "/usr/sbin:/usr/bin:/sbin:/bin",
                    "LANG": "C.UTF-8",
                    "HOME": "/root",
                    "TERM": "dumb",
                },
            )
        except subprocess.TimeoutExpired as exc:
            raise AsteriskError(
                f"`asterisk -rx {command!r}` timed out after {timeout:.0f} s"
            ) from exc
        out = proc.stdout.decode("utf-8", "replace")
        err = proc.stderr.decode("utf-8", "replace")
        if proc.returncode != 0 or out.startswith("Unable to connect to remote asterisk"):
            raise AsteriskError(
                f"`asterisk -rx {command!r}` failed ({proc.returncode}): {(out + err).strip()}"
            )
        return out

    def cli(self, command: str, timeout: float = 30.0) -> str:
        """Run one CLI command on the running server (``asterisk -rx``) and return its output."""
        if not self.is_running():
            raise AsteriskError(f"Asterisk is not running; cannot run {command!r}")
        return self._rasterisk(command, timeout)

    def channel_count(self) -> int:
        """Number of active channels (``core show channels count``)."""
        out = self.cli("core show channels count")
        m = re.search(r"^(\d+) active channels?", out, re.MULTILINE)
        if m is None:
            raise AsteriskError(f"unexpected `core show channels count` output: {out!r}")
        return int(m.group(1))

    def hangup_all(self, timeout: float = 15.0) -> None:
        """Hang up every channel and wait until none is left (a clean slate between tests)."""
        deadline = time.monotonic() + timeout
        if self.channel_count() == 0:
            return
        self.cli("channel request hangup all")
        while (count := self.channel_count()) > 0:
            if time.monotonic() > deadline:
                raise AsteriskError(f"{count} channels still up {timeout:.0f} s after hangup all")
            time.sleep(0.05)

    def stop(self, timeout: float = 30.0) -> None:
        """Stop gracefully (`core stop now`), then SIGTERM, then SIGKILL; always cleans up."""
        with self._locked():
            pid = self.pid()
            if pid is not None:
                with contextlib.suppress(AsteriskError):
                    self._rasterisk("core stop now", timeout=min(10.0, timeout))
                if not self._wait_gone(pid, timeout):
                    self._signal(pid, signal.SIGTERM)
                    if not self._wait_gone(pid, 10.0):
                        self._signal(pid, signal.SIGKILL)
                        if not self._wait_gone(pid, 10.0):
                            raise AsteriskError(f"Asterisk (pid {pid}) survived SIGKILL")
            self._cleanup_after_exit()

    def kill(self, sig: int = signal.SIGKILL) -> None:
        """Kill Asterisk abruptly (default ``kill -9``) and clean up; as if it crashed."""
        with self._locked():
            pid = self.pid()
            if pid is not None:
                self._signal(pid, sig)
                if not self._wait_gone(pid, 15.0):
                    raise AsteriskError(f"Asterisk (pid {pid}) did not die from signal {sig}")
            self._cleanup_after_exit()

    def restart(self, timeout: float = 90.0) -> None:
        """Stop (gracefully) and start again."""
        with self._locked():
            self.stop()
            self.start(timeout=timeout)

    def _signal(self, pid: int, sig: int) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)

    def _wait_gone(self, pid: int, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while True:
            if self._proc is not None and self._proc.pid == pid:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    self._proc.wait(timeout=0.05)
            if not self._is_our_asterisk(pid):
                return True
            if time.monotonic() > deadline:
                return False
            time.sleep(0.05)

    def _cleanup_after_exit(self) -> None:
        if self._proc is not None and self._proc.poll() is not None:
            self._proc = None
        if self.is_running():
            return
        for f in (
            self._run_dir() / "asterisk.ctl",
            self._run_dir() / "asterisk.pid",
            self._pid_file,
        ):
            with contextlib.suppress(FileNotFoundError):
                f.unlink()
        # Only if someone mounted it outside our namespace (older versions, by hand).
        proc_dir = self.root / "proc"
        if os.path.ismount(proc_dir):
            _run(["umount", "-l", str(proc_dir)], timeout=30, check=False)

    # ---- reporting ---------------------------------------------------------

    def log_tail(self, lines: int = 40) -> str:
        parts = []
        for path in (self.console_log, self.messages_log):
            text = _tail(path, lines)
            if text:
                parts.append(f"--- last lines of {path} ---\n{text}")
        return "\n".join(parts) if parts else "(no Asterisk log yet)"

    def status(self) -> dict[str, object]:
        info = self.provisioned_info()
        pid = self.pid()
        return {
            "root": str(self.root),
            "provisioned": info is not None,
            "version": None if info is None else info.get("version"),
            "package_version": None if info is None else info.get("package_version"),
            "running": pid is not None,
            "pid": pid,
            "ami": f"{self.host}:{self.ami_port}",
            "ami_tls": f"{self.host}:{self.ami_tls_port}",
            "http": f"http://{self.host}:{self.http_port}/rawman",
            "https": f"https://localhost:{self.https_port}/rawman",
            "ca_file": str(self.ca_file),
            "users": dict(self.users),
            "console_log": str(self.console_log),
            "messages_log": str(self.messages_log),
        }


# --------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="The real Asterisk 22 used by ami-client's tests.")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("provision", help="build the root file system (reused unless --force)")
    p.add_argument("--force", action="store_true")
    sub.add_parser("configure", help="(re)write our configuration into the root file system")
    p = sub.add_parser("start", help="start (provisioning if needed) and wait until fully booted")
    p.add_argument("--timeout", type=float, default=90.0)
    p.add_argument("--fresh", action="store_true", help="restart if already running")
    sub.add_parser("stop", help="core stop now, then SIGTERM/SIGKILL")
    sub.add_parser("kill", help="kill -9 (as if it crashed)")
    sub.add_parser("restart", help="stop, then start")
    sub.add_parser("status", help="print state, ports, users as JSON")
    p = sub.add_parser("cli", help="run a CLI command: cli 'core show channels'")
    p.add_argument("cli_command", nargs="+")
    p = sub.add_parser("log", help="print the tail of the Asterisk logs")
    p.add_argument("--lines", type=int, default=40)
    args = parser.parse_args(argv)

    server = AsteriskServer()
    try:
        if args.command == "provision":
            started = time.monotonic()
            version = server.provision(force=args.force)
            print(f"Asterisk {version} in {server.root} ({time.monotonic() - started:.1f} s)")
        elif args.command == "configure":
            server.configure()
            print(f"configuration written to {server.root / 'etc/asterisk'}")
        elif args.command == "start":
            started = time.monotonic()
            server.start(timeout=args.timeout, fresh=args.fresh)
            took = time.monotonic() - started
            print(f"Asterisk {server.version} running, pid {server.pid()} ({took:.1f} s)")
        elif args.command == "stop":
            server.stop()
            print("Asterisk stopped")
        elif args.command == "kill":
            server.kill()
            print("Asterisk killed")
        elif args.command == "restart":
            started = time.monotonic()
            server.restart()
            print(f"Asterisk restarted, pid {server.pid()} ({time.monotonic() - started:.1f} s)")
        elif args.command == "status":
            print(json.dumps(server.status(), indent=2))
            return 0 if server.is_running() else 3
        elif args.command == "cli":
            sys.stdout.write(server.cli(" ".join(args.cli_command)))
        elif args.command == "log":
            print(server.log_tail(args.lines))
    except AsteriskError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
