"""`journeyboard`: the server's commands (serve, user, token) and the SDK's client commands
(boards, import-feedback, import-events, insights, export) under one program.

Only this module knows both: the server and the SDK never import each other.
"""

import argparse
from importlib.metadata import version

from client_sdk import cli as client_cli
from server import cli as server_cli


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="journeyboard", description=__doc__)
    root.add_argument("--version", action="version", version=f"%(prog)s {version('journeyboard')}")
    commands = root.add_subparsers(dest="command", required=True)
    server_cli.register(commands)
    client_cli.register(commands)
    return root


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.command in client_cli.COMMANDS:
        return client_cli.run(args)
    return server_cli.run(args)
