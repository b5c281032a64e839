"""AMI over HTTP(S): the same client code as over TCP, only the address is a URL.

Usage::

    AMI_SECRET=... python examples/ami_over_http.py https://pbx.example.com:8089/ admin \\
        [--ca ca.pem] [--seconds 5]

Logs in through Asterisk's ``/rawman``, answers a Ping, counts the channels (an EventList),
sends itself a UserEvent and prints the events that the WaitEvent long-poll brings for a few
seconds. Needs ``pip install 'ami-client[http]'`` and, in Asterisk, ``webenabled = yes``
(manager.conf) and ``enabled = yes`` (http.conf).
"""

from __future__ import annotations

import argparse
import os
import ssl

import anyio

import ami_client
from ami_client import Action


async def main(url: str, username: str, secret: str, ca: str | None, seconds: float) -> None:
    context = ssl.create_default_context(cafile=ca) if ca else None
    async with ami_client.connect(url, username=username, secret=secret, ssl=context) as ami:
        pong = await ami.send(Action("Ping"))
        print(f"Ping: {pong['Ping']}")
        channels = await ami.collect(Action("CoreShowChannels"))
        print(f"channels: {len(channels.items)}")
        async with ami.subscribe() as events:
            await ami.send(Action("UserEvent", UserEvent="ami-over-http-example"))
            with anyio.move_on_after(seconds):
                async for event in events:
                    detail = event.get("UserEvent") or event.get("Channel") or ""
                    print(f"event: {event.name} {detail}".rstrip())


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url", help="http://host:8088/ or https://host:8089/")
    parser.add_argument("username")
    parser.add_argument("--ca", help="CA file to verify the server's certificate with")
    parser.add_argument("--seconds", type=float, default=5.0, help="how long to print events")
    args = parser.parse_args()
    secret = os.environ.get("AMI_SECRET")
    if secret is None:
        parser.error("set the AMI_SECRET environment variable")
    anyio.run(main, args.url, args.username, secret, args.ca, args.seconds)
