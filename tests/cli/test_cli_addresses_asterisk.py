"""Every kind of address the command line takes, against the real Asterisk 22: AMI over TCP,
TLS (verified), HTTP and HTTPS; and what a TLS server that cannot be verified gives."""

from __future__ import annotations

import io

import pytest

from ami_client._private.cli import main

CA = "/var/tmp/ami-client-asterisk/tls/ca.pem"  # tests/asterisk/README.md
USER = {"AMI_USERNAME": "admin", "AMI_SECRET": "ami-admin-secret"}

pytestmark = pytest.mark.asterisk


@pytest.mark.parametrize(
    ("url", "ca"),
    [
        ("tcp://127.0.0.1:15038", None),
        ("tls://127.0.0.1:15039", CA),
        ("http://127.0.0.1:18088/", None),
        ("https://127.0.0.1:18089/", CA),
    ],
)
def test_ping_at_every_kind_of_address(url: str, ca: str | None, asterisk: object) -> None:
    out = io.StringIO()
    argv = ["action", "Ping", "--url", url, *(["--ca-file", ca] if ca else [])]
    assert main(argv, stdout=out, environ=USER) == 0
    assert "Response: Success" in out.getvalue()
    assert "Ping: Pong" in out.getvalue()


@pytest.mark.parametrize("url", ["tls://127.0.0.1:15039", "https://127.0.0.1:18089/"])
def test_a_server_certificate_that_cannot_be_verified_exits_1(
    url: str, asterisk: object, capsys: pytest.CaptureFixture[str]
) -> None:
    # Without the test CA, the system's CAs cannot verify the server: refused, never ignored.
    out = io.StringIO()
    assert main(["action", "Ping", "--url", url], stdout=out, environ=USER) == 1
    err = capsys.readouterr().err
    assert out.getvalue() == ""
    assert "Traceback" not in err
    assert err.startswith("ami-client: AMIConnectionError: ")
    assert "CERTIFICATE_VERIFY_FAILED" in err
