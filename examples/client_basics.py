"""Connect, ping, list channels, and watch calls come and go.

    python examples/client_basics.py --port 5038 --username admin --secret ... [--seconds 10]

Runs on asyncio (``--backend trio`` for trio).
"""

from __future__ import annotations

import argparse

import anyio

import ami_client
from ami_client import Action


async def run(host: str, port: int, username: str, secret: str, seconds: float) -> list[str]:
    """Print what happens on the server for ``seconds``; returns the lines printed."""
    lines: list[str] = []

    def say(text: str) -> None:
        lines.append(text)
        print(text)

    async with ami_client.connect(
        host,
        port,
        username=username,
        secret=secret,
        reconnect=ami_client.ReconnectPolicy(max_attempts=5),
    ) as ami:
        pong = await ami.send(Action("Ping"))
        say(f"ping answered at {pong['Timestamp']}")
        channels = await ami.collect(Action("CoreShowChannels"))
        say(f"{len(channels.items)} channel(s) up")
        for channel in channels.items:
            say(f"  {channel['Channel']} ({channel['ChannelStateDesc']})")
        with anyio.move_on_after(seconds):
            async with ami.subscribe("Newchannel", "Hangup", buffer=1000) as events:
                async for event in events:
                    say(f"{event.name}: {event['Channel']}")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5038)
    parser.add_argument("--username", required=True)
    parser.add_argument("--secret", required=True)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--backend", default="asyncio", choices=["asyncio", "trio"])
    args = parser.parse_args()
    anyio.run(
        run, args.host, args.port, args.username, args.secret, args.seconds, backend=args.backend
    )


if __name__ == "__main__":
    main()
